/**
 * Named WebSocket close codes and protocol error codes, shared by the server
 * and the client SDK. Browser compatible: no `Deno.*` here.
 *
 * Close codes carry the reconnect policy: standard codes below 3000 are
 * retryable except {@linkcode CLOSE_CODE.MESSAGE_TOO_BIG}; application codes
 * 4000–4499 are retryable and 4500–4999 are terminal (do not reconnect).
 *
 * @module
 */

/** WebSocket close codes used by roomcast. */
export const CLOSE_CODE = {
  /** Normal closure, e.g. the client called `close()`. */
  NORMAL: 1000,
  /** The server is going away (idle timeout, or a browser navigating away). */
  GOING_AWAY: 1001,
  /** The runtime saw a frame that breaks RFC 6455. */
  PROTOCOL_ERROR: 1002,
  /** A binary frame: roomcast v1 speaks JSON text frames only. */
  UNSUPPORTED_DATA: 1003,
  /** Policy violation: authentication, authorization or origin. */
  POLICY_VIOLATION: 1008,
  /** A message larger than `MAX_MESSAGE_BYTES`. */
  MESSAGE_TOO_BIG: 1009,
  /** An unexpected server error. */
  INTERNAL_ERROR: 1011,
  /** The server is restarting or draining: reconnect (to another isolate). */
  SERVICE_RESTART: 1012,
  /** Overload, or this connection reads too slowly: reconnect later. */
  TRY_AGAIN_LATER: 1013,
  /** Sustained flood: too many messages refused for rate. Reconnect with backoff. */
  RATE_LIMITED: 4029,
  /** The token expired while connected: reconnect with a fresh token. */
  TOKEN_EXPIRED: 4401,
  /** The backend ended this member's connections (logout, ban): do not reconnect. */
  TERMINATED: 4500,
} as const;

/** One of the values of {@linkcode CLOSE_CODE}. */
export type CloseCode = typeof CLOSE_CODE[keyof typeof CLOSE_CODE];

/**
 * Whether a client should reconnect after the server closed with `code`.
 *
 * @example Usage
 * ```ts
 * import { isRetryableClose } from "./codes.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isRetryableClose(1012), true);
 * assert.equal(isRetryableClose(1009), false);
 * assert.equal(isRetryableClose(4501), false);
 * ```
 */
export function isRetryableClose(code: number): boolean {
  if (code === CLOSE_CODE.MESSAGE_TOO_BIG) return false;
  if (code === CLOSE_CODE.POLICY_VIOLATION) return false;
  if (code === CLOSE_CODE.UNSUPPORTED_DATA) return false;
  if (code >= 4500 && code <= 4999) return false;
  return true;
}

/** Stable codes carried by `{type:"error"}` frames. The connection stays open. */
export const ERROR_CODE = {
  /** The frame was not valid JSON. */
  BAD_JSON: "bad_json",
  /** Valid JSON, but not an object with a known shape (a field is missing or of the wrong type). */
  BAD_MESSAGE: "bad_message",
  /** `type` is not one the server knows. */
  UNKNOWN_TYPE: "unknown_type",
  /** The room name is not 1–200 characters of `[A-Za-z0-9_.:@=,;-]`. */
  BAD_ROOM: "bad_room",
  /** Publishing to (or leaving) a room this connection has not joined. */
  NOT_JOINED: "not_joined",
  /** Presence `meta` is not JSON of at most 1 KiB. */
  BAD_META: "bad_meta",
  /** `data` or `meta` nests arrays and objects deeper than `MAX_JSON_DEPTH`. */
  TOO_DEEP: "too_deep",
  /** The token does not allow this room (join) or publishing to it. */
  FORBIDDEN: "forbidden",
  /** Too many messages: this one was dropped. Slow down. */
  RATE_LIMITED: "rate_limited",
  /** The connection is in `MAX_ROOMS_PER_CONNECTION` rooms already. */
  TOO_MANY_ROOMS: "too_many_rooms",
  /**
   * The server cannot take this publish now: its history store is behind
   * (the write-behind backlog reached `HISTORY_BACKLOG_BYTES` or
   * `HISTORY_MAX_LAG_MS`). Nothing was published; retry after a short delay.
   */
  OVERLOADED: "overloaded",
  /** The server could not complete the request; it may be retried. */
  INTERNAL: "internal",
} as const;

/** One of the values of {@linkcode ERROR_CODE}. */
export type ErrorCode = typeof ERROR_CODE[keyof typeof ERROR_CODE];
