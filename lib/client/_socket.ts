/**
 * Opening and dropping the client's WebSocket (internal).
 *
 * @module
 */

import { CLOSE_CODE } from "../protocol/mod.ts";
import type { WebSocketConstructor, WebSocketLike } from "./types.ts";

/** Whether a socket is open, as `WebSocket.OPEN`. */
export const OPEN = 1;

/** The close code of a connection that ended without a close frame (RFC 6455). */
export const ABNORMAL_CLOSURE = 1006;

/** What a socket reports to the client. */
export interface SocketHandlers {
  /** An inbound frame, not validated yet. */
  message(data: unknown): void;
  /** The connection closed (the handshake completed or the link broke). */
  close(code: number, reason: string): void;
}

/**
 * Opens a socket offering `protocols` (`roomcast.v1`, and the token entry
 * when there is a token).
 *
 * @throws whatever the constructor throws (`SyntaxError` for a bad URL).
 */
export function openSocket(
  WebSocket: WebSocketConstructor,
  url: string,
  protocols: string[],
  handlers: SocketHandlers,
): WebSocketLike {
  const socket = new WebSocket(url, protocols);
  socket.onmessage = (event) => handlers.message(event.data);
  // Deno reports a connection lost without a close frame as 0; browsers,
  // like RFC 6455, as 1006.
  socket.onclose = (event) =>
    handlers.close(
      event.code === 0 ? ABNORMAL_CLOSURE : event.code,
      event.reason,
    );
  socket.onerror = () => {}; // `close` follows with the code.
  return socket;
}

/**
 * Detaches the handlers and starts closing with `code` when it is one a
 * browser accepts (1000 or 3000–4999; anything else becomes 1000). Does not
 * wait for the closing handshake: on a dead link it never completes.
 */
export function dropSocket(socket: WebSocketLike, code: number): void {
  socket.onmessage = socket.onclose = socket.onerror = null;
  if (socket.readyState > OPEN) return;
  try {
    socket.close(code >= 3000 && code <= 4999 ? code : CLOSE_CODE.NORMAL);
  } catch {
    // Already closing: nothing left to do.
  }
}
