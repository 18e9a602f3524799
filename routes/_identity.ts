/**
 * Who an upgrading client is: a verified token's subject, or an anonymous
 * member. When the server accepts tokens, anonymous ids live in their own
 * namespace (`anon:<user>`, a prefix no verified subject may carry), so a
 * `?user=ann` can never become, or disturb, the verified member `ann`.
 *
 * @module
 */

import type { Context } from "hono";
import { parse as parseCookie } from "hono/utils/cookie";
import {
  ANONYMOUS_PREFIX,
  AuthError,
  type Principal,
  type Verifier,
} from "../lib/support/auth.ts";
import type { ConnectOptions } from "../lib/hub/hub.ts";
import { isValidUserName, MAX_ID_LENGTH } from "../lib/protocol/mod.ts";

/** Subprotocol entries starting with this carry the token (browsers cannot set headers). */
export const TOKEN_PROTOCOL_PREFIX = "roomcast.token.";

/**
 * The connection's identity: from a token (subprotocol entry, `token` query
 * parameter or `roomcast_token` cookie, in that order), or, with none and
 * `allowAnonymous`, anonymous (`?user=` names the member). Empty options when
 * a token is required but absent.
 *
 * Only a token needs the (asynchronous) verifier: without one the answer is
 * immediate, so an upgrade that carries none is handled in one task.
 *
 * @throws {AuthError} for a bad token or a bad `?user=` (a bad token may
 * also reject the returned promise with it).
 */
export function identify(
  c: Context,
  offered: string[],
  verifier: Verifier | undefined,
  allowAnonymous: boolean,
): ConnectOptions | Promise<ConnectOptions> {
  return identifyRequest(c.req.raw, offered, verifier, allowAnonymous);
}

/**
 * {@linkcode identify} for a bare `Request` (the `/ws` route runs before
 * hono). The query is scanned only when it names `token` or `user`.
 *
 * @throws {AuthError} as {@linkcode identify} does.
 */
export function identifyRequest(
  req: Request,
  offered: string[],
  verifier: Verifier | undefined,
  allowAnonymous: boolean,
): ConnectOptions | Promise<ConnectOptions> {
  const url = req.url;
  const token = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX))
    ?.slice(TOKEN_PROTOCOL_PREFIX.length) ??
    queryParam(url, "token") ?? cookie(req, "roomcast_token");
  if (token !== undefined && token !== "") {
    if (verifier === undefined) {
      throw new AuthError("signature", "This server does not accept tokens");
    }
    return verifier(token).then(fromPrincipal);
  }
  if (!allowAnonymous) return {};
  return { memberId: anonymousMemberId(queryParam(url, "user"), verifier) };
}

/** The first `name` parameter of `url`'s query, decoded; undefined without one. */
export function queryParam(url: string, name: string): string | undefined {
  const start = url.indexOf("?");
  if (start === -1 || !url.includes(name, start)) return undefined;
  const hash = url.indexOf("#", start);
  const query = url.slice(start + 1, hash === -1 ? undefined : hash);
  return new URLSearchParams(query).get(name) ?? undefined;
}

function cookie(req: Request, name: string): string | undefined {
  const header = req.headers.get("cookie");
  return header === null ? undefined : parseCookie(header, name)[name];
}

/**
 * The member id of an anonymous client: `anon:<user>` when the server also
 * accepts tokens, `<user>` when it does not (every member is anonymous then),
 * and `anon:<random>` without `?user=`.
 *
 * @throws {AuthError} when `user` is not 1-128 characters of
 * `[A-Za-z0-9_.:@-]` (1-123 with the prefix: member ids are at most 128).
 */
export function anonymousMemberId(
  user: string | undefined,
  verifier: Verifier | undefined,
): string {
  if (user === undefined) {
    return `${ANONYMOUS_PREFIX}${crypto.randomUUID().slice(0, 12)}`;
  }
  const prefix = verifier === undefined ? "" : ANONYMOUS_PREFIX;
  const max = MAX_ID_LENGTH - prefix.length;
  if (!isValidUserName(user) || user.length > max) {
    throw new AuthError(
      "claims",
      `Query parameter user must be 1-${max} characters of [A-Za-z0-9_.:@-]`,
    );
  }
  return prefix + user;
}

function fromPrincipal(principal: Principal): ConnectOptions {
  const access = {
    canJoin: principal.canJoin,
    canPublish: principal.canPublish,
    ...(principal.name === undefined ? {} : { name: principal.name }),
  };
  return {
    memberId: principal.id,
    access,
    ...(principal.expiresAt === undefined
      ? {}
      : { expiresAt: principal.expiresAt }),
  };
}
