/**
 * The webhook events, shaped exactly as Pusher documents them, the targets
 * they go to, and the validation of a queued entry read back from a store
 * (a store's bytes are not trusted: they may come from another version).
 *
 * @module
 */

import { isRecord } from "../protocol/mod.ts";
import { WEBHOOK_EVENT_TYPES } from "../support/pusher_apps.ts";

/** The event names Pusher defines, in its documentation's order. */
export const WEBHOOK_EVENT_NAMES = WEBHOOK_EVENT_TYPES;

/** One of {@linkcode WEBHOOK_EVENT_NAMES}. */
export type WebhookEventName = typeof WEBHOOK_EVENT_NAMES[number];

/** One event of a webhook body's `events`. */
export type WebhookEvent =
  | {
    name: "channel_occupied" | "channel_vacated" | "cache_miss";
    channel: string;
  }
  | {
    name: "member_added" | "member_removed";
    channel: string;
    user_id: string;
  }
  | {
    name: "client_event";
    channel: string;
    event: string;
    /** The event's data as a string (JSON text for structured data), as Pusher sends it. */
    data: string;
    socket_id: string;
    /** Presence channels only. */
    user_id?: string;
  }
  | { name: "subscription_count"; channel: string; subscription_count: number };

/** Where an app's webhooks go, and which events each URL wants. */
export interface WebhookTarget {
  /** The app id: the queue keeps ids, never secrets. */
  appId: string;
  url: string;
  /** Event names this URL receives; undefined: all of them. */
  events?: readonly WebhookEventName[];
}

/** What signs a target's requests: the app's key and secret. */
export interface WebhookSigner {
  key: string;
  secret: string;
}

/** Whether `name` is a webhook event name. */
export function isEventName(name: unknown): name is WebhookEventName {
  return typeof name === "string" &&
    (WEBHOOK_EVENT_NAMES as readonly string[]).includes(name);
}

/** Whether `target` wants events named `name`. */
export function wants(target: WebhookTarget, name: WebhookEventName): boolean {
  return target.events === undefined || target.events.includes(name);
}

const str = (value: unknown): value is string => typeof value === "string";

/** `value` as a webhook event, or undefined when it is not one. */
export function parseEvent(value: unknown): WebhookEvent | undefined {
  if (!isRecord(value) || !str(value.channel)) return undefined;
  const { name, channel } = value;
  switch (name) {
    case "channel_occupied":
    case "channel_vacated":
    case "cache_miss":
      return { name, channel };
    case "member_added":
    case "member_removed":
      return str(value["user_id"])
        ? { name, channel, "user_id": value["user_id"] }
        : undefined;
    case "subscription_count": {
      const count = value["subscription_count"];
      return typeof count === "number" && Number.isSafeInteger(count) &&
          count >= 0
        ? { name, channel, "subscription_count": count }
        : undefined;
    }
    case "client_event": {
      const { event, data } = value;
      const socket = value["socket_id"];
      const user = value["user_id"];
      if (!str(event) || !str(data) || !str(socket)) return undefined;
      if (user !== undefined && !str(user)) return undefined;
      const out: WebhookEvent = {
        name,
        channel,
        event,
        data,
        "socket_id": socket,
      };
      if (user !== undefined) out["user_id"] = user;
      return out;
    }
    default:
      return undefined;
  }
}
