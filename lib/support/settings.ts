/**
 * Every setting of roomcast, once: environment variable, kind, default,
 * bounds, group and one line of meaning. `config.ts` derives the `Config`
 * type, the defaults, the parser and the README's configuration table from
 * this table (`deno task docs:config` rewrites the README; a test fails when
 * they disagree). To add a setting, add a row here and run that task.
 *
 * @module
 */

/** The groups settings belong to; each layer is handed its own. */
export type ConfigGroupName =
  | "server"
  | "history"
  | "delivery"
  | "engine"
  | "security"
  | "limits"
  | "pusher";

/** Headings of the groups in the README table, in table order. */
export const GROUP_TITLES: Readonly<Record<ConfigGroupName, string>> = {
  server: "Server",
  history: "History",
  delivery: "Delivery",
  engine: "Bus and engine",
  security: "Security",
  limits: "Limits",
  pusher: "Pusher protocol ([docs/pusher.md](docs/pusher.md))",
};

/** What every setting has. */
interface SettingBase<G extends ConfigGroupName> {
  /** Environment variable. */
  env: string;
  /** The group it belongs to. */
  group: G;
  /** One line: what it means (README table). */
  doc: string;
  /** How the README shows the default, when not the plain value. */
  shown?: string;
}

/** An integer from `min` to `max`. */
export interface IntSetting<G extends ConfigGroupName = ConfigGroupName>
  extends SettingBase<G> {
  kind: "int";
  default: number;
  min: number;
  max: number;
}

/** A flag: `1`/`true`/`yes` or `0`/`false`/`no`. */
export interface BoolSetting<G extends ConfigGroupName = ConfigGroupName>
  extends SettingBase<G> {
  kind: "bool";
  default: boolean;
}

/** Text, trimmed unless `raw`; `nonEmpty` refuses an empty value; `pattern` checks a non-empty one. */
export interface StringSetting<G extends ConfigGroupName = ConfigGroupName>
  extends SettingBase<G> {
  kind: "string";
  default: string;
  raw?: boolean;
  nonEmpty?: boolean;
  pattern?: { regex: RegExp; expected: string };
}

/** One of a fixed list of words. */
export interface EnumSetting<
  G extends ConfigGroupName = ConfigGroupName,
  V extends string = string,
> extends SettingBase<G> {
  kind: "enum";
  default: V;
  values: readonly V[];
}

/** A comma-separated list (entries trimmed, empty ones dropped). */
export interface ListSetting<G extends ConfigGroupName = ConfigGroupName>
  extends SettingBase<G> {
  kind: "list";
  default: readonly string[];
}

/** One row of the settings table. */
export type Setting =
  | IntSetting
  | BoolSetting
  | StringSetting
  | EnumSetting
  | ListSetting;

/** Optional parts of a row: how the README shows the default, string options. */
type Extra = Pick<StringSetting, "shown" | "raw" | "nonEmpty" | "pattern">;

function int<G extends ConfigGroupName>(
  group: G,
  env: string,
  value: number,
  [min, max = Number.MAX_SAFE_INTEGER]: [number, number?],
  doc: string,
  shown?: string,
): IntSetting<G> {
  const row: IntSetting<G> = {
    kind: "int",
    group,
    env,
    default: value,
    min,
    max,
    doc,
  };
  if (shown !== undefined) row.shown = shown;
  return row;
}

function bool<G extends ConfigGroupName>(
  group: G,
  env: string,
  value: boolean,
  doc: string,
  shown?: string,
): BoolSetting<G> {
  const row: BoolSetting<G> = { kind: "bool", group, env, default: value, doc };
  if (shown !== undefined) row.shown = shown;
  return row;
}

function text<G extends ConfigGroupName>(
  group: G,
  env: string,
  value: string,
  doc: string,
  extra: Extra = {},
): StringSetting<G> {
  return { kind: "string", group, env, default: value, doc, ...extra };
}

function oneOf<G extends ConfigGroupName, const V extends string>(
  group: G,
  env: string,
  value: NoInfer<V>,
  values: readonly V[],
  doc: string,
): EnumSetting<G, V> {
  return { kind: "enum", group, env, default: value, values, doc };
}

function list<G extends ConfigGroupName>(
  group: G,
  env: string,
  doc: string,
  shown: string,
): ListSetting<G> {
  return { kind: "list", group, env, default: [], doc, shown };
}

/**
 * The settings, keyed by their `Config` field, in README order within each
 * group.
 */
export const SETTINGS = {
  // Server
  port: int(
    "server",
    "PORT",
    8000,
    [0, 65_535],
    "TCP port (0 picks a free one)",
  ),
  host: text("server", "HOST", "0.0.0.0", "interface to bind", {
    nonEmpty: true,
  }),
  workers: int(
    "server",
    "WORKERS",
    1,
    [0, 256],
    "isolates sharing the port (`0`: one per core)",
    "`1` (`start`: one per core)",
  ),
  logLevel: oneOf(
    "server",
    "LOG_LEVEL",
    "info",
    ["debug", "info", "warn", "error"],
    "`debug`, `info`, `warn` or `error`; JSON lines, never tokens or payloads",
  ),
  shutdownTimeoutMs: int(
    "server",
    "SHUTDOWN_TIMEOUT_MS",
    3_000,
    [0],
    "time clients get to answer the close frame on shutdown",
  ),
  tlsCertFile: text(
    "server",
    "TLS_CERT_FILE",
    "",
    "PEM certificate file: with `TLS_KEY_FILE`, serve https/wss directly",
  ),
  tlsKeyFile: text("server", "TLS_KEY_FILE", "", "PEM private key file"),
  refusalLogIntervalMs: int(
    "server",
    "REFUSAL_LOG_INTERVAL_MS",
    10_000,
    [1, 3_600_000],
    "refusals (bad API key or `/metrics` token, bad token at the upgrade, refused publish) are logged once per cause at once, then one summary line per interval with the count held back; `/metrics` counts every one",
  ),
  refusalLogMaxCauses: int(
    "server",
    "REFUSAL_LOG_MAX_CAUSES",
    64,
    [1, 10_000],
    "refusal causes tracked at once by that log; more share the cause `other`",
  ),
  // History
  history: oneOf(
    "history",
    "HISTORY",
    "kv",
    ["kv", "memory"],
    "history and offsets: `kv` (Deno KV, durable, shared by isolates) or `memory` (one isolate, fastest)",
  ),
  kvPath: text(
    "history",
    "KV_PATH",
    "./data/roomcast.kv",
    "Deno KV database",
    { shown: "`./data/roomcast.kv` (Deno Deploy: the platform KV)" },
  ),
  historyWrite: oneOf(
    "history",
    "HISTORY_WRITE",
    "auto",
    ["auto", "behind", "through"],
    "`behind`: offsets in memory, flushed to KV in batches (one process owns the file); `through`: a commit before each delivery (several processes on one database); `auto`: `behind` on a local file (with `--parallel` the supervisor owns the log for its Workers), `through` on Deno Deploy",
  ),
  historyFlushMs: int(
    "history",
    "HISTORY_FLUSH_MS",
    10,
    [1, 10_000],
    "longest a message waits before the write-behind flush starts",
  ),
  historyMaxLagMs: int(
    "history",
    "HISTORY_MAX_LAG_MS",
    250,
    [1, 600_000],
    "write-behind: publishes are refused (`overloaded`, HTTP 503 + `Retry-After`) while the oldest uncommitted message is older than this; the crash-loss window (more than `HISTORY_FLUSH_MS`)",
    "`250` (or 2 × `HISTORY_FLUSH_MS` if more)",
  ),
  historyBacklogBytes: int(
    "history",
    "HISTORY_BACKLOG_BYTES",
    8 * 1024 * 1024,
    [65_536],
    "write-behind: publishes are refused (`overloaded`, HTTP 503) once this many frame bytes wait for the flush; the most a crash can lose",
  ),
  historySize: int(
    "history",
    "HISTORY_SIZE",
    300,
    [1, 100_000],
    "messages kept per room for resume (in memory and on disk: a trimmed message is deleted with all of its parts, so the KV file stays about `HISTORY_SIZE` × frame size per room)",
  ),
  historyTtlMs: int(
    "history",
    "HISTORY_TTL_MS",
    300_000,
    [1_000],
    "oldest message kept for resume",
  ),
  historyRoomBytes: int(
    "history",
    "HISTORY_ROOM_BYTES",
    4_194_304,
    [1_024],
    'bytes of history per room (frame length + ~100 each): the oldest go first (memory, write-behind window); Deno KV and Redis refuse to replay a larger gap (`recovered: false`). Metric `history_evicted_messages_total{reason="room_bytes"}`',
  ),
  historyMemoryBytes: int(
    "history",
    "HISTORY_MEMORY_BYTES",
    268_435_456,
    [1_024],
    'history held in memory on this node, all rooms (`HISTORY=memory`, write-behind window): past it the oldest of any room go first, and a resume into them gets `recovered: false`. Gauge `history_memory_bytes`; `history_evicted_messages_total{reason="budget"}`',
  ),
  // Delivery
  repairDelayMs: int(
    "delivery",
    "REPAIR_DELAY_MS",
    100,
    [0, 60_000],
    "how long a hole in a room's stream may wait before history fills it",
  ),
  coalesceMs: int(
    "delivery",
    "COALESCE_MS",
    1,
    [0, 10_000],
    "longest wait before a batch frame goes out (clients that negotiated `roomcast.v1.batch`); 0 disables",
  ),
  presenceIntervalMs: int(
    "delivery",
    "PRESENCE_INTERVAL_MS",
    5_000,
    [10],
    "presence heartbeat between isolates",
  ),
  presenceTimeoutMs: int(
    "delivery",
    "PRESENCE_TIMEOUT_MS",
    15_000,
    [20],
    "an isolate silent this long loses its members",
  ),
  // Bus and engine
  bus: oneOf(
    "engine",
    "BUS",
    "broadcast-channel",
    ["broadcast-channel", "none"],
    "bus between the isolates of one process (`none` for a lone isolate)",
  ),
  busChannel: text(
    "engine",
    "BUS_CHANNEL",
    "roomcast",
    "BroadcastChannel name",
    {
      nonEmpty: true,
    },
  ),
  redisUrl: text(
    "engine",
    "REDIS_URL",
    "",
    "Redis engine for several processes or machines (see [docs/deploy.md](docs/deploy.md))",
    {
      pattern: {
        regex: /^rediss?:\/\/[^\s]+$/,
        expected: "redis://host:port or rediss://...",
      },
    },
  ),
  redisPrefix: text(
    "engine",
    "REDIS_PREFIX",
    "roomcast",
    "namespace of roomcast's Redis keys and channels (several deployments on one Redis)",
    { nonEmpty: true },
  ),
  // Security
  authSecret: text(
    "security",
    "AUTH_SECRET",
    "",
    "HS256 secret for client JWTs (at least 16 characters)",
    { raw: true },
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
    "comma-separated exact origins allowed to open WebSockets",
    "(the request's host)",
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
} as const;
