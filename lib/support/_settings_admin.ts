/**
 * The settings of the operator dashboard at `/admin` (docs/admin.md), spread
 * into the one table that `settings.ts` exports as `SETTINGS`.
 *
 * @module
 */

import { bool, int, text } from "./_setting_kinds.ts";

/** Operator dashboard settings, keyed by their `Config` field. */
export const ADMIN_SETTINGS = {
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
