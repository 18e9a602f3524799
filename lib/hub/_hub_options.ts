/**
 * What the hub is built from (internal): its limits, the options of a new
 * connection and of the hub, its counts, and the two parts of the limits
 * every connection shares (the guard's settings, the `welcome` frame).
 *
 * @module
 */

import type { Bus } from "../bus/bus.ts";
import type { Access } from "../rooms/connection.ts";
import type { ConnectionGuardOptions } from "./connection_guard.ts";
import type { RoomLog } from "../room_log/room_log.ts";
import type { Logger } from "../support/log.ts";
import type { Metrics } from "../support/metrics.ts";
import {
  PROTOCOL_VERSION,
  type WelcomeEncoder,
  welcomeEncoder,
} from "../protocol/mod.ts";
import type { RoomsLimits } from "../rooms/rooms.ts";

/** Limits and timings the hub enforces. */
export interface HubLimits extends RoomsLimits {
  /** Largest accepted client frame in UTF-8 bytes; larger closes with 1009. */
  maxMessageBytes: number;
  /** Outbound bytes queued for one client before it is closed as slow (1013). */
  maxBufferedBytes: number;
  /** Interval announced in `welcome` for app-level pings, in ms. */
  heartbeatMs: number;
  /** Messages per second a connection may send. */
  rateLimitPerS: number;
  /** Burst a connection may send at once. */
  rateLimitBurst: number;
  /** Messages refused for rate in a row before the connection is closed (4029). */
  rateLimitStrikes: number;
  /** Rooms one connection may be in at once. */
  maxRoomsPerConnection: number;
  /** Deepest nesting of `data` and `meta` in client frames. @default {MAX_JSON_DEPTH} */
  maxJsonDepth?: number;
}

/** Who a new connection is: from its token, or anonymous. */
export interface ConnectOptions {
  /** Presence member id. @default {the connection id} */
  memberId?: string;
  /** Room permissions. @default {every room} */
  access?: Access;
  /** When its token expires (ms since the Unix epoch): it is closed with 4401 then. */
  expiresAt?: number;
  /** It negotiated batch frames (`roomcast.v1.batch`). */
  batch?: boolean;
  /**
   * Its frames spend the turn's frame budget (`FRAMES_PER_TURN`): a
   * WebSocket's, which Deno writes after the turn. An SSE stream's chunks are
   * pulled by the HTTP response body instead, and pacing them only slowed
   * them (1→1000 SSE fan-out 146,000 → 61,000 deliveries/s). @default {true}
   */
  paced?: boolean;
}

/** What the hub is built from. */
export interface HubOptions {
  bus: Bus;
  /** Assigns offsets and keeps history. */
  history: RoomLog;
  metrics: Metrics;
  log: Logger;
  limits: HubLimits;
  /** Server time in ms since the Unix epoch. @default {Date.now} */
  now?: () => number;
}

/** Counts for health checks. */
export interface HubStats {
  connections: number;
  rooms: number;
}

/** The per-connection guard settings every connection shares (all but `onExpire`). */
export function guardOptionsOf(
  limits: HubLimits,
  now: () => number,
): Omit<ConnectionGuardOptions, "onExpire"> {
  return {
    perSecond: limits.rateLimitPerS,
    burst: limits.rateLimitBurst,
    strikes: limits.rateLimitStrikes,
    maxMessageBytes: limits.maxMessageBytes,
    ...(limits.maxJsonDepth === undefined
      ? {}
      : { maxJsonDepth: limits.maxJsonDepth }),
    now,
  };
}

/** The `welcome` frame of `limits`, its fixed part serialized once. */
export function welcomeOf(limits: HubLimits): WelcomeEncoder {
  return welcomeEncoder({
    heartbeatMs: limits.heartbeatMs,
    protocol: PROTOCOL_VERSION,
    maxMessageBytes: limits.maxMessageBytes,
    rateLimit: {
      perSecond: limits.rateLimitPerS,
      burst: limits.rateLimitBurst,
    },
  });
}
