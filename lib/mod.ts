/**
 * roomcast server embedding API: start the real-time service inside your own
 * Deno program, or build its pieces (hub, bus, app) yourself.
 *
 * @example Start a server on a free port
 * ```ts
 * import { parseConfig, startServer } from "./mod.ts";
 *
 * const config = parseConfig(new Map([["PORT", "0"], ["HOST", "127.0.0.1"], ["BUS", "none"]]));
 * const server = await startServer(config);
 * console.log(`ws://127.0.0.1:${server.addr.port}/ws`);
 * await server.shutdown();
 * ```
 *
 * @module
 */

export { type App, type AppDeps, createApp } from "./server/app.ts";
export {
  type Bus,
  type BusEvent,
  type BusTransport,
  createBus,
} from "./bus/bus.ts";
export { broadcastChannelTransport } from "./bus/broadcast_channel.ts";
export { MemoryNetwork } from "./bus/memory.ts";
export { CLOSE_CODE, ERROR_CODE, isRetryableClose } from "./protocol/mod.ts";
export { type Config, DEFAULT_CONFIG, parseConfig } from "./support/config.ts";
export { Hub, type HubOptions } from "./hub/hub.ts";
export { createLogger, type Logger } from "./support/log.ts";
export { Metrics } from "./support/metrics.ts";
export * from "./protocol/mod.ts";
export {
  type RunningServer,
  startServer,
  type StartServerOptions,
} from "./server/server.ts";
