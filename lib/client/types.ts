/**
 * Public types of the SDK: options, events and the WebSocket shape it needs.
 * Browser compatible.
 *
 * @module
 */

import type {
  ErrorMessage,
  Json,
  PresenceEventKind,
  PresenceMember,
  RoomMessage,
} from "../protocol/mod.ts";
import type {
  EventSourceConstructor,
  Transport,
  TransportChange,
  TransportStorage,
} from "./transport_types.ts";

/**
 * The connection state. `connecting` covers both the wait before a
 * reconnect attempt and the handshake up to the server's `welcome`;
 * `connected` starts at `welcome`; `disconnected` means the client will not
 * try again on its own (`close()`, or a terminal close code).
 */
export type ClientState = "disconnected" | "connecting" | "connected";

/** Payload of the `state` event. */
export interface StateChange {
  /** The state before the change. */
  oldState: ClientState;
  /** The state now. */
  newState: ClientState;
}

/** Payload of the `close` event: a connection ended. */
export interface CloseInfo {
  /** The server's close code, or one of `CLIENT_CLOSE_CODE`. */
  code: number;
  /** Human-readable reason (may be empty). */
  reason: string;
  /** Whether the client will reconnect on its own (after a backoff delay). */
  willReconnect: boolean;
}

/** Payload of the `joined` event: the server confirmed a room membership. */
export interface JoinedEvent {
  /** The room joined. */
  room: string;
  /** The room's latest offset when the server confirmed. */
  offset: number;
  /** The epoch numbering the room's offsets. */
  epoch: string;
  /** Whether this join asked to resume from a known position (a rejoin after a reconnect). */
  resumed: boolean;
  /** A first join with the `history` option: how many stored messages follow as `message` events before live ones. */
  history?: number;
}

/**
 * Payload of the `recovery` event: after a rejoin, messages published while
 * the client was away could not be replayed (`recovered: false`). The app
 * should refetch the room's state it cares about.
 */
export interface RecoveryEvent {
  /** The room rejoined. */
  room: string;
  /** Whether every missed message was replayed (false whenever this event fires today). */
  recovered: boolean;
}

/**
 * Payload of the `presence` event: a member appeared in a room (its first
 * connection anywhere joined), left it (its last connection anywhere
 * left), or its meta changed (`update`: one of its connections re-joined
 * with new meta, or the connection whose meta showed left). Only changes
 * are reported: an event the member list already reflects is not repeated.
 */
export interface PresenceEvent {
  /** The room. */
  room: string;
  /** Whether the member joined, left, or changed its meta. */
  event: PresenceEventKind;
  /** The member: its user id and its metadata (for a leave, the last known; for an update, the new). */
  member: PresenceMember;
}

/**
 * Payload of the `members` event: the member list of a room changed. Fired
 * on every (re)join (the list is replaced by the server's), on every
 * `presence` change, and with an empty list when the room is left.
 */
export interface MembersEvent {
  /** The room. */
  room: string;
  /** Everyone present now, the client itself included, in arrival order. */
  members: PresenceMember[];
}

/**
 * Payload of the `error` event: an `error` frame that answers none of this
 * client's publishes or pings. When it answers a join (its `ref` is the
 * join's id), `room` names the room: the join failed and the client is no
 * longer in that room (join it again to retry).
 */
export interface ServerErrorEvent extends ErrorMessage {
  /** The room whose join failed, when the error answers a join. */
  room?: string;
}

/** Every event of {@linkcode RoomcastClient.on} and its payload. */
export interface ClientEvents {
  /** A message published to a joined room (duplicates already dropped). */
  message: RoomMessage;
  /** The connection state changed. */
  state: StateChange;
  /** The server confirmed a join (also after each automatic rejoin). */
  joined: JoinedEvent;
  /** An `error` frame that does not answer one of this client's publishes (with `room` for a failed join). */
  error: ServerErrorEvent;
  /** A connection ended; says whether the client reconnects. */
  close: CloseInfo;
  /** A rejoin could not replay what was missed. */
  recovery: RecoveryEvent;
  /** The transport changed: the next connection uses it (see `transports`). */
  transport: TransportChange;
  /** A member joined, left or changed its meta in a joined room. */
  presence: PresenceEvent;
  /** The member list of a room changed (also after each rejoin). */
  members: MembersEvent;
}

/** Options of {@linkcode RoomcastClient.join}. */
export interface JoinOptions {
  /**
   * This client's presence metadata in the room, e.g. `{ name: "Ann" }`: any
   * JSON value of at most 1 KiB, sent again on every rejoin. Other members
   * see it in their member lists. @default {null}
   */
  meta?: Json;
  /**
   * On the first join (no position yet), replay up to this many of the
   * room's latest stored messages as `message` events before live ones (the
   * server caps it at its `MAX_HISTORY_READ`; `joined.history` says how
   * many). Rejoins resume from the last offset seen instead. @default {0}
   */
  history?: number;
}

/** Options of {@linkcode RoomcastClient.publish}. */
export interface PublishOptions {
  /** Also deliver the message to this client. @default {true} */
  echo?: boolean;
  /**
   * Resolve only once the server committed the message to its history
   * store, not as soon as it is sequenced and delivered (a crash of the
   * server can then no longer lose it). Slower: the ack waits for the
   * store's flush. @default {false}
   */
  durable?: boolean;
}

/** The part of the WebSocket API the client uses; the global `WebSocket` fits. */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Sends a text frame. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Called with each inbound frame. */
  onmessage: ((event: MessageEvent) => void) | null;
  /** Called once the connection closed, with the close code. */
  onclose: ((event: CloseEvent) => void) | null;
  /** Called on a failure (a `close` follows). */
  onerror: ((event: Event) => void) | null;
}

/** A WebSocket constructor, such as the global `WebSocket`. */
export type WebSocketConstructor = new (
  url: string,
  protocols: string[],
) => WebSocketLike;

/** Options of {@linkcode createClient}. Times are in milliseconds. */
export interface ClientOptions {
  /**
   * The member id this client appears under in presence (anonymous mode),
   * sent as `?user=` on the URL: 1-128 characters of `[A-Za-z0-9_.:@-]`.
   * Connections with the same id (a user's tabs) are one member. Without
   * it, the server names each connection a member of its own. A server that
   * also accepts tokens puts anonymous members in their own namespace: the
   * member id is then `anon:<user>` (see `memberId`).
   */
  user?: string;
  /**
   * The access token the server verifies (a JWT), or a function returning
   * one. A function is called before every connection attempt, the first
   * and each reconnect, so that tokens can expire: the server closes with
   * 4401 when the token expires (a retryable code) and the client
   * reconnects with a fresh token, then resumes its rooms.
   *
   * The token travels as a WebSocket subprotocol, `roomcast.token.<token>`,
   * offered after `roomcast.v1` (browsers cannot set headers; URLs end up
   * in logs, so never there). Over the SSE fallback it has no other way
   * than the stream's URL (`?token=`, see `transports`); its POSTs carry it
   * as `Authorization: Bearer`. It may only hold RFC 7230 token characters
   * (letters, digits and ``!#$%&'*+-.^_`|~``: a JWT fits). An empty string
   * connects without a token (anonymous, where the server allows it).
   *
   * A function that throws or rejects fails the attempt like a failed
   * connect: a `close` event with code 3005
   * (`CLIENT_CLOSE_CODE.TOKEN_FAILED`) and the error's message, then a
   * retry after the backoff delay. Its time counts towards
   * `connectTimeoutMs`.
   *
   * A server that refuses a token answers the upgrade with 401, which a
   * browser reports as a failed connection (1006, no status): the client
   * cannot tell it from a network failure, so it keeps retrying, with the
   * backoff growing to `maxReconnectDelayMs`, for as long as it runs, and
   * calls the function again each time. `failedConnects` counts the
   * attempts in a row that got no `welcome`; an app may give up with
   * `close()` (for example from a `close` handler).
   */
  token?: string | (() => string | Promise<string>);
  /** Smallest reconnect delay, and the base of the exponential backoff. @default {500} */
  minReconnectDelayMs?: number;
  /** Largest reconnect delay (the backoff cap). @default {20000} */
  maxReconnectDelayMs?: number;
  /**
   * How long a connection must stay up before the reconnect attempt counter
   * goes back to 0; a server that accepts and drops at once keeps backing off.
   * @default {5000}
   */
  minUptimeMs?: number;
  /**
   * Extra silence tolerated on top of the server's `heartbeatMs` before the
   * connection is considered dead and replaced.
   * @default {10000}
   */
  heartbeatGraceMs?: number;
  /** Longest wait for `welcome` after starting to connect (getting the `token` included). @default {10000} */
  connectTimeoutMs?: number;
  /**
   * Longest wait for an answer: for a connection, while a publish waits in
   * the offline queue (counted from the `publish()` call), then for its
   * `ack` once it is sent (counted again from the write), and for the
   * `pong` of a ping. Time a publish is held back to stay within the
   * server's rate limit does not count: the client imposes it, and
   * `maxQueueSize` bounds it.
   * @default {10000}
   */
  timeoutMs?: number;
  /**
   * Accept batch frames (`roomcast.v1.batch`): in a busy room the server
   * sends the messages that reach it in one event-loop turn together in one
   * frame, which roughly halves its CPU per delivery. An idle room still
   * sends each message at once; under load none waits longer than the
   * server's `COALESCE_MS` (1 ms by default). Set false to offer only the
   * plain protocol.
   * @default {true}
   */
  batch?: boolean;
  /**
   * Publishes kept while waiting to be sent: while not connected, or held
   * back to stay within the server's rate limit. More are rejected with
   * `queue_full`.
   * @default {100}
   */
  maxQueueSize?: number;
  /**
   * The transports to use, in order of preference: `"websocket"` (`/ws`)
   * and `"sse"`, the fallback over plain HTTP (a `GET /sse` event stream
   * for the server's frames, POSTs for the client's; the URL's path `/ws`
   * becomes `/sse`). With both, the client starts on WebSocket and moves to
   * SSE after `fallbackAfter` WebSocket attempts in a row that ended before
   * the server's `welcome` (refused, dropped or silent; a WebSocket that
   * connected once in this client's life is trusted: its later failures are
   * outages), remembers that for the session (`storage`), and probes
   * WebSocket every `probeIntervalMs` (doubling after each failed probe, up
   * to 16×) to move back once it works: the rooms resume from their
   * positions, so nothing is lost or repeated. Over SSE a token travels in
   * the stream's query (`?token=`: `EventSource` cannot set headers) and
   * as `Authorization: Bearer` on the POSTs.
   * @default {["websocket", "sse"]}
   */
  transports?: Transport[];
  /** WebSocket attempts in a row ending before `welcome` that move the client to SSE. @default {2} */
  fallbackAfter?: number;
  /** Delay before the first WebSocket probe while on SSE (then doubling, up to 16×). @default {120000} */
  probeIntervalMs?: number;
  /** Where the transport choice is kept. @default {sessionStorage in a browser page, else memory} */
  storage?: TransportStorage;
  /** The `EventSource` implementation of the SSE fallback. @default {globalThis.EventSource} */
  EventSource?: EventSourceConstructor;
  /** The `fetch` of the SSE fallback's POSTs. @default {globalThis.fetch} */
  fetch?: typeof fetch;
  /** The WebSocket implementation. @default {globalThis.WebSocket} */
  WebSocket?: WebSocketConstructor;
  /** Uniform random number in `[0, 1)`, for the backoff jitter. @default {Math.random} */
  random?: () => number;
  /** Monotonic clock in ms, for uptime and round-trip times. @default {performance.now} */
  now?: () => number;
}
