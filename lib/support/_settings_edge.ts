/**
 * The settings of the edge: security and limits (spread into the one table
 * that `settings.ts` exports as `SETTINGS`; the Pusher protocol's rows are
 * in `_settings_pusher.ts`, the dashboard's in `_settings_admin.ts`).
 *
 * @module
 */

import { bool, int, list, oneOf, text } from "./_setting_kinds.ts";

/** Security and limits settings, keyed by their `Config` field. */
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
} as const;
