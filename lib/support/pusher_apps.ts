/**
 * Pusher apps: who may connect to `/app/:key` and sign HTTP API requests for
 * `/apps/:id`. One app from `PUSHER_APP_ID` / `PUSHER_APP_KEY` /
 * `PUSHER_APP_SECRET`, more from `PUSHER_APPS` (a JSON list using Soketi's
 * field names), and a demo app in development mode. Every value is checked
 * at startup; a bad one throws a `RangeError` naming the variable.
 *
 * @module
 */

import { isRecord } from "../protocol/mod.ts";
import {
  parseWebhook,
  parseWebhooks,
  type PusherWebhook,
} from "./_pusher_webhooks.ts";

export { type PusherWebhook, WEBHOOK_EVENT_TYPES } from "./_pusher_webhooks.ts";

/** Something environment-like (`Deno.env`, a `Map`). */
interface EnvSource {
  get(name: string): string | undefined;
}

/** One Pusher app and its limits. */
export interface PusherApp {
  /** App id, as in `/apps/:id/events`. */
  id: string;
  /** Public key, as in `/app/:key` and the first half of auth strings. */
  key: string;
  /** Secret that signs channel auth strings and HTTP API requests. */
  secret: string;
  /** Whether clients may send `client-*` events (`enable_client_messages`). @default {false} */
  enableClientMessages: boolean;
  /** Whether subscribers get `pusher_internal:subscription_count` (`enable_subscription_count`). @default {false} */
  enableSubscriptionCount: boolean;
  /** Open connections of this app on one node; more are closed with 4004. 0: no cap but `MAX_CONNECTIONS` (`max_connections`). @default {0} */
  maxConnections: number;
  /** Client events per second per connection; more get `pusher:error` 4301 (`max_client_events_per_second`). @default {10} */
  maxClientEventsPerS: number;
  /** Members of one presence channel; a subscription past it fails (`max_presence_members_per_channel`). @default {100} */
  maxPresenceMembers: number;
  /** Largest event `data`, in bytes (`max_event_payload_in_kb` × 1024); larger gets 4301 or HTTP 413. @default {10240} */
  maxEventPayloadBytes: number;
  /** Channels one HTTP API event may name (`max_event_channels_at_once`). @default {100} */
  maxEventChannels: number;
  /** Events in one `batch_events` request (`max_event_batch_size`). @default {10} */
  maxEventBatchSize: number;
  /** Where its webhooks go (`webhooks`; `PUSHER_WEBHOOK_URL` for the first app). @default {[]} */
  webhooks: readonly PusherWebhook[];
}

/** The limits every app starts from (Pusher's published ones). */
export const DEFAULT_APP_LIMITS: Readonly<
  Omit<PusherApp, "id" | "key" | "secret">
> = {
  enableClientMessages: false,
  enableSubscriptionCount: false,
  maxConnections: 0,
  maxClientEventsPerS: 10,
  maxPresenceMembers: 100,
  maxEventPayloadBytes: 10 * 1024,
  maxEventChannels: 100,
  maxEventBatchSize: 10,
  webhooks: [],
};

/** The demo app of `deno task dev` (Soketi's default credentials): for local use only. */
export const DEMO_APP: Readonly<PusherApp> = {
  ...DEFAULT_APP_LIMITS,
  id: "app-id",
  key: "app-key",
  secret: "app-secret",
  enableClientMessages: true,
};

const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** The fields a `PUSHER_APPS` entry may have, and how to read each. */
const FIELDS: Record<string, "string" | "bool" | "int" | "list"> = {
  id: "string",
  key: "string",
  secret: "string",
  "enable_client_messages": "bool",
  "enable_subscription_count": "bool",
  "max_connections": "int",
  "max_client_events_per_second": "int",
  "max_presence_members_per_channel": "int",
  "max_event_payload_in_kb": "int",
  "max_event_channels_at_once": "int",
  "max_event_batch_size": "int",
  webhooks: "list",
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
  if (list) apps.push(...parseList(list));
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

function parseList(text: string): PusherApp[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RangeError("Invalid PUSHER_APPS: not valid JSON");
  }
  if (!Array.isArray(value)) {
    throw new RangeError("Invalid PUSHER_APPS: expected a JSON list of apps");
  }
  return value.map((entry: unknown, index) => parseEntry(entry, index));
}

function parseEntry(entry: unknown, index: number): PusherApp {
  const where = `PUSHER_APPS[${index}]`;
  if (!isRecord(entry)) {
    throw new RangeError(`Invalid ${where}: expected an object`);
  }
  for (const [name, value] of Object.entries(entry)) {
    const kind = FIELDS[name];
    if (kind === undefined) {
      throw new RangeError(`Invalid ${where}: unknown field "${name}"`);
    }
    if (kind === "list") continue; // webhooks: checked by parseWebhook
    const ok = kind === "string"
      ? typeof value === "string"
      : kind === "bool"
      ? typeof value === "boolean"
      : Number.isSafeInteger(value) && typeof value === "number" &&
        value >= 0 && value <= 1_000_000;
    if (!ok) {
      throw new RangeError(
        `Invalid ${where}.${name}: expected ${
          kind === "int" ? "an integer from 0 to 1000000" : `a ${kind}`
        }`,
      );
    }
  }
  const text = (name: string): string => {
    const v = entry[name];
    if (typeof v !== "string") {
      throw new RangeError(`Invalid ${where}: "${name}" is required`);
    }
    return v;
  };
  const int = (name: string, fallback: number): number => {
    const v = entry[name];
    return typeof v === "number" ? v : fallback;
  };
  const d = DEFAULT_APP_LIMITS;
  const kb = entry["max_event_payload_in_kb"];
  return checkApp(where, {
    id: text("id"),
    key: text("key"),
    secret: text("secret"),
    enableClientMessages: entry["enable_client_messages"] === true,
    enableSubscriptionCount: entry["enable_subscription_count"] === true,
    maxConnections: int("max_connections", d.maxConnections),
    maxClientEventsPerS: int(
      "max_client_events_per_second",
      d.maxClientEventsPerS,
    ),
    maxPresenceMembers: int(
      "max_presence_members_per_channel",
      d.maxPresenceMembers,
    ),
    maxEventPayloadBytes: typeof kb === "number"
      ? kb * 1024
      : d.maxEventPayloadBytes,
    maxEventChannels: int("max_event_channels_at_once", d.maxEventChannels),
    maxEventBatchSize: int("max_event_batch_size", d.maxEventBatchSize),
    webhooks: parseWebhooks(where, entry.webhooks),
  });
}

function checkApp(where: string, app: PusherApp): PusherApp {
  if (!ID_PATTERN.test(app.id) || !ID_PATTERN.test(app.key)) {
    throw new RangeError(
      `Invalid ${where}: id and key must be 1-64 characters of [A-Za-z0-9_.-]`,
    );
  }
  if (app.secret.length < 1 || app.secret.length > 256) {
    throw new RangeError(`Invalid ${where}: secret must be 1-256 characters`);
  }
  for (
    const [name, value] of [
      ["max_client_events_per_second", app.maxClientEventsPerS],
      ["max_presence_members_per_channel", app.maxPresenceMembers],
      ["max_event_payload_in_kb", app.maxEventPayloadBytes],
      ["max_event_channels_at_once", app.maxEventChannels],
      ["max_event_batch_size", app.maxEventBatchSize],
    ] as const
  ) {
    if (value < 1) {
      throw new RangeError(`Invalid ${where}: ${name} must be at least 1`);
    }
  }
  return app;
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
