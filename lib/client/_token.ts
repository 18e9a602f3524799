/**
 * The access token of a connection attempt (internal): the `token` option
 * resolved to a string (its provider called once per attempt) and turned
 * into the subprotocols the socket offers.
 *
 * @module
 */

import { SUBPROTOCOL, SUBPROTOCOL_BATCH } from "../protocol/mod.ts";

/** The `token` option: a token, or a function returning a fresh one. */
export type TokenOption = string | (() => string | Promise<string>);

/**
 * Subprotocol entries starting with this carry the token (browsers cannot
 * set an `Authorization` header on a WebSocket). The server's counterpart
 * is `TOKEN_PROTOCOL_PREFIX` in `routes/ws.ts`.
 */
export const TOKEN_PROTOCOL_PREFIX = "roomcast.token.";

/** Longest token accepted: the server refuses protocol headers over 4,096 bytes. */
export const MAX_TOKEN_LENGTH = 4_000;

/** RFC 7230 token characters: all a subprotocol may hold (a JWT fits). */
const TOKEN_PATTERN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * Checks a token; the empty string stands for "no token".
 *
 * @throws {TypeError} when it is not a string, is too long or holds a character a subprotocol cannot carry.
 */
export function checkToken(token: unknown): string {
  if (typeof token !== "string") {
    throw new TypeError(
      `Invalid token: expected a string, got ${typeof token}`,
    );
  }
  if (token === "") return token;
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new TypeError(
      `Invalid token: ${token.length} characters, at most ${MAX_TOKEN_LENGTH}`,
    );
  }
  if (!TOKEN_PATTERN.test(token)) {
    throw new TypeError(
      "Invalid token: it travels as a WebSocket subprotocol, which allows letters, digits and !#$%&'*+-.^_`|~ only (a JWT fits)",
    );
  }
  return token;
}

/**
 * The token for the next connection attempt: the option itself, or its
 * provider's answer (synchronous when the provider returns a string), checked
 * with {@linkcode checkToken}. Undefined without a `token` option.
 *
 * @throws whatever the provider throws, or a `TypeError` for a bad token.
 */
export function nextToken(
  option: TokenOption | undefined,
): string | undefined | Promise<string> {
  if (typeof option !== "function") return option;
  const result: unknown = option();
  if (typeof result === "string") return checkToken(result);
  // A promise (or anything else, which checkToken then refuses).
  return Promise.resolve(result).then(checkToken);
}

/**
 * The subprotocols to offer: `roomcast.v1.batch` first when batch frames are
 * wanted, always `roomcast.v1` (the server answers with one of these two),
 * then `roomcast.token.<token>` when there is a token.
 */
export function protocolsFor(
  token: string | undefined,
  batch = false,
): string[] {
  const protocols = batch ? [SUBPROTOCOL_BATCH, SUBPROTOCOL] : [SUBPROTOCOL];
  if (token !== undefined && token !== "") {
    protocols.push(TOKEN_PROTOCOL_PREFIX + token);
  }
  return protocols;
}
