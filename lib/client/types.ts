/**
 * Public types of the SDK: options, events and the WebSocket shape it needs.
 * Browser compatible.
 *
 * @module
 */

import type { ErrorMessage, RoomMessage } from "../protocol.ts";

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

/** Every event of {@linkcode RoomcastClient.on} and its payload. */
export interface ClientEvents {
  /** A message published to a joined room (duplicates already dropped). */
  message: RoomMessage;
  /** The connection state changed. */
  state: StateChange;
  /** The server confirmed a join (also after each automatic rejoin). */
  joined: JoinedEvent;
  /** An `error` frame that does not answer one of this client's publishes. */
  error: ErrorMessage;
  /** A connection ended; says whether the client reconnects. */
  close: CloseInfo;
  /** A rejoin could not replay what was missed. */
  recovery: RecoveryEvent;
}

/** Options of {@linkcode RoomcastClient.publish}. */
export interface PublishOptions {
  /** Also deliver the message to this client. @default {true} */
  echo?: boolean;
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
  /** Longest wait for `welcome` after starting to connect. @default {10000} */
  connectTimeoutMs?: number;
  /**
   * Longest wait for the `ack` of a publish (counted from the `publish()`
   * call, time in the send queue included) or the `pong` of a ping.
   * @default {10000}
   */
  timeoutMs?: number;
  /** Publishes kept while not connected; more are rejected with `queue_full`. @default {100} */
  maxQueueSize?: number;
  /** The WebSocket implementation. @default {globalThis.WebSocket} */
  WebSocket?: WebSocketConstructor;
  /** Uniform random number in `[0, 1)`, for the backoff jitter. @default {Math.random} */
  random?: () => number;
  /** Monotonic clock in ms, for uptime and round-trip times. @default {performance.now} */
  now?: () => number;
}
