/**
 * Pusher's close and error codes, and the rules a client event must pass
 * before it is relayed: client events enabled for the app, a `client-` name
 * of at most 200 characters, a private or presence channel (not encrypted:
 * the server cannot read those), a subscription that succeeded, and data of
 * at most the app's `max_event_payload_in_kb`.
 *
 * @module
 */

import { CLOSE_CODE } from "../protocol/mod.ts";
import { jsonBytes } from "../protocol/mod.ts";
import type { PusherApp } from "../support/pusher_apps.ts";
import {
  type ChannelKind,
  MAX_EVENT_NAME_LENGTH,
  type PusherClientFrame,
} from "./wire.ts";

/** Close (and `pusher:error`) codes of the Pusher protocol that roomcast uses. */
export const PUSHER_CLOSE = {
  /** No app has this key. pusher-js does not reconnect. */
  APP_NOT_FOUND: 4001,
  /** The app is over its connection quota (`max_connections`). */
  OVER_QUOTA: 4004,
  /** The `protocol` query parameter names a version other than 7. */
  UNSUPPORTED_PROTOCOL: 4007,
  /** No `protocol` query parameter. */
  NO_PROTOCOL: 4008,
  /** Terminated by the backend (pusher-js does not reconnect). */
  UNAUTHORIZED: 4009,
  /** Over capacity, or a slow reader: pusher-js reconnects after a backoff. */
  OVER_CAPACITY: 4100,
  /** Server restart: pusher-js reconnects at once. */
  RECONNECT: 4200,
  /** Flooding, or a frame larger than `MAX_MESSAGE_BYTES`: pusher-js does not reconnect. */
  REFUSED: 4301,
  /** Client event rejected due to rate limit (a `pusher:error`; the connection stays). */
  CLIENT_EVENT_RATE: 4301,
} as const;

/** Why a client event is refused: a metric reason and the `pusher:error` to send. */
export interface ClientEventRefusal {
  reason: string;
  code: number | null;
  message: string;
}

/**
 * Why the client event `frame` may not go ahead, or undefined when it may
 * (the rate limit is the session's). `kind` and `subscribed` describe the
 * sender's subscription to `frame.channel`, if any.
 */
export function clientEventRefusal(
  app: PusherApp,
  frame: PusherClientFrame,
  kind: ChannelKind | undefined,
  subscribed: boolean,
): ClientEventRefusal | undefined {
  if (!app.enableClientMessages) {
    return {
      reason: "client_disabled",
      code: null,
      message:
        "To send client events, you must enable this feature in the Settings page of your dashboard.",
    };
  }
  if (frame.event.length > MAX_EVENT_NAME_LENGTH) {
    return {
      reason: "client_name",
      code: null,
      message:
        `Client event name longer than ${MAX_EVENT_NAME_LENGTH} characters`,
    };
  }
  if (frame.channel === undefined) {
    return {
      reason: "client_channel",
      code: null,
      message: "Client event without a channel",
    };
  }
  if (!subscribed || kind === undefined) {
    return {
      reason: "client_not_subscribed",
      code: null,
      message: `Client event rejected - not subscribed to channel ${
        frame.channel.slice(0, 200)
      }`,
    };
  }
  if (kind !== "private" && kind !== "presence") {
    return {
      reason: "client_channel",
      code: null,
      message:
        "Client event rejected - only supported on private and presence channels",
    };
  }
  const bytes = jsonBytes(frame.data ?? null);
  if (bytes > app.maxEventPayloadBytes) {
    return {
      reason: "client_size",
      code: null,
      message:
        `Client event rejected - data of ${bytes} bytes is over ${app.maxEventPayloadBytes}`,
    };
  }
  return undefined;
}

/**
 * The Pusher close code for a hub close: restarts reconnect at once (4200;
 * pusher-js waits after 1012), slow consumers back off (4100), floods and
 * terminations are refused (4301, 4009).
 */
export function hubToPusherClose(code: number | undefined): number {
  switch (code) {
    case CLOSE_CODE.TRY_AGAIN_LATER:
      return PUSHER_CLOSE.OVER_CAPACITY;
    case CLOSE_CODE.RATE_LIMITED:
      return PUSHER_CLOSE.REFUSED;
    case CLOSE_CODE.TERMINATED:
      return PUSHER_CLOSE.UNAUTHORIZED;
    default:
      return PUSHER_CLOSE.RECONNECT;
  }
}
