/**
 * The settings of the edge: security, limits, the Pusher protocol and the
 * operator dashboard (the
 * second half of the one table that `settings.ts` exports as `SETTINGS`).
 *
 * @module
 */

import { bool, int, list, oneOf, text } from "./_setting_kinds.ts";

/** Security, limits, Pusher and dashboard settings, keyed by their `Config` field. */
export const EDGE_SETTINGS = {
  // Security
  authSecret: text(
    "security",
    "AUTH_SECRET",
    "",
    "HS256 secret for client JWTs (at least 16 characters)",
    {
      raw: true,
      secret: true,
      pattern: { regex: /^.{16,}$/s, expected: "at least 16 characters" },
    },
  ),
  authPublicKey: text(
    "security",
    "AUTH_PUBLIC_KEY",
    "",
    "PEM public key (SPKI) for RS256/ES256 client JWTs",
    { raw: true },
  ),
  authPublicKeyAlg: oneOf(
    "security",
    "AUTH_PUBLIC_KEY_ALG",
    "RS256",
    ["RS256", "ES256"],
    "`RS256` or `ES256`",
  ),
  authAudience: text("security", "AUTH_AUDIENCE", "", "required `aud` claim"),
  authIssuer: text("security", "AUTH_ISSUER", "", "required `iss` claim"),
  authLeewayS: int(
    "security",
    "AUTH_LEEWAY_S",
    30,
    [0, 600],
    "clock leeway for `exp` and `nbf`, seconds",
  ),
  allowAnonymous: bool(
    "security",
    "ALLOW_ANONYMOUS",
    false,
    "accept clients without a token (`?user=` names them; `anon:<user>` when a key is set too)",
    "`0` (`dev`: `1`)",
  ),
  allowedOrigins: list(
    "security",
    "ALLOWED_ORIGINS",
    "comma-separated exact origins allowed to open WebSockets, each `scheme://host[:port]` (no path, no trailing slash)",
    "(the request's host)",
    {
      // What a browser sends in `Origin`: lower-case scheme and host, no path.
      regex:
        /^[a-z][a-z0-9+.-]*:\/\/(\[[0-9a-f:.]+\]|[a-z0-9._~%-]+)(:\d{1,5})?$/,
      expected:
        "origins like https://chat.example.com or http://localhost:8000 (scheme://host[:port], lower case, no path)",
    },
  ),
  apiKey: text(
    "security",
    "API_KEY",
    "",
    "bearer key for the HTTP API (and `/metrics` unless `METRICS_TOKEN`)",
    { raw: true, shown: "(none: API off)" },
  ),
  metricsToken: text(
    "security",
    "METRICS_TOKEN",
    "",
    "bearer token for `/metrics`",
    { raw: true },
  ),
  // Limits
  maxMessageBytes: int(
    "limits",
    "MAX_MESSAGE_BYTES",
    65_536,
    [64],
    "largest client message (UTF-8 bytes); larger closes with 1009",
  ),
  maxHistoryRead: int(
    "limits",
    "MAX_HISTORY_READ",
    100,
    [1, 1_000],
    "most messages one history read returns: `GET /api/rooms/:room/messages?limit=` and a `join` with `history: N` (larger asks get this many)",
  ),
  maxJsonDepth: int(
    "limits",
    "MAX_JSON_DEPTH",
    128,
    [1, 1_000],
    "deepest nesting of arrays/objects in `data` and `meta` (`[]` is 1); deeper is refused the same way in every mode: error frame `too_deep` on a socket, 400 `too_deep` on the HTTP API",
  ),
  maxBufferedBytes: int(
    "limits",
    "MAX_BUFFERED_BYTES",
    1_048_576,
    [1],
    "bytes queued for one client before it is closed as a slow consumer (1013); also the frames a joining member may hold",
  ),
  rateLimitPerS: int(
    "limits",
    "RATE_LIMIT_PER_S",
    20,
    [1],
    "messages per second per connection (token bucket rate)",
  ),
  rateLimitBurst: int(
    "limits",
    "RATE_LIMIT_BURST",
    40,
    [1],
    "messages a connection may send at once (token bucket size)",
  ),
  rateLimitStrikes: int(
    "limits",
    "RATE_LIMIT_STRIKES",
    20,
    [1],
    "refusals in a row before the connection is closed (4029)",
  ),
  maxRoomsPerConnection: int(
    "limits",
    "MAX_ROOMS_PER_CONNECTION",
    128,
    [1],
    "rooms one connection may be in",
  ),
  maxPendingMessages: int(
    "limits",
    "MAX_PENDING_MESSAGES",
    10_000,
    [1],
    "live messages held for one member while its join completes (resume read); more closes it with 1013 as a slow consumer (`pending_overflows_total`)",
  ),
  maxConnectionsPerIp: int(
    "limits",
    "MAX_CONNECTIONS_PER_IP",
    50,
    [1],
    "open connections per client IP (per node); more get 429",
  ),
  maxUpgradesPerSPerIp: int(
    "limits",
    "MAX_UPGRADES_PER_S_PER_IP",
    10,
    [1],
    "upgrades per second per client IP (burst twice that); more get 429",
  ),
  maxConnections: int(
    "limits",
    "MAX_CONNECTIONS",
    10_000,
    [1],
    "open connections per node; more get 503",
  ),
  heartbeatMs: int(
    "limits",
    "HEARTBEAT_MS",
    25_000,
    [100],
    "interval at which clients send app-level pings",
  ),
  idleTimeoutS: int(
    "limits",
    "IDLE_TIMEOUT_S",
    30,
    [0, 3_600],
    "protocol ping after half of it, close 1001 after all of it without a frame",
  ),
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
  // Operator dashboard (/admin)
  adminToken: text(
    "admin",
    "ADMIN_TOKEN",
    "",
    "login token of the dashboard at `/admin`; empty: `API_KEY` logs in; both empty: `/admin` is off (404)",
    { raw: true, shown: "(none: `API_KEY`; `dev`: `dev-admin`)" },
  ),
  adminReadOnly: bool(
    "admin",
    "ADMIN_READ_ONLY",
    false,
    "dashboard without actions: every action is refused by the server (403 `read_only`) and the live tail shows sizes, never payloads",
  ),
  adminSessionTtlS: int(
    "admin",
    "ADMIN_SESSION_TTL_S",
    3_600,
    [60, 604_800],
    "a dashboard session (a signed cookie, accepted by every node that shares the token) expires this long after its login",
  ),
  adminMaxSessions: int(
    "admin",
    "ADMIN_MAX_SESSIONS",
    64,
    [1, 10_000],
    "dashboard sessions per isolate; a login past it ends the oldest",
  ),
  adminStatsIntervalMs: int(
    "admin",
    "ADMIN_STATS_INTERVAL_MS",
    3_000,
    [100, 60_000],
    "how often each isolate posts its stats snapshot on the bus (the charts' resolution)",
  ),
  adminSeriesS: int(
    "admin",
    "ADMIN_SERIES_S",
    900,
    [10, 86_400],
    "time the charts cover: each node's samples are kept in a ring of `ADMIN_SERIES_S` × 1000 / `ADMIN_STATS_INTERVAL_MS` entries",
  ),
  adminMaxNodes: int(
    "admin",
    "ADMIN_MAX_NODES",
    64,
    [1, 4_096],
    'nodes the dashboard tracks; snapshots of more are dropped (`admin_dropped_total{reason="nodes"}`); a node silent for 3 intervals is forgotten',
  ),
  adminStatsRooms: int(
    "admin",
    "ADMIN_STATS_ROOMS",
    50,
    [0, 1_000],
    "rooms per node (most connections first) in its stats snapshot; with the rest the snapshot stays under ~16 KiB",
  ),
  adminTrackedRooms: int(
    "admin",
    "ADMIN_TRACKED_ROOMS",
    1_000,
    [1, 100_000],
    "rooms whose messages/s, offset and epoch each isolate follows for the dashboard; past it the least recently active is forgotten",
  ),
  adminMaxTails: int(
    "admin",
    "ADMIN_MAX_TAILS",
    16,
    [0, 1_000],
    "live tails (room pages) open at once per isolate; more get 503",
  ),
  adminTailBufferBytes: int(
    "admin",
    "ADMIN_TAIL_BUFFER_BYTES",
    262_144,
    [1_024],
    'bytes queued for one live tail; what does not fit is dropped and counted (`admin_dropped_total{reason="tail"}`)',
  ),
} as const;
