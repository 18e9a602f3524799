/**
 * The settings of webhooks (docs/pusher.md "Webhooks"), spread into the one
 * table that `settings.ts` exports as `SETTINGS`. Targets come from
 * `PUSHER_WEBHOOK_URL` (the first app) and each `PUSHER_APPS` entry's
 * `webhooks`, read by `pusher_apps.ts`.
 *
 * @module
 */

import { int, list, text } from "./_setting_kinds.ts";

const EVENT = {
  regex:
    /^(channel_occupied|channel_vacated|member_added|member_removed|client_event|cache_miss|subscription_count)$/,
  expected:
    "channel_occupied, channel_vacated, member_added, member_removed, client_event, cache_miss or subscription_count",
};

/** Webhook settings, keyed by their `Config` field. */
export const WEBHOOK_SETTINGS = {
  pusherWebhookUrl: text(
    "webhooks",
    "PUSHER_WEBHOOK_URL",
    "",
    "webhook URL of the first app (`PUSHER_APP_*`, else the first `PUSHER_APPS` entry, else the dev demo app); native rooms' events reach it too. Per app: `webhooks` in `PUSHER_APPS`",
    { pattern: { regex: /^https?:\/\/\S+$/, expected: "an http(s) URL" } },
  ),
  pusherWebhookEvents: list(
    "webhooks",
    "PUSHER_WEBHOOK_EVENTS",
    "the events `PUSHER_WEBHOOK_URL` receives, comma-separated",
    "(all seven)",
    EVENT,
  ),
  webhookVacateDelayMs: int(
    "webhooks",
    "WEBHOOK_VACATE_DELAY_MS",
    3_000,
    [0, 600_000],
    "`channel_vacated` and `member_removed` wait this long and are cancelled by a return within it (a page reload fires nothing)",
  ),
  webhookCountDelayMs: int(
    "webhooks",
    "WEBHOOK_COUNT_DELAY_MS",
    1_000,
    [0, 600_000],
    "a changed subscription count waits this long to settle before `subscription_count` is queued",
  ),
  webhookTimeoutMs: int(
    "webhooks",
    "WEBHOOK_TIMEOUT_MS",
    5_000,
    [10, 120_000],
    "a webhook request without an answer after this long failed (retried)",
  ),
  webhookRetryMs: int(
    "webhooks",
    "WEBHOOK_RETRY_MS",
    300_000,
    [0, 86_400_000],
    'non-2xx answers and timeouts are retried with exponential backoff until this long after the event, then dropped (`webhook_dropped_total{reason="expired"}`)',
  ),
  webhookBackoffMs: int(
    "webhooks",
    "WEBHOOK_BACKOFF_MS",
    1_000,
    [1, 600_000],
    "first retry delay; doubled per failure (full jitter, at most `WEBHOOK_BACKOFF_MAX_MS`)",
  ),
  webhookBackoffMaxMs: int(
    "webhooks",
    "WEBHOOK_BACKOFF_MAX_MS",
    60_000,
    [1, 3_600_000],
    "largest retry delay",
  ),
  webhookBatchSize: int(
    "webhooks",
    "WEBHOOK_BATCH_SIZE",
    50,
    [1, 1_000],
    "most events in one webhook request (one request in flight per URL)",
  ),
  webhookQueueMax: int(
    "webhooks",
    "WEBHOOK_QUEUE_MAX",
    10_000,
    [1, 1_000_000],
    'events queued for every URL together (Deno KV, Redis or memory); more are dropped (`webhook_dropped_total{reason="queue_full"}`)',
  ),
  webhookQueueBytes: int(
    "webhooks",
    "WEBHOOK_QUEUE_BYTES",
    8_388_608,
    [1_024],
    "bytes of queued events (their JSON); more are dropped like `WEBHOOK_QUEUE_MAX`",
  ),
  webhookPollMs: int(
    "webhooks",
    "WEBHOOK_POLL_MS",
    500,
    [10, 60_000],
    "how often the sender looks at the shared queue when nothing woke it (events queued on its own isolate wake it at once)",
  ),
  webhookLeaseMs: int(
    "webhooks",
    "WEBHOOK_LEASE_MS",
    5_000,
    [100, 600_000],
    "the one sender's lease (renewed at every poll): when its holder dies, another isolate or node sends after this long",
  ),
  webhookStateTtlMs: int(
    "webhooks",
    "WEBHOOK_STATE_TTL_MS",
    86_400_000,
    [1_000, 2_592_000_000],
    "the announced state (occupied channels, members, counts) that keeps each event once per deployment; a key not rewritten this long expires",
  ),
} as const;
