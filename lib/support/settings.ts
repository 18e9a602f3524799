/**
 * Every setting of roomcast, once: environment variable, kind, default,
 * bounds, group and one line of meaning. `config.ts` derives the `Config`
 * type, the defaults, the parser and the README's configuration table from
 * this table (`deno task docs:config` rewrites the README; a test fails when
 * they disagree). The rows of the edge (security, limits) are in
 * `_settings_edge.ts`, those of the Pusher protocol, the dashboard, the SSE
 * fallback and webhooks in `_settings_pusher.ts`, `_settings_admin.ts`,
 * `_settings_sse.ts` and `_settings_webhooks.ts`, spread in below. To add a
 * setting, add a row to one of them and run that task.
 *
 * @module
 */

import { ADMIN_SETTINGS } from "./_settings_admin.ts";
import { EDGE_SETTINGS } from "./_settings_edge.ts";
import { PUSHER_SETTINGS } from "./_settings_pusher.ts";
import {
  bool,
  type ConfigGroupName,
  int,
  oneOf,
  text,
} from "./_setting_kinds.ts";
import { SSE_SETTINGS } from "./_settings_sse.ts";
import { WEBHOOK_SETTINGS } from "./_settings_webhooks.ts";

/** Headings of the groups in the README table, in table order. */
export const GROUP_TITLES: Readonly<Record<ConfigGroupName, string>> = {
  server: "Server",
  history: "History",
  delivery: "Delivery",
  engine: "Bus and engine",
  security: "Security",
  limits: "Limits",
  pusher: "Pusher protocol ([docs/pusher.md](docs/pusher.md))",
  admin: "Operator dashboard ([docs/admin.md](docs/admin.md))",
  sse:
    "Fallback transport: SSE + HTTP ([docs/protocol.md](docs/protocol.md#fallback-transport-sse--http))",
  webhooks: "Webhooks ([docs/pusher.md](docs/pusher.md#webhooks))",
};

export type {
  BoolSetting,
  ConfigGroupName,
  EnumSetting,
  Extra,
  IntSetting,
  ListSetting,
  Setting,
  StringSetting,
} from "./_setting_kinds.ts";

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
    1000,
    [1, 600_000],
    "write-behind: publishes are refused (`overloaded`, HTTP 503 + `Retry-After`) while the oldest uncommitted message is older than this; the crash-loss window, like Redis' `appendfsync everysec` (more than `HISTORY_FLUSH_MS`; SQLite's WAL checkpoints stall a commit 100–300 ms on a loaded 2-core machine)",
    "`1000` (or 2 × `HISTORY_FLUSH_MS` if more)",
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
    "under load, longest a message waits for its batch frame (clients that negotiated `roomcast.v1.batch`; an idle room sends at the end of the event-loop turn, a busy one at the end of the first turn that brings no more); 0 disables",
  ),
  coalesceMaxMessages: int(
    "delivery",
    "COALESCE_MAX_MESSAGES",
    256,
    [1, 10_000],
    "most messages in one batch frame; a full batch goes out at once",
  ),
  framesPerTurn: int(
    "delivery",
    "FRAMES_PER_TURN",
    1000,
    [1, 10_000_000],
    "frames (received and sent) one event-loop turn handles before room fan-out waits for the next turn, in order, so timers and I/O (the history flush and its commit, other rooms) are not held up behind a big room: Deno writes each frame after the turn that sent it",
  ),
  fanoutMaxWaiting: int(
    "delivery",
    "FANOUT_MAX_WAITING",
    10_000,
    [1, 1_000_000],
    "messages a room may have waiting for later turns (`FRAMES_PER_TURN`); one more is sent to every member at once, whatever the budget (counted as `fanout_overruns_total`)",
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
  presenceWatchMax: int(
    "delivery",
    "PRESENCE_WATCH_MAX",
    1_000,
    [0, 1_000_000],
    "most rooms without local members an isolate listens to for an API or dashboard read of their presence (each for `PRESENCE_TIMEOUT_MS`); past it the read shows what is known here",
  ),
  // Bus and engine
  bus: oneOf(
    "engine",
    "BUS",
    "broadcast-channel",
    ["broadcast-channel", "none"],
    "bus between the isolates of one process (`none` for a lone isolate; `main.ts` with one isolate always uses `none`)",
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
  redisCluster: bool(
    "engine",
    "REDIS_CLUSTER",
    false,
    "`REDIS_URL` names one seed node of a Redis Cluster (Redis ≥ 7): keys and sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`) by room (see [docs/scaling.md](docs/scaling.md))",
  ),
  redisTrackedRooms: int(
    "engine",
    "REDIS_TRACKED_ROOMS",
    100_000,
    [1, 10_000_000],
    "rooms whose highest known offset a node remembers (its appends, what the bus brought), so a Redis that lost acknowledged messages in a failover is noticed at the next append and the room starts a new epoch instead of reusing their offsets; the room heard of longest ago is forgotten first",
  ),
  redisRelayMaxPending: int(
    "engine",
    "REDIS_RELAY_MAX_PENDING",
    10_000,
    [64, 10_000_000],
    "with `--parallel` on Redis, the one subscriber connection of the process forwards to each Worker at most this many messages it has not confirmed; past it the Worker misses posts (counted as `bus_gaps_total`, repaired from the room log)",
  ),
  busUnsubscribeGraceMs: int(
    "engine",
    "BUS_UNSUBSCRIBE_GRACE_MS",
    1_000,
    [0, 600_000],
    "how long a node keeps hearing a room's bus channel after its last local member left (against join/leave flapping)",
  ),
  redisPrefix: text(
    "engine",
    "REDIS_PREFIX",
    "roomcast",
    "namespace of roomcast's Redis keys and channels (several deployments on one Redis)",
    { nonEmpty: true },
  ),
  ...EDGE_SETTINGS,
  ...PUSHER_SETTINGS,
  ...ADMIN_SETTINGS,
  ...SSE_SETTINGS,
  ...WEBHOOK_SETTINGS,
} as const;
