/**
 * The default bus transport: a `BroadcastChannel`, which links the isolates
 * of one process (Workers, `deno serve --parallel` threads) and nothing else.
 * It drops posts silently when a receiver lags (see `docs/architecture.md`),
 * which {@linkcode createBus} counts as gaps.
 *
 * Every isolate receives every post, so each travels as `[topic, text]`:
 * two strings, cheap to clone, and the bus drops a post of a room without
 * local members on its topic alone, before the text is parsed.
 *
 * @module
 */

import type { BusTransport } from "./bus.ts";

/**
 * Opens a BroadcastChannel transport on `name`.
 *
 * @example Usage
 * ```ts
 * import { broadcastChannelTransport } from "./broadcast_channel.ts";
 * import { createBus } from "./bus.ts";
 *
 * const bus = createBus(broadcastChannelTransport("doc-example"));
 * await bus.close();
 * ```
 */
export function broadcastChannelTransport(name: string): BusTransport {
  const channel = new BroadcastChannel(name);
  return {
    post(topic, text) {
      channel.postMessage([topic, text]);
    },
    onPost(handler) {
      channel.onmessage = (event: MessageEvent<unknown>) => {
        const data = event.data;
        if (Array.isArray(data) && typeof data[0] === "string") {
          handler(data[0], data[1]);
        } else handler("", data); // the bus counts it as invalid
      };
    },
    close() {
      channel.onmessage = null;
      channel.close();
    },
  };
}
