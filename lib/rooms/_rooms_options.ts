/**
 * What the rooms are built from and what they answer (internal): their
 * timings, their options, a publish's options, a line of the room list and
 * one room's information. `rooms.ts` re-exports them.
 *
 * @module
 */

import type { Bus } from "../bus/bus.ts";
import type { RoomLog } from "../room_log/room_log.ts";
import type { Logger } from "../support/log.ts";
import type { Metrics } from "../support/metrics.ts";
import type { PresenceMember } from "../protocol/mod.ts";

/** Timings the rooms work with. */
export interface RoomsLimits {
  /** How long a hole in a room's stream may stay open before history fills it, ms. */
  repairDelayMs: number;
  /** Frame coalescing window for batch clients, ms (0: never wait). */
  coalesceMs: number;
  /** Most messages in one batch frame. @default {256} */
  coalesceMaxMessages?: number;
  /** Frames (received and sent) per event-loop turn before the fan-out waits for the next. @default {1000} */
  framesPerTurn?: number;
  /** Messages a room may have waiting for later turns. @default {10000} */
  fanoutMaxWaiting?: number;
  /** Presence heartbeat interval, ms. */
  presenceIntervalMs: number;
  /** A node silent this long loses its members, ms. */
  presenceTimeoutMs: number;
  /** Most rooms without local members watched for a presence read. @default {1000} */
  presenceWatchMax?: number;
  /** Outbound bytes one client may queue; also bounds what a joining member holds. @default {1048576} */
  maxBufferedBytes?: number;
  /** Live messages a joining member may hold before it is closed with 1013. @default {10000} */
  maxPendingMessages?: number;
  /** Most stored messages a `join` with `history` replays (`MAX_HISTORY_READ`). @default {100} */
  maxHistoryRead?: number;
}

/** What {@linkcode Rooms} is built from. */
export interface RoomsOptions {
  bus: Bus;
  history: RoomLog;
  metrics: Metrics;
  log: Logger;
  limits: RoomsLimits;
  now: () => number;
}

/** Options of {@linkcode Rooms.publish}. */
export interface PublishOptions {
  /** Publisher id stamped as `from`. */
  from: string;
  /** A local connection id that must not receive it (publish with `echo:false`). */
  except?: string;
  /**
   * Resolve only once the message is committed to the history store (with
   * the write-behind log, after its flush; elsewhere an append is committed
   * already). @default {false}
   */
  durable?: boolean;
}

/** A line of {@linkcode Rooms.list}. */
export interface RoomSummary {
  room: string;
  /** Members present across every isolate. */
  members: number;
  /** Connections to the room on this isolate. */
  localConnections: number;
}

/** The answer of {@linkcode Rooms.info}. */
export interface RoomInfo {
  room: string;
  members: PresenceMember[];
  localConnections: number;
  /** Latest offset and its epoch. */
  offset: number;
  epoch: string;
}
