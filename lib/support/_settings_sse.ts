/**
 * The settings of the HTTP fallback transport (`GET /sse`, `POST
 * /sse/:session`, `GET /sse/rooms`; docs/protocol.md "Fallback transport"),
 * spread into the one table that `settings.ts` exports as `SETTINGS`.
 *
 * @module
 */

import { int } from "./_setting_kinds.ts";

/** Fallback transport settings, keyed by their `Config` field. */
export const SSE_SETTINGS = {
  sseHeartbeatMs: int(
    "sse",
    "SSE_HEARTBEAT_MS",
    15_000,
    [100, 600_000],
    "a `: ping` comment on every SSE stream at this interval (proxies keep it open); a closed stream whose final event is not read within one interval is aborted",
  ),
  sseSessionIdleMs: int(
    "sse",
    "SSE_SESSION_IDLE_MS",
    30_000,
    [100, 3_600_000],
    "a bidirectional session whose stream ended is forgotten after this long (its POSTs get 404 then; a reconnect with `Last-Event-ID` resumes every room under a new session id)",
  ),
  sseMaxSessions: int(
    "sse",
    "SSE_MAX_SESSIONS",
    10_000,
    [1, 1_000_000],
    "bidirectional sessions per isolate, streaming or not, and POSTs waiting for another isolate; more get 503 `capacity`. A session holds its rooms' positions (at most `MAX_ROOMS_PER_CONNECTION` × ~230 bytes) and its stream's queue (at most `MAX_BUFFERED_BYTES`)",
  ),
  sseRouteTimeoutMs: int(
    "sse",
    "SSE_ROUTE_TIMEOUT_MS",
    5_000,
    [10, 60_000],
    "a POST for a session held by another isolate waits this long for that isolate's answer over the bus, then 504 `route_timeout`",
  ),
} as const;
