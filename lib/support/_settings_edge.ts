/**
 * The settings of the edge: security, limits and the Pusher protocol (the
 * second half of the one table that `settings.ts` exports as `SETTINGS`).
 *
 * @module
 */

import { bool, int, list, oneOf, text } from "./_setting_kinds.ts";

/** Security, limits and Pusher settings, keyed by their `Config` field. */
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
  pusherAppsJson: text(
    "pusher",
    "PUSHER_APPS",
    "",
    'more apps, a JSON list with Soketi\'s field names: `[{"id","key","secret","enable_client_messages","max_connections","max_client_events_per_second","max_presence_members_per_channel","max_event_payload_in_kb","max_event_channels_at_once","max_event_batch_size"}]` (defaults 0 = none, 10, 100, 10, 100, 10)',
    { raw: true },
  ),
  pusherActivityTimeoutS: int(
    "pusher",
    "PUSHER_ACTIVITY_TIMEOUT_S",
    30,
    [1, 3_600],
    "`activity_timeout` announced to Pusher clients: they ping after that much silence",
  ),
} as const;
