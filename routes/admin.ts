/**
 * The operator dashboard at `/admin` (see `docs/admin.md`): the page (static
 * files under `static/admin/`, the chart bundle built by `build:admin`), the
 * login with `ADMIN_TOKEN` (or `API_KEY`) that opens a session cookie, the
 * logout, and the JSON API under `/admin/api/` (`admin_api.ts`). With no
 * token configured every `/admin` path answers 404 `admin_disabled`.
 *
 * @module
 */

import type { Hono, MiddlewareHandler } from "hono";
import { serveStatic } from "hono/deno";
import { jsonError } from "../lib/support/http_error.ts";
import { isRecord } from "../lib/protocol/mod.ts";
import { bearerCheck } from "./_bearer.ts";
import {
  type AdminGuardDeps,
  adminOriginAllowed,
  clearSessionCookie,
  refuseAdmin,
  sessionOf,
  setSessionCookie,
} from "./_admin_guard.ts";
import { type AdminDeps, mountAdminApi } from "./admin_api.ts";

export type { AdminDeps };
import { readAtMost } from "../lib/support/read_at_most.ts";
import { remoteIp } from "./_remote_ip.ts";

/** Largest login body, bytes. */
const MAX_LOGIN_BYTES = 4_096;

/** Security headers of every dashboard response. */
const HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** The answer of every `/admin` path while no login token is configured. */
function disabled(): Response {
  return jsonError(
    404,
    "admin_disabled",
    "The dashboard is disabled: set ADMIN_TOKEN or API_KEY to enable it",
  );
}

/** Mounts `/admin/*` answering 404 `admin_disabled` (no login token set). */
export function mountAdminDisabled(app: Hono): void {
  app.all("/admin", disabled);
  app.all("/admin/*", disabled);
}

/** Mounts `/admin`, `/admin/login`, `/admin/logout` and `/admin/api/*`. */
export function mountAdmin(app: Hono, deps: AdminDeps): void {
  const { admin, log, metrics } = deps;
  const check = deps.token === "" ? undefined : bearerCheck(deps.token);
  const guard: AdminGuardDeps = {
    sessions: admin.sessions,
    metrics,
    refusals: deps.refusals,
    allowedOrigins: deps.allowedOrigins,
  };
  const gate: MiddlewareHandler = async (c, next) => {
    if (check === undefined) return disabled();
    await next();
    for (const [name, value] of Object.entries(HEADERS)) {
      c.res.headers.set(name, value);
    }
    return undefined;
  };
  app.use("/admin", gate);
  app.use("/admin/*", gate);
  app.get("/admin", (c) => c.redirect("/admin/", 302));
  const page = serveStatic({
    root: deps.staticRoot,
    rewriteRequestPath: () => "/admin/index.html",
  });
  app.get("/admin/", page);

  app.post("/admin/login", async (c) => {
    // Login CSRF: a foreign page must not log the browser into our session.
    if (!adminOriginAllowed(c.req.raw, deps.allowedOrigins)) {
      return refuseAdmin(c, guard, "origin");
    }
    const bytes = await readAtMost(c.req.raw.body, MAX_LOGIN_BYTES);
    let token: unknown;
    try {
      const body: unknown = JSON.parse(new TextDecoder().decode(bytes));
      token = isRecord(body) ? body.token : undefined;
    } catch {
      token = undefined;
    }
    if (
      typeof token !== "string" ||
      await check!(`Bearer ${token}`) !== "ok" // check is set: the gate let us in
    ) {
      return refuseAdmin(c, guard, "bad_token");
    }
    const session = await admin.sessions.create();
    setSessionCookie(c, session);
    metrics.inc("admin_logins_total");
    log.info("Admin login", { ip: remoteIp(c) });
    return c.json({ readOnly: admin.config.adminReadOnly }, 200);
  });

  app.post("/admin/logout", async (c) => {
    if (!adminOriginAllowed(c.req.raw, deps.allowedOrigins)) {
      return refuseAdmin(c, guard, "origin");
    }
    const session = await sessionOf(c, admin.sessions);
    if (session !== undefined) {
      admin.sessions.revoke(session.id, session.expiresAt);
    }
    clearSessionCookie(c);
    return c.body(null, 204);
  });

  mountAdminApi(app, { ...deps, guard });
}
