/**
 * A tiny metrics registry: named counters and gauges, optionally labelled.
 * Rendered as Prometheus text by `/metrics` and summarised by `/healthz`.
 *
 * @module
 */

/** Every metric the service records, with its help text. */
export const METRIC_HELP = {
  "sse_sessions":
    "Bidirectional SSE sessions held on this isolate, streaming or not (bounded by SSE_MAX_SESSIONS)",
  "sse_streams_total": "SSE streams opened, by kind (session, resumed, feed)",
  "sse_refused_total":
    "SSE streams and POSTs refused, by reason (origin, unauthorized, capacity, ip_rate, ip_connections, unknown_session, forbidden_session, post_in_flight, no_stream, too_large, bad_json, bad_room…)",
  "sse_frames_in_total": "Client frames applied from POSTs to SSE sessions",
  "sse_routed_total":
    "POSTs routed over the bus to the isolate holding their session, by outcome (sent_<code>, served_<code>, refused)",
  "connections_opened_total": "WebSocket connections accepted",
  "connections_closed_total": "WebSocket connections closed, by close code",
  "connections": "Open WebSocket connections",
  "rooms": "Rooms with at least one local member",
  "presence_watch_refused_total":
    "API or dashboard presence reads of a room without local members that found PRESENCE_WATCH_MAX rooms watched already (they show what this isolate knows)",
  "messages_in_total": "Client frames received",
  "messages_out_total": "Frames sent to clients",
  "bytes_in_total": "Bytes received from clients",
  "bytes_out_total": "Bytes sent to clients",
  "publishes_total": "Messages published to rooms",
  "protocol_errors_total": "Error frames sent, by code",
  "send_failures_total": "Sends that threw (the socket was closed with 1011)",
  "slow_consumers_total":
    "Connections closed because their send buffer passed MAX_BUFFERED_BYTES",
  "dropped_messages_total":
    "Messages not delivered to a client, by reason (slow, closed)",
  "bus_posts_sent_total": "Posts sent on the bus (one per tick with traffic)",
  "bus_posts_received_total":
    "Posts received from other isolates and decoded (node channel, and rooms with local members)",
  "bus_bytes_sent_total":
    "Characters of the bus posts sent (bytes for ASCII payloads)",
  "bus_bytes_received_total":
    "Characters of the bus posts received and decoded",
  "bus_posts_unwanted_total":
    "Posts of rooms without a local member that reached this isolate and were dropped before decoding (BroadcastChannel; 0 on Redis, which sends only subscribed rooms)",
  "bus_messages_received_total":
    "Room messages received from other isolates on the bus",
  "bus_presence_received_total":
    "Presence events about rooms (updates, per-room heartbeats, room syncs) received from other isolates: only of rooms this isolate hears",
  "bus_subscriptions":
    "Room channels this isolate hears (rooms with local members, and those in BUS_UNSUBSCRIBE_GRACE_MS)",
  "redis_commands_total": "Redis commands answered (Redis engine)",
  "redis_command_ms_total":
    "Time Redis commands took from send to reply, ms (divide by redis_commands_total for the mean)",
  "redis_slow_commands_total": "Redis commands that took 10 ms or more",
  "redis_relay_dropped_total":
    "Redis pub/sub messages the process's shared subscriber did not forward to this Worker because it lagged REDIS_RELAY_MAX_PENDING behind (--parallel; counted as bus gaps, filled from the room log)",
  "bus_gaps_total":
    "Bus posts from other isolates that never arrived (BroadcastChannel drops)",
  "bus_invalid_total": "Bus posts that failed validation and were ignored",
  "bus_skipped_events_total":
    "Bus events of kinds this version does not know (from a newer node), skipped; the rest of their post is read",
  "history_repaired_total":
    "Messages fetched from history to fill holes in a room's stream",
  "messages_lost_total":
    "Messages skipped because history no longer held them (logged)",
  "resumes_total": "Joins with a resume position, by recovered true or false",
  "join_history_messages_total":
    "Stored messages replayed to joins that asked for `history`",
  "history_reads_total": "GET /api/rooms/:room/messages reads answered",
  "auth_failures_total": "Upgrades refused for a bad token, by reason",
  "upgrades_refused_total":
    "Upgrades refused before authentication, by reason (origin, ip_rate, ip_connections, capacity, draining)",
  "rate_limited_total": "Client messages refused for rate",
  "api_refused_total":
    "HTTP API requests refused, by reason (missing, invalid key; bad_room, too_large, bad_json… of a publish)",
  "metrics_refused_total":
    "Scrapes of /metrics refused, by reason (missing, invalid token)",
  "refusal_logs_suppressed_total":
    "Refusal log lines held back by REFUSAL_LOG_INTERVAL_MS (summarised per cause, never lost)",
  "batch_frames_total": "Coalesced frames sent (roomcast.v1.batch clients)",
  "fanout_deferred_total":
    "Room messages whose delivery went on in a later event-loop turn (FRAMES_PER_TURN was spent), in order",
  "fanout_overruns_total":
    "Room messages delivered at once past FRAMES_PER_TURN because their room had FANOUT_MAX_WAITING waiting (or a paced batch flush had COALESCE_MAX_MESSAGES arrivals behind it)",
  "history_appends_total": "Appends to the room log (each carries a batch)",
  "history_appended_messages_total": "Messages appended to the room log",
  "history_append_ms_total":
    "Time spent in room log appends, ms (divide by appends for the mean)",
  "batched_messages_total": "Messages sent inside coalesced frames",
  "history_backlog":
    "Messages delivered but not yet flushed to Deno KV (HISTORY_WRITE=behind)",
  "history_backlog_bytes":
    "Frame bytes delivered but not yet flushed to Deno KV (HISTORY_WRITE=behind)",
  "history_lag_ms":
    "Age of the oldest message not yet flushed to Deno KV, ms, at the last flush",
  "publishes_refused_total":
    "Publishes refused (error overloaded, HTTP 503) because the history store is behind, by reason (backlog_bytes, backlog_age, backlog_count)",
  "durable_acks_total":
    "Durable publishes acknowledged after their commit to the history store",
  "history_flush_commits_total":
    "Deno KV commits made by write-behind flushes, lease renewals included",
  "history_flush_failures_total":
    "Write-behind flushes that failed and were retried (logged)",
  "rejoins_total":
    "Joins of a room the connection was in already (answered without the member list)",
  "pending_messages":
    "Messages held for members whose join has not completed (bounded by MAX_PENDING_MESSAGES and MAX_BUFFERED_BYTES)",
  "pending_overflows_total":
    "Joining members closed with 1013: they held more than MAX_PENDING_MESSAGES or MAX_BUFFERED_BYTES (also in slow_consumers_total)",
  "history_evicted_messages_total":
    "Messages dropped from history before their window ended, by reason (room_bytes: HISTORY_ROOM_BYTES, budget: HISTORY_MEMORY_BYTES)",
  "history_memory_bytes":
    "Bytes of history held in memory on this node (bounded by HISTORY_MEMORY_BYTES)",
  "token_expiries_total": "Connections closed because their token expired",
  "terminations_total":
    "Connections closed by POST /api/members/:member/terminate (on this node)",
  "pusher_connections_total": "Pusher protocol connections established",
  "pusher_refused_total":
    "Pusher connections closed at the handshake, by close code (4001 unknown app, 4004 over quota, 4007/4008 protocol)",
  "pusher_closed_total":
    "Pusher connections the server closed, by close code (4200 restart, 4100 slow, 4301 flood or frame too large)",
  "pusher_errors_total":
    "pusher:error and pusher:subscription_error frames sent, by reason",
  "pusher_client_events_total": "Client events relayed to a channel",
  "pusher_dropped_total":
    "Hub frames not forwarded to a Pusher client, by reason (loss_notice: Pusher has no way to say messages were lost; count_table: a subscription count from another node over PUSHER_MAX_COUNTED_CHANNELS)",
  "pusher_api_requests_total": "Pusher HTTP API requests answered, by status",
  "admin_logins_total": "Dashboard logins accepted",
  "admin_refused_total":
    "Dashboard requests refused, by reason (bad_token, no_session, origin, csrf, read_only, tails)",
  "admin_actions_total":
    "Dashboard actions carried out, by action (terminate, publish, drop_history)",
  "admin_sessions": "Dashboard sessions held by this isolate",
  "admin_dropped_total":
    "Dashboard data dropped, by reason (tail: a live tail's buffer was full; nodes: more than ADMIN_MAX_NODES; rooms: more than ADMIN_TRACKED_ROOMS)",
  "pusher_signins_total": "Pusher users signed in (pusher:signin)",
  "pusher_cache_misses_total":
    "Cache channel subscriptions answered with pusher:cache_miss",
  "pusher_terminations_total": "Pusher terminate_connections requests",
  "webhook_queued_total":
    "Webhook events queued by this isolate (once per deployment: the isolate whose change of the announced state won)",
  "webhook_sent_total":
    "Webhook events delivered (a 2xx answered their request)",
  "webhook_requests_total":
    "Webhook requests sent, by outcome (ok, status_<code>, timeout, network)",
  "webhook_failed_total":
    "Webhook events whose request failed (non-2xx, timeout, network); each is retried or dropped",
  "webhook_retried_total": "Webhook events rescheduled after a failed request",
  "webhook_dropped_total":
    "Webhook events dropped, by reason (queue_full: WEBHOOK_QUEUE_MAX/WEBHOOK_QUEUE_BYTES; expired: still failing WEBHOOK_RETRY_MS after the event; store: the store failed; unknown_app)",
  "webhook_queue_depth":
    "Webhook events queued for the whole deployment (set by the isolate that sends; 0 elsewhere)",
  "webhook_queue_bytes":
    "Bytes of webhook events queued for the whole deployment (set by the isolate that sends)",
} as const;

/** The name of a known metric. */
export type MetricName = keyof typeof METRIC_HELP;

/** Gauges; everything else is a counter. */
const GAUGES: ReadonlySet<string> = new Set([
  "sse_sessions",
  "connections",
  "rooms",
  "history_backlog",
  "pending_messages",
  "history_backlog_bytes",
  "history_lag_ms",
  "history_memory_bytes",
  "admin_sessions",
  "bus_subscriptions",
  "webhook_queue_depth",
  "webhook_queue_bytes",
]);

/** One series' value, shared so hot paths can add without a lookup. */
export interface MetricCell {
  value: number;
}

/** Counters and gauges keyed by name and an optional single label. */
export class Metrics {
  #values = new Map<string, Map<string, MetricCell>>();

  /** The cell of one series, created at 0; hot paths keep it and add to `value`. */
  cell(name: MetricName, label = ""): MetricCell {
    let series = this.#values.get(name);
    if (series === undefined) {
      series = new Map();
      this.#values.set(name, series);
    }
    let cell = series.get(label);
    if (cell === undefined) {
      cell = { value: 0 };
      series.set(label, cell);
    }
    return cell;
  }

  /** Adds `by` (default 1) to a counter, optionally under a label value. */
  inc(name: MetricName, by = 1, label = ""): void {
    this.cell(name, label).value += by;
  }

  /** Sets a gauge. */
  set(name: MetricName, value: number): void {
    this.cell(name).value = value;
  }

  /** Reads one series (0 when never touched). */
  get(name: MetricName, label = ""): number {
    return this.#values.get(name)?.get(label)?.value ?? 0;
  }

  /** The sum over every label of a metric. */
  total(name: MetricName): number {
    let sum = 0;
    for (const c of this.#values.get(name)?.values() ?? []) sum += c.value;
    return sum;
  }

  /**
   * Prometheus text exposition (version 0.0.4). Labelled series use `code`
   * (closes, errors) or `reason` (drops); `extraLabels` go on every series.
   */
  toPrometheus(extraLabels: Record<string, string> = {}): string {
    const lines: string[] = [];
    for (const [name, help] of Object.entries(METRIC_HELP)) {
      const metric = `roomcast_${name}`;
      const kind = GAUGES.has(name) ? "gauge" : "counter";
      lines.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} ${kind}`);
      const series = this.#values.get(name) ?? new Map([["", { value: 0 }]]);
      for (const [label, { value }] of series) {
        const labels = { ...extraLabels };
        if (label !== "") labels[LABEL_NAMES[name] ?? "label"] = label;
        lines.push(`${metric}${formatLabels(labels)} ${value}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}

const LABEL_NAMES: Partial<Record<string, string>> = {
  "connections_closed_total": "code",
  "protocol_errors_total": "code",
  "dropped_messages_total": "reason",
  "resumes_total": "recovered",
  "auth_failures_total": "reason",
  "upgrades_refused_total": "reason",
  "api_refused_total": "reason",
  "metrics_refused_total": "reason",
  "publishes_refused_total": "reason",
  "history_evicted_messages_total": "reason",
  "admin_refused_total": "reason",
  "admin_actions_total": "action",
  "admin_dropped_total": "reason",
  "webhook_dropped_total": "reason",
  "webhook_requests_total": "reason",
};

function formatLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`
  );
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}
