/**
 * The roomcast client SDK: a WebSocket client for the roomcast v1 protocol
 * that runs in browsers (bundled to `/sdk.js` by `deno task build:sdk`) and
 * in Deno.
 *
 * - An explicit state machine (`disconnected` → `connecting` → `connected`)
 *   with a `state` event for every change.
 * - Automatic reconnects with capped, fully jittered exponential backoff,
 *   honouring the server's close codes (`isRetryableClose`): 1008, 1009 and
 *   4500–4999 end the client's attempts and say why in the `close` event.
 * - Rooms survive reconnects: each is rejoined with the last `{offset, epoch}`
 *   seen, duplicates are dropped, and a `recovery` event reports gaps.
 * - Tokens: the `token` option takes a token or a function returning one,
 *   called before every connection attempt, so an expired token (the server
 *   closes with 4401) is replaced on the reconnect. It travels as the
 *   subprotocol `roomcast.token.<token>` beside `roomcast.v1`, never in the
 *   URL. `reconnect()` starts over at once with a fresh token.
 * - `publish()` resolves on the server's `ack`; while offline publishes wait
 *   in a bounded queue and are sent after the rejoin. A message larger than
 *   the server accepts (`welcome.maxMessageBytes`) is refused locally
 *   (`too_big`) rather than getting the connection closed.
 * - Pacing: when the server announces its per-connection rate limit
 *   (`welcome.rateLimit`), every frame the client sends (rejoins, the
 *   offline queue, publishes, pings) goes through a token bucket of 90% of
 *   that budget, held in order until a token is there, so the server never
 *   refuses one (`rate_limited`, then 4029). `ping()` goes ahead of held
 *   frames; heartbeat pings are skipped while frames are held (their
 *   answers prove the link alive). Without `rateLimit`, nothing is paced.
 * - Presence: the `user` option names the member (a user's tabs are one
 *   member), `join(room, { meta })` describes it, `members(room)` lists who
 *   is in a room, and the `presence` and `members` events follow changes.
 * - An app-level heartbeat with a watchdog replaces dead links that
 *   browsers cannot see; `ping()` measures the round-trip time.
 * - Where WebSocket is blocked, the same protocol over SSE + HTTP POSTs
 *   (`transports`, on by default): the client falls back after
 *   `fallbackAfter` WebSocket attempts that got no `welcome`, remembers it
 *   for the tab, and probes WebSocket now and then to move back, resuming
 *   its rooms; `transport` and the `transport` event say which is in use.
 *
 * @example Chat in a room
 * ```ts ignore
 * import { createClient } from "./mod.ts";
 *
 * const client = createClient("wss://chat.example.com/ws", {
 *   // Called before every connection attempt: tokens may expire.
 *   token: async () => (await (await fetch("/token")).json()).token,
 * });
 * client.on("state", ({ newState }) => console.log("now", newState));
 * client.on("message", (message) => console.log(message.from, message.data));
 * client.on("members", ({ room, members }) => {
 *   console.log(room, members.map((member) => member.id));
 * });
 * client.join("lobby", { meta: { name: "Ann" } });
 * const { offset } = await client.publish("lobby", { text: "hello" });
 * console.log("published at offset", offset, "rtt", await client.ping(), "ms");
 * client.close();
 * ```
 *
 * @module
 */

import { RoomcastClient } from "./client.ts";
import type { ClientOptions } from "./types.ts";

export { RoomcastClient } from "./client.ts";
export type { Handler } from "./_emitter.ts";
export type { PublishResult } from "./_requests.ts";
export { backoff, type BackoffOptions } from "./backoff.ts";
export {
  CLIENT_CLOSE_CODE,
  type ClientErrorCode,
  RoomcastError,
} from "./errors.ts";
export type {
  ClientEvents,
  ClientOptions,
  ClientState,
  CloseInfo,
  JoinedEvent,
  JoinOptions,
  MembersEvent,
  PresenceEvent,
  PublishOptions,
  RecoveryEvent,
  ServerErrorEvent,
  StateChange,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.ts";
export type {
  EventSourceConstructor,
  EventSourceLike,
  Transport,
  TransportChange,
  TransportStorage,
} from "./transport_types.ts";
export {
  CLOSE_CODE,
  type CloseCode,
  ERROR_CODE,
  type ErrorCode,
  isRetryableClose,
} from "../protocol/mod.ts";
export {
  type ErrorMessage,
  type Json,
  type MessageId,
  type PresenceEventKind,
  type PresenceMember,
  type RoomMessage,
  type StreamPosition,
  SUBPROTOCOL,
} from "../protocol/mod.ts";

/**
 * Creates a client and starts connecting to `url` at once (its state is
 * `connecting` when this returns). `http:`/`https:` URLs are mapped to
 * `ws:`/`wss:`.
 *
 * @param url The server's WebSocket endpoint, e.g. `wss://host/ws`.
 * @param options Timings, limits and (for tests or other runtimes) the WebSocket, clock and random source.
 * @returns The client; call `close()` to stop it for good.
 * @throws {TypeError} when `url` is not a ws:, wss:, http: or https: URL.
 * @throws {RangeError} when an option is out of range.
 *
 * @example Usage
 * ```ts ignore
 * import { createClient } from "./mod.ts";
 *
 * const client = createClient("ws://localhost:8000/ws", { timeoutMs: 5_000 });
 * client.on("close", ({ code, reason, willReconnect }) => {
 *   if (!willReconnect) console.error("gave up:", code, reason);
 * });
 * client.join("lobby");
 * ```
 */
export function createClient(
  url: string | URL,
  options: ClientOptions = {},
): RoomcastClient {
  return new RoomcastClient(url, options);
}
