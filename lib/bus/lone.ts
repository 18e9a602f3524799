/**
 * The transport of an isolate that has no other isolate to reach (`BUS=none`,
 * or `main.ts` with one isolate): {@linkcode createBus} sees it is
 * {@linkcode BusTransport.lone} and neither encodes nor posts what is
 * published, so a single isolate pays nothing per publish for the bus.
 *
 * @module
 */

import type { BusTransport } from "./bus.ts";

/**
 * Opens a transport that reaches nobody and hears nothing.
 *
 * @example Usage
 * ```ts
 * import { createBus } from "./bus.ts";
 * import { loneTransport } from "./lone.ts";
 *
 * const bus = createBus(loneTransport());
 * bus.publish({ kind: "message", room: "r", offset: 1, epoch: "e", frame: "{}" });
 * await bus.close();
 * ```
 */
export function loneTransport(): BusTransport {
  return {
    lone: true,
    post() {},
    onPost() {},
    close() {},
  };
}
