/**
 * The default bus transport: a `BroadcastChannel`, which links the isolates
 * of one process (Workers, `deno serve --parallel` threads) and nothing else.
 * It drops posts silently when a receiver lags (see `docs/architecture.md`),
 * which {@linkcode createBus} counts as gaps.
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
    post(post) {
      channel.postMessage(post);
    },
    onPost(handler) {
      channel.onmessage = (event: MessageEvent<unknown>) => handler(event.data);
    },
    close() {
      channel.onmessage = null;
      channel.close();
    },
  };
}
