/**
 * Public types of the SDK's transports: WebSocket and the SSE + HTTP
 * fallback (docs/protocol.md "The SDK's fallback"). Browser compatible.
 *
 * @module
 */

/** A way to reach the server: WebSocket (`/ws`), or the SSE + HTTP fallback (`/sse`). */
export type Transport = "websocket" | "sse";

/** Payload of the `transport` event. */
export interface TransportChange {
  /** The transport before. */
  previous: Transport;
  /** The transport of the next connection. */
  transport: Transport;
  /** Why: `fallback` (WebSocket kept failing before `welcome`) or `probe` (a WebSocket probe got through). */
  cause: "fallback" | "probe";
}

/** Where the client remembers its transport for the session; `sessionStorage` fits. */
export interface TransportStorage {
  /** The stored value, or null. */
  getItem(key: string): string | null;
  /** Stores a value. */
  setItem(key: string, value: string): void;
  /** Forgets a value. */
  removeItem(key: string): void;
}

/** The part of the `EventSource` API the SSE fallback uses; the global `EventSource` fits. */
export interface EventSourceLike {
  /** Listens to an event: `message`, `error`, or a named one (`session`, `close`). */
  addEventListener(type: string, listener: (event: Event) => void): void;
  /** Ends the stream for good (no automatic reconnect). */
  close(): void;
}

/** An `EventSource` constructor, such as the global one. */
export type EventSourceConstructor = new (
  url: string,
  init?: { withCredentials?: boolean },
) => EventSourceLike;
