/**
 * The settings of the Pusher protocol (docs/pusher.md; its apps are read by
 * `pusher_apps.ts` into `Config.pusherApps`), spread into the one table that
 * `settings.ts` exports as `SETTINGS`.
 *
 * @module
 */

import { bool, int, text } from "./_setting_kinds.ts";

/** Pusher protocol settings, keyed by their `Config` field. */
export const PUSHER_SETTINGS = {
  // Pusher protocol (read by pusher_apps.ts into `Config.pusherApps`)
  pusherAppId: text(
    "pusher",
    "PUSHER_APP_ID",
    "",
    "one Pusher app: `GET /app/:key` and the signed HTTP API at `/apps/:id`; set `PUSHER_APP_ID`, `PUSHER_APP_KEY` and `PUSHER_APP_SECRET`, all three or none. The dev demo app (`app-id`, `app-key`, `app-secret`) is for local use only",
    { shown: "(none; `dev`: `app-id`)" },
  ),
  pusherAppKey: text(
    "pusher",
    "PUSHER_APP_KEY",
    "",
    "that app's public key (what pusher-js is given)",
    { shown: "(none; `dev`: `app-key`)" },
  ),
  pusherAppSecret: text(
    "pusher",
    "PUSHER_APP_SECRET",
    "",
    "that app's secret: signs channel auth and HTTP API requests",
    { raw: true, shown: "(none; `dev`: `app-secret`)" },
  ),
  pusherAppEnableClientMessages: bool(
    "pusher",
    "PUSHER_APP_ENABLE_CLIENT_MESSAGES",
    false,
    "let that app's clients send `client-*` events (private and presence channels)",
    "`0` (`dev` demo app: `1`)",
  ),
  pusherAppEnableSubscriptionCount: bool(
    "pusher",
    "PUSHER_APP_ENABLE_SUBSCRIPTION_COUNT",
    false,
    "send that app's subscribers `pusher_internal:subscription_count` when a channel's count changes (not presence channels)",
  ),
  pusherAppsJson: text(
    "pusher",
    "PUSHER_APPS",
    "",
    'more apps, a JSON list with Soketi\'s field names: `[{"id","key","secret","enable_client_messages","enable_subscription_count","max_connections","max_client_events_per_second","max_presence_members_per_channel","max_event_payload_in_kb","max_event_channels_at_once","max_event_batch_size"}]` (defaults 0 = none, 10, 100, 10, 100, 10)',
    { raw: true },
  ),
  pusherActivityTimeoutS: int(
    "pusher",
    "PUSHER_ACTIVITY_TIMEOUT_S",
    30,
    [1, 3_600],
    "`activity_timeout` announced to Pusher clients: they ping after that much silence",
  ),
  pusherSubscriptionCountMs: int(
    "pusher",
    "PUSHER_SUBSCRIPTION_COUNT_MS",
    1_000,
    [0, 60_000],
    "least time between two `pusher_internal:subscription_count` frames on one channel (the first change goes at once)",
  ),
  pusherMaxCountedChannels: int(
    "pusher",
    "PUSHER_MAX_COUNTED_CHANNELS",
    100_000,
    [1, 10_000_000],
    'most (channel, node) subscription counts kept from other isolates and nodes; more are dropped (`pusher_dropped_total{reason="count_table"}`)',
  ),
} as const;
