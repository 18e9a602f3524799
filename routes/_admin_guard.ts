/**
 * The dashboard's request checks: the session cookie, and for every
 * state-changing request (POST) the Origin (present and allowed: the
 * request's own host, or `ALLOWED_ORIGINS`) and the session's CSRF token in
 * `X-CSRF-Token`. The cookie is also `SameSite=Strict`, but "site" ignores
 * the port (and scheme), so another service on the same host is same-site:
 * the Origin check and the token are what stop it.
 *
 * @module
 */

import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { Session, SessionStore } from "../lib/admin/sessions.ts";
import { sameText } from "../lib/admin/sessions.ts";
import { jsonError } from "../lib/support/http_error.ts";
import type { Metrics } from "../lib/support/metrics.ts";
import type { RefusalLog } from "../lib/support/refusal_log.ts";
import { remoteIp } from "./_remote_ip.ts";

/** The session cookie. */
export const ADMIN_COOKIE = "roomcast_admin";

/** The header that carries the session's CSRF token. */
export const CSRF_HEADER = "x-csrf-token";

/** Why a dashboard request was refused (the `admin_refused_total` reason). */
export type AdminRefusal =
  | "bad_token"
  | "no_session"
  | "origin"
  | "csrf"
  | "read_only"
  | "tails";

/** What the checks need. */
export interface AdminGuardDeps {
  sessions: SessionStore;
  metrics: Metrics;
  refusals: RefusalLog;
  /** `ALLOWED_ORIGINS`; empty: the request's own host. */
  allowedOrigins: string[];
}

const STATUS: Record<AdminRefusal, 401 | 403 | 503> = {
  "bad_token": 401,
  "no_session": 401,
  origin: 403,
  csrf: 403,
  "read_only": 403,
  tails: 503,
};

const MESSAGES: Record<AdminRefusal, string> = {
  "bad_token": "Wrong admin token",
  "no_session": "Log in first",
  origin: "Origin not allowed",
  csrf: "Missing or wrong X-CSRF-Token",
  "read_only": "The dashboard is read-only (ADMIN_READ_ONLY=1)",
  tails: "Too many live tails open (ADMIN_MAX_TAILS)",
};

/** Counts, logs and answers a refusal. */
export function refuseAdmin(
  c: Context,
  deps: AdminGuardDeps,
  reason: AdminRefusal,
): Response {
  deps.metrics.inc("admin_refused_total", 1, reason);
  deps.refusals.refuse("warn", `admin:${reason}`, "Admin request refused", {
    reason,
    method: c.req.method,
    path: c.req.path.slice(0, 200),
    ip: remoteIp(c),
  });
  return jsonError(STATUS[reason], reason, MESSAGES[reason]);
}

/**
 * Whether the request carries an Origin that may drive the dashboard: it
 * must be present (browsers send it with every POST) and allowed.
 */
export function adminOriginAllowed(req: Request, allowed: string[]): boolean {
  const origin = req.headers.get("origin");
  if (origin === null) return false;
  if (allowed.length > 0) return allowed.includes(origin);
  try {
    const url = new URL(origin);
    const own = new URL(req.url);
    return url.host === req.headers.get("host") &&
      (url.protocol === own.protocol || forwardedHttps(req));
  } catch {
    return false; // "null" and other opaque origins
  }
}

/** Whether the request reached us over https (directly, or per a proxy). */
export function isHttps(req: Request): boolean {
  return new URL(req.url).protocol === "https:" || forwardedHttps(req);
}

function forwardedHttps(req: Request): boolean {
  return req.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() ===
    "https";
}

/** The request's live session, if its cookie names one. */
export async function sessionOf(
  c: Context,
  sessions: SessionStore,
): Promise<Session | undefined> {
  return await sessions.get(getCookie(c, ADMIN_COOKIE));
}

/** Sets the session cookie: HttpOnly, SameSite=Strict, Secure over https. */
export function setSessionCookie(c: Context, session: Session): void {
  setCookie(c, ADMIN_COOKIE, session.cookie, {
    httpOnly: true,
    sameSite: "Strict",
    secure: isHttps(c.req.raw),
    path: "/admin",
    maxAge: Math.max(1, Math.floor((session.expiresAt - Date.now()) / 1000)),
  });
}

/** Clears the session cookie. */
export function clearSessionCookie(c: Context): void {
  setCookie(c, ADMIN_COOKIE, "", {
    httpOnly: true,
    sameSite: "Strict",
    secure: isHttps(c.req.raw),
    path: "/admin",
    maxAge: 0,
  });
}

/**
 * Checks a state-changing request: the Origin, then the session's CSRF
 * token. Returns the refusal, or undefined when it may go ahead.
 */
export function checkAction(
  c: Context,
  deps: AdminGuardDeps,
  session: Session,
): AdminRefusal | undefined {
  if (!adminOriginAllowed(c.req.raw, deps.allowedOrigins)) return "origin";
  const token = c.req.header(CSRF_HEADER);
  if (token === undefined || !sameText(token, session.csrf)) return "csrf";
  return undefined;
}
