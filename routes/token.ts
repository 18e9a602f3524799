/**
 * `POST /token` (development mode only): mints a short-lived HS256 token for
 * the chat demo, so the demo exercises the same authentication path as a
 * real deployment. Never mounted outside `main.ts --dev`.
 *
 * @module
 */

import type { Hono } from "hono";
import { ANONYMOUS_PREFIX, signHs256 } from "../lib/support/auth.ts";
import type { ConfigGroup } from "../lib/support/config.ts";
import { jsonError } from "../lib/support/http_error.ts";
import { isValidRoomName } from "../lib/protocol/mod.ts";

/** Lifetime of demo tokens, seconds. */
export const DEV_TOKEN_TTL_S = 3600;

/** Mounts `POST /token` with body `{user?, name?}` → `{token, user, expiresIn}`. */
export function mountToken(
  app: Hono,
  config: ConfigGroup<"security">,
): void {
  app.post("/token", async (c) => {
    if (config.authSecret === "") {
      return jsonError(404, "not_found", "No AUTH_SECRET: tokens disabled");
    }
    let body: unknown = {};
    try {
      body = await c.req.json();
    } catch {
      // An empty body is fine: a random user.
    }
    const record = typeof body === "object" && body !== null ? body : {};
    const user: unknown = Reflect.get(record, "user") ??
      `u-${crypto.randomUUID().slice(0, 8)}`;
    const name: unknown = Reflect.get(record, "name") ?? user;
    if (!isValidRoomName(user) || user.startsWith(ANONYMOUS_PREFIX)) {
      return jsonError(
        400,
        "bad_user",
        `user: 1-128 of [A-Za-z0-9_.:@-], not starting with ${ANONYMOUS_PREFIX}`,
      );
    }
    if (typeof name !== "string" || name === "" || name.length > 64) {
      return jsonError(400, "bad_name", "name: 1-64 characters");
    }
    const exp = Math.floor(Date.now() / 1000) + DEV_TOKEN_TTL_S;
    const token = await signHs256({ sub: user, name, exp }, config.authSecret);
    return c.json({ token, user, expiresIn: DEV_TOKEN_TTL_S });
  });
}
