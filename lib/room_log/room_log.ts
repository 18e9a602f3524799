/**
 * The room log: the one place that assigns per-room offsets and keeps recent
 * messages for resume and bus repair. Backends, all held to one contract
 * suite (`room_log_test.ts`):
 *
 * - `memory.ts`: one isolate, in memory, under a per-node byte budget;
 * - `kv.ts`: Deno KV written through (a commit before delivery), shared by
 *   every isolate and process that opens the same database, durable;
 * - `kv_behind.ts`: Deno KV written behind (sequenced in memory, flushed in
 *   batches) by the one writer holding the database's lease;
 * - `remote.ts`: a `--parallel` Worker's view of the supervisor's log, over a
 *   `MessagePort`;
 * - `redis.ts`: Redis (one Lua script per append), shared by every node.
 *
 * Offsets start at 1 and grow by one per message in a room, with no gap. The
 * epoch names a room's sequence; it is chosen when the sequence starts and
 * changes only when the sequence is lost, so a position from another epoch is
 * never trusted.
 *
 * @module
 */

import {
  encodeServerMessage,
  type Json,
  type StreamPosition,
} from "../protocol/mod.ts";

/** A message to append; the log assigns its offset. */
export interface NewMessage {
  data: Json;
  /** Server time, ms since the Unix epoch. */
  ts: number;
  /** Publisher id. */
  from: string;
}

/** A message as stored: its position and its client frame, serialized once. */
export interface StoredMessage {
  offset: number;
  epoch: string;
  ts: number;
  /** The `message` frame sent to clients, exactly as stored. */
  frame: string;
}

/** What {@linkcode RoomLog.since} found. */
export type SinceResult =
  | { recovered: true; messages: StoredMessage[]; head: StreamPosition }
  | { recovered: false; head: StreamPosition };

/** How much history a room keeps. */
export interface HistoryLimits {
  /** Most messages kept per room. */
  maxMessages: number;
  /** Oldest message kept, in ms. */
  ttlMs: number;
  /**
   * Most bytes kept per room, counted by {@linkcode storedBytes}: the oldest
   * messages beyond it are dropped (or, where the store trims by count only,
   * no longer replayed). @default {unlimited}
   */
  maxRoomBytes?: number;
}

/**
 * What one stored message costs in the byte limits: its frame's length in
 * UTF-16 code units (one byte each for Latin-1 text in memory) plus
 * {@linkcode ENTRY_OVERHEAD_BYTES} of bookkeeping.
 */
export function storedBytes(message: StoredMessage): number {
  return message.frame.length + ENTRY_OVERHEAD_BYTES;
}

/** Bookkeeping charged per stored message on top of its frame (objects, keys). */
export const ENTRY_OVERHEAD_BYTES = 100;

/** Sequencing and recent history of every room. */
export interface RoomLog {
  /**
   * Assigns the next offsets of `room` to `items`, in order, stores them and
   * returns them serialized. Atomic per call: all or none.
   */
  append(room: string, items: readonly NewMessage[]): Promise<StoredMessage[]>;
  /** The latest position of `room` (offset 0 before its first message). */
  head(room: string): Promise<StreamPosition>;
  /**
   * Every message of `room` after `position`, in order, when the whole gap is
   * still stored under the same epoch; otherwise `recovered: false` and the
   * current head. Never a partial replay.
   */
  since(room: string, position: StreamPosition): Promise<SinceResult>;
  /** Releases the backend. */
  close(): Promise<void>;
  /**
   * Resolves once everything appended before the call is committed to the
   * store; rejects when that can no longer happen (the log was fenced,
   * closed or abandoned first). Only write-behind logs have it: in the
   * others an append is committed when it resolves.
   */
  committed?(): Promise<void>;
  /**
   * Messages and bytes ({@linkcode storedBytes}) of `room` held for resume.
   * Only logs that can count them without a scan have it (memory).
   */
  historySize?(room: string): Promise<HistorySize>;
  /**
   * Deletes every message of `room` stored when the call starts (Deno KV:
   * frame parts too), keeping its offset and epoch: a resume from before
   * gets `recovered: false`, and appends go on at the next offset (those
   * made meanwhile are kept). Returns how many messages went. Every
   * built-in backend has it; optional for a log supplied from outside.
   */
  dropHistory?(room: string): Promise<number>;
  /**
   * Hears that `position` of `room` exists (a message from another isolate):
   * a log that can lose acknowledged messages (Redis failover) uses it to
   * notice and start a new epoch rather than reuse their offsets.
   */
  seen?(room: string, position: StreamPosition): void;
}

/** What {@linkcode RoomLog.historySize} counts. */
export interface HistorySize {
  messages: number;
  bytes: number;
}

/** Why a write-behind log refused an append. */
export type OverloadReason = "backlog_bytes" | "backlog_age" | "backlog_count";

/**
 * A write-behind log refused an append because its store cannot keep up:
 * nothing was appended, and the same append may be retried after
 * `retryAfterMs`.
 */
export class LogOverloadedError extends Error {
  /** Which bound of the backlog was reached. */
  readonly reason: OverloadReason;
  /** A sensible delay before retrying, in ms. */
  readonly retryAfterMs: number;

  /** Builds the refusal: `message` says what is behind. */
  constructor(reason: OverloadReason, message: string, retryAfterMs: number) {
    super(message);
    this.name = "LogOverloadedError";
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Whether `value` is an {@linkcode OverloadReason}. */
export function isOverloadReason(value: unknown): value is OverloadReason {
  return value === "backlog_bytes" || value === "backlog_age" ||
    value === "backlog_count";
}

/** Builds the stored form of a message once its offset is known. */
export function storeMessage(
  room: string,
  item: NewMessage,
  offset: number,
  epoch: string,
): StoredMessage {
  return {
    offset,
    epoch,
    ts: item.ts,
    frame: encodeServerMessage({
      type: "message",
      room,
      data: item.data,
      offset,
      epoch,
      ts: item.ts,
      from: item.from,
    }),
  };
}

/** A fresh random epoch. */
export function newEpoch(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 12);
}

/**
 * Decides a resume from what is stored: `messages` are the stored entries
 * after `position` (ascending, already filtered by age), `head` the room's
 * head. A gap larger than `maxRoomBytes` is not replayed: a log that keeps
 * at most that many bytes per room would have dropped its start (so every
 * backend answers alike, whether it trims by bytes or by count only).
 * Shared by the backends so they agree on every edge case.
 */
export function decideSince(
  position: StreamPosition,
  head: StreamPosition,
  messages: StoredMessage[],
  maxRoomBytes = Infinity,
): SinceResult {
  if (position.epoch !== head.epoch || position.offset > head.offset) {
    return { recovered: false, head };
  }
  const missed = head.offset - position.offset;
  if (messages.length !== missed) return { recovered: false, head };
  let bytes = 0;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    bytes += storedBytes(message);
    if (message.offset !== position.offset + 1 + i || bytes > maxRoomBytes) {
      return { recovered: false, head };
    }
  }
  return { recovered: true, messages, head };
}
