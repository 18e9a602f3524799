/**
 * One connection attempt (internal): the token (its provider may take a
 * while, or fail), then the socket offering it.
 *
 * @module
 */

import { openSocket, type SocketHandlers } from "./_socket.ts";
import { nextToken, protocolsFor, type TokenOption } from "./_token.ts";
import { CLIENT_CLOSE_CODE } from "./errors.ts";
import type { WebSocketConstructor, WebSocketLike } from "./types.ts";

/** What an attempt reports to the client. */
export interface AttemptHooks extends SocketHandlers {
  /** Whether the attempt still counts: false once a later one, or `close()`, took over. */
  current(): boolean;
  /** The socket was created (it is connecting). */
  opened(socket: WebSocketLike): void;
  /** The attempt failed before a socket existed; `retry` says whether to try again. */
  failed(code: number, reason: string, retry: boolean): void;
}

/** What an attempt needs. */
export interface AttemptOptions {
  /** The WebSocket implementation. */
  WebSocket: WebSocketConstructor;
  /** The server's endpoint. */
  url: string;
  /** The `token` option. */
  token: TokenOption | undefined;
  /** Offer batch frames. */
  batch: boolean;
}

/**
 * Gets the token, then opens the socket; synchronous unless the provider
 * returns a promise. A provider that throws or rejects (or returns a token
 * a subprotocol cannot carry) fails the attempt with
 * `CLIENT_CLOSE_CODE.TOKEN_FAILED`, to be retried; a socket constructor
 * that throws (a bad URL) fails it with `CONNECT_FAILED`, for good.
 */
export function attempt(options: AttemptOptions, hooks: AttemptHooks): void {
  const tokenFailed = (error: unknown) => {
    if (!hooks.current()) return;
    hooks.failed(
      CLIENT_CLOSE_CODE.TOKEN_FAILED,
      `Token provider failed: ${describe(error)}`,
      true,
    );
  };
  let token: ReturnType<typeof nextToken>;
  try {
    token = nextToken(options.token);
  } catch (error) {
    // Reported a little later, like a rejection: a first attempt fails
    // inside createClient(), before the app could listen.
    token = Promise.reject(error);
  }
  if (typeof token !== "object") return open(options, token, hooks);
  token.then((value) => {
    if (hooks.current()) open(options, value, hooks);
  }, tokenFailed);
}

function open(
  { WebSocket, url, batch }: AttemptOptions,
  token: string | undefined,
  hooks: AttemptHooks,
): void {
  let socket: WebSocketLike;
  try {
    socket = openSocket(WebSocket, url, protocolsFor(token, batch), hooks);
  } catch (error) {
    return hooks.failed(
      CLIENT_CLOSE_CODE.CONNECT_FAILED,
      `Cannot open a WebSocket: ${describe(error)}`,
      false,
    );
  }
  hooks.opened(socket);
}

/** An error's message, for a close reason. */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
