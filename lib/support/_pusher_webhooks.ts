/**
 * The webhook targets of a Pusher app (internal to support): Soketi's
 * `webhooks: [{url, event_types}]` entries and `PUSHER_WEBHOOK_URL`, checked
 * at startup with a `RangeError` naming the variable.
 *
 * @module
 */

import { isRecord } from "../protocol/mod.ts";

/** One webhook target of an app (Soketi's `webhooks` entries: `url`, `event_types`). */
export interface PusherWebhook {
  /** Where the POSTs go (http or https). */
  url: string;
  /** The event names it receives; undefined: all of them. */
  eventTypes?: readonly string[];
}

/** The webhook event names (Pusher's). */
export const WEBHOOK_EVENT_TYPES = [
  "channel_occupied",
  "channel_vacated",
  "member_added",
  "member_removed",
  "client_event",
  "cache_miss",
  "subscription_count",
] as const;

/** The `webhooks` field of a `PUSHER_APPS` entry, checked (absent: none). */
export function parseWebhooks(where: string, value: unknown): PusherWebhook[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new RangeError(`Invalid ${where}.webhooks: expected a list`);
  }
  return value.map((hook: unknown, i) =>
    parseWebhook(`${where}.webhooks[${i}]`, hook)
  );
}

/** One `{url, event_types?}` webhook target, checked. */
export function parseWebhook(where: string, hook: unknown): PusherWebhook {
  if (!isRecord(hook)) {
    throw new RangeError(`Invalid ${where}: expected {"url", "event_types"}`);
  }
  for (const name of Object.keys(hook)) {
    if (name !== "url" && name !== "event_types") {
      throw new RangeError(`Invalid ${where}: unknown field "${name}"`);
    }
  }
  const { url } = hook;
  if (typeof url !== "string" || !/^https?:\/\/\S+$/.test(url)) {
    throw new RangeError(`Invalid ${where}: url must be an http(s) URL`);
  }
  try {
    new URL(url);
  } catch {
    throw new RangeError(`Invalid ${where}: url must be an http(s) URL`);
  }
  const types = hook["event_types"];
  if (types === undefined) return { url };
  if (
    !Array.isArray(types) ||
    !types.every((t) =>
      typeof t === "string" &&
      (WEBHOOK_EVENT_TYPES as readonly string[]).includes(t)
    )
  ) {
    throw new RangeError(
      `Invalid ${where}: event_types must list names of ${
        WEBHOOK_EVENT_TYPES.join(", ")
      }`,
    );
  }
  return { url, eventTypes: types.filter((t) => typeof t === "string") };
}
