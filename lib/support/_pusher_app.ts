/**
 * One Pusher app (internal to support): its fields and the limits every app
 * starts from, the checks of an app, and the entries of `PUSHER_APPS` read
 * with Soketi's field names, each failure a `RangeError` naming where.
 *
 * @module
 */

import { isRecord } from "../protocol/mod.ts";
import { parseWebhooks, type PusherWebhook } from "./_pusher_webhooks.ts";

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

/** Reads the `PUSHER_APPS` JSON list of apps. */
export function parseAppList(text: string): PusherApp[] {
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

/** Reads entry `index` of the `PUSHER_APPS` list (Soketi's field names). */
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

/** Checks `app`'s id, key, secret and limits; a bad one throws a `RangeError` naming `where`. */
export function checkApp(where: string, app: PusherApp): PusherApp {
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
