/**
 * Pusher apps: who may connect to `/app/:key` and sign HTTP API requests for
 * `/apps/:id`. One app from `PUSHER_APP_ID` / `PUSHER_APP_KEY` /
 * `PUSHER_APP_SECRET`, more from `PUSHER_APPS` (a JSON list using Soketi's
 * field names), and a demo app in development mode. Every value is checked
 * at startup; a bad one throws a `RangeError` naming the variable.
 *
 * @module
 */

import {
  checkApp,
  DEFAULT_APP_LIMITS,
  parseAppList,
  type PusherApp,
} from "./_pusher_app.ts";
import { parseWebhook } from "./_pusher_webhooks.ts";

export { DEFAULT_APP_LIMITS, type PusherApp } from "./_pusher_app.ts";
export { type PusherWebhook, WEBHOOK_EVENT_TYPES } from "./_pusher_webhooks.ts";

/** Something environment-like (`Deno.env`, a `Map`). */
interface EnvSource {
  get(name: string): string | undefined;
}

/** The demo app of `deno task dev` (Soketi's default credentials): for local use only. */
export const DEMO_APP: Readonly<PusherApp> = {
  ...DEFAULT_APP_LIMITS,
  id: "app-id",
  key: "app-key",
  secret: "app-secret",
  enableClientMessages: true,
};

/**
 * Reads the Pusher apps from `env`: the `PUSHER_APP_*` app first, then the
 * `PUSHER_APPS` entries; in development mode with neither, {@linkcode DEMO_APP}.
 *
 * @throws {RangeError} naming the variable whose value is invalid.
 *
 * @example Usage
 * ```ts
 * import { parsePusherApps } from "./pusher_apps.ts";
 * import assert from "node:assert/strict";
 *
 * const apps = parsePusherApps(new Map([
 *   ["PUSHER_APP_ID", "1"], ["PUSHER_APP_KEY", "k"], ["PUSHER_APP_SECRET", "s"],
 *   ["PUSHER_APPS", '[{"id":"2","key":"k2","secret":"s2","enable_client_messages":true}]'],
 * ]));
 * assert.deepEqual(apps.map((a) => [a.id, a.enableClientMessages]), [["1", false], ["2", true]]);
 * ```
 */
export function parsePusherApps(
  env: EnvSource,
  options: { dev?: boolean } = {},
): PusherApp[] {
  const apps: PusherApp[] = [];
  const id = env.get("PUSHER_APP_ID")?.trim();
  const key = env.get("PUSHER_APP_KEY")?.trim();
  const secret = env.get("PUSHER_APP_SECRET")?.trim();
  const given = [id, key, secret].filter((v) => v !== undefined && v !== "");
  if (given.length > 0 && given.length < 3) {
    throw new RangeError(
      "Invalid PUSHER_APP_ID/PUSHER_APP_KEY/PUSHER_APP_SECRET: set all three or none",
    );
  }
  if (id && key && secret) {
    apps.push(checkApp("PUSHER_APP_ID", {
      ...DEFAULT_APP_LIMITS,
      id,
      key,
      secret,
      enableClientMessages: bool(env, "PUSHER_APP_ENABLE_CLIENT_MESSAGES"),
      enableSubscriptionCount: bool(
        env,
        "PUSHER_APP_ENABLE_SUBSCRIPTION_COUNT",
      ),
    }));
  }
  const list = env.get("PUSHER_APPS")?.trim();
  if (list) apps.push(...parseAppList(list));
  if (apps.length === 0 && options.dev === true) apps.push({ ...DEMO_APP });
  const first = apps[0];
  const url = env.get("PUSHER_WEBHOOK_URL")?.trim();
  if (first !== undefined && url) {
    const events = env.get("PUSHER_WEBHOOK_EVENTS")?.split(",").map((e) =>
      e.trim()
    ).filter((e) => e !== "");
    const hook = parseWebhook(
      "PUSHER_WEBHOOK_URL",
      events === undefined || events.length === 0
        ? { url }
        : { url, "event_types": events },
    );
    apps[0] = { ...first, webhooks: [...first.webhooks, hook] };
  }
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const app of apps) {
    if (ids.has(app.id) || keys.has(app.key)) {
      throw new RangeError(
        `Invalid PUSHER_APPS: app id "${app.id}" or key "${app.key}" is used twice`,
      );
    }
    ids.add(app.id);
    keys.add(app.key);
  }
  return apps;
}

function bool(env: EnvSource, name: string): boolean {
  const raw = env.get(name)?.trim().toLowerCase();
  if (raw === undefined || raw === "") return false;
  if (["1", "true", "yes"].includes(raw)) return true;
  if (["0", "false", "no"].includes(raw)) return false;
  throw new RangeError(`Invalid ${name}: expected 1 or 0, got "${raw}"`);
}

/** The configured apps, looked up by key (WebSocket) and by id (HTTP API). */
export class PusherApps {
  readonly #byKey = new Map<string, PusherApp>();
  readonly #byId = new Map<string, PusherApp>();

  /** Indexes `apps` (ids and keys are unique, as {@linkcode parsePusherApps} checks). */
  constructor(apps: readonly PusherApp[]) {
    for (const app of apps) {
      this.#byKey.set(app.key, app);
      this.#byId.set(app.id, app);
    }
  }

  /** Whether any app is configured (else the Pusher routes are not mounted). */
  get size(): number {
    return this.#byId.size;
  }

  /** The app with public key `key`. */
  byKey(key: string): PusherApp | undefined {
    return this.#byKey.get(key);
  }

  /** The app with id `id`. */
  byId(id: string): PusherApp | undefined {
    return this.#byId.get(id);
  }
}
