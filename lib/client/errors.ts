/**
 * Errors and client-side close codes of the SDK. Browser compatible.
 *
 * @module
 */

import type { ErrorCode } from "../protocol/mod.ts";

/**
 * Close codes the client reports in its `close` event when it ends a
 * connection itself. They are in the 3000–3999 range registered for
 * libraries, so they never collide with the server's codes (`CLOSE_CODE`).
 */
export const CLIENT_CLOSE_CODE = {
  /** `close()` was called: the client stops for good. */
  CLOSED: 1000,
  /** No `welcome` within `connectTimeoutMs` of starting to connect. */
  CONNECT_TIMEOUT: 3001,
  /** No frame at all for `heartbeatMs + heartbeatGraceMs`: a dead link. */
  HEARTBEAT_TIMEOUT: 3002,
  /** The server sent a frame that is not valid roomcast v1. */
  BAD_FRAME: 3003,
  /** The WebSocket could not even be created (for example a bad URL). */
  CONNECT_FAILED: 3004,
  /** The `token` provider threw or rejected: the attempt failed, the client retries after a backoff delay. */
  TOKEN_FAILED: 3005,
  /** `reconnect()` was called: the connection is replaced at once. */
  RECONNECT: 3006,
} as const;

/** Why a request failed on the client side, without an `error` frame. */
export type ClientErrorCode =
  /** No `ack` (or `pong`) within `timeoutMs`. */
  | "timeout"
  /** The send queue already held `maxQueueSize` messages. */
  | "queue_full"
  /** The publish frame exceeds the server's `maxMessageBytes`: not sent (the server would close with 1009). */
  | "too_big"
  /** The connection dropped after the request was sent: it may or may not have been applied. */
  | "disconnected"
  /** `close()` was called, or the server closed for good. */
  | "closed";

/**
 * A failed `publish()` or `ping()`. `code` is either the server's error code
 * (from an `error` frame whose `ref` is the request id) or a
 * {@linkcode ClientErrorCode}.
 *
 * @example Usage
 * ```ts
 * import { RoomcastError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new RoomcastError("not_joined", 'Join room "lobby" first');
 * assert.equal(error.code, "not_joined");
 * assert.equal(error.name, "RoomcastError");
 * ```
 */
export class RoomcastError extends Error {
  /** Stable, machine-readable reason. */
  readonly code: ErrorCode | ClientErrorCode;

  /** Creates an error with a stable code. */
  constructor(code: ErrorCode | ClientErrorCode, message: string) {
    super(message);
    this.name = "RoomcastError";
    this.code = code;
  }
}

/**
 * The error for requests a connection took with it: `disconnected` when
 * the client reconnects, `closed` when it stops.
 */
export function lostError(
  code: number,
  reason: string,
  willReconnect: boolean,
): RoomcastError {
  return willReconnect
    ? new RoomcastError(
      "disconnected",
      `Connection lost: ${code} ${reason}`.trimEnd(),
    )
    : closedError(code, reason);
}

/** The error for a request made while not connected: `closed` after `close()`, else `disconnected`. */
export function offlineError(closed: boolean, message: string): RoomcastError {
  return new RoomcastError(closed ? "closed" : "disconnected", message);
}

/** The error for a publish while disconnected for good (`close()`, or a terminal close code). */
export function stoppedError(closedByApp: boolean): RoomcastError {
  return closedByApp ? closedError() : new RoomcastError(
    "closed",
    "The client is disconnected: call connect() first",
  );
}

/** The error for requests cut short by `close()` or a terminal server close. */
export function closedError(code?: number, reason?: string): RoomcastError {
  return new RoomcastError(
    "closed",
    code === undefined || code === CLIENT_CLOSE_CODE.CLOSED
      ? "The client was closed"
      : `The server closed the connection for good: ${code} ${reason ?? ""}`
        .trimEnd(),
  );
}
