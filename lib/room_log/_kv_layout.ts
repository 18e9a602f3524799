/**
 * How room logs are laid out in Deno KV, shared by the write-through
 * ({@linkcode KvLog}) and write-behind ({@linkcode KvBehindLog}) logs so a
 * database written by one is read by the other.
 *
 * Under `["roomcast", "v1", room]`:
 * - `"head"` → `{epoch, offset}`: the room's latest position;
 * - `"m", offset` → `{ts, frame}` or `{ts, parts}`: one message, expiring
 *   after the window;
 * - `"c", offset, i` → one part of a frame too large for one KV value.
 *
 * The window is bounded by `HISTORY_SIZE` whatever the frame size: the
 * message that falls out of it is deleted with all of its parts.
 *
 * @module
 */

import type { StreamPosition } from "../protocol/mod.ts";
import type { HistoryLimits, StoredMessage } from "./room_log.ts";

/** Longest frame part stored in one KV value (KV values are capped at 64 KiB). */
export const PART_CHARS = 16_000;

/** Most frame characters per atomic operation of the write-through log (KV allows 800 KiB in total). */
export const BATCH_CHARS = 200_000;
/** Most mutations per atomic operation of the write-through log (KV allows 1000). */
export const BATCH_MUTATIONS = 900;
/** Most key bytes per atomic operation (Deno KV allows 80 KiB of keys in all). */
export const BATCH_KEY_BYTES = 64 * 1024;
/** Encoded size of a room log key besides the room name, with room to spare. */
export const KEY_OVERHEAD_BYTES = 48;

/** Key bytes one mutation of `room`'s log costs (at most: see {@linkcode KEY_OVERHEAD_BYTES}). */
export function keyBytesOf(room: string): number {
  return new TextEncoder().encode(room).length + KEY_OVERHEAD_BYTES;
}

/** The key of `room`'s `rest`. */
export function roomKey(room: string, ...rest: Deno.KvKeyPart[]): Deno.KvKey {
  return ["roomcast", "v1", room, ...rest];
}

/** Validates a stored head. */
export function parseHead(value: unknown): StreamPosition | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const epoch: unknown = Reflect.get(value, "epoch");
  const offset: unknown = Reflect.get(value, "offset");
  if (typeof epoch !== "string" || typeof offset !== "number") return undefined;
  return { epoch, offset };
}

/**
 * Parts of a trimmed message, by offset: 0 for a frame stored whole, else
 * how many `"c"` entries it has (the trim deletes them with its head).
 */
export type TrimmedParts = ReadonlyMap<number, number>;

/** How many `"c"` entries `frame` takes: 0 when it fits one value. */
export function partsOf(frame: string): number {
  return frame.length <= PART_CHARS ? 0 : Math.ceil(frame.length / PART_CHARS);
}

/** The offsets that appending `count` messages after `head` pushes out of the window. */
export function trimmedOffsets(
  head: number,
  count: number,
  maxMessages: number,
): number[] {
  const offsets: number[] = [];
  for (let offset = head + 1; offset <= head + count; offset++) {
    if (offset > maxMessages) offsets.push(offset - maxMessages);
  }
  return offsets;
}

/**
 * Mutations {@linkcode addMessages} makes for `stored` and the trim of
 * `trimmed` (the room's head not included).
 */
export function mutationsOf(
  stored: readonly StoredMessage[],
  trimmed: TrimmedParts,
): number {
  let count = 0;
  for (const { frame } of stored) count += 1 + partsOf(frame);
  for (const parts of trimmed.values()) count += 1 + parts;
  return count;
}

/**
 * Adds one room's messages, and the trim of its window, to `op`: each
 * message expires after `ttlMs`, and the one that falls out of the last
 * `maxMessages` is deleted with every part of its frame (`trimmed` says how
 * many; an offset missing from it is deleted as a whole frame).
 */
export function addMessages(
  op: Deno.AtomicOperation,
  room: string,
  stored: readonly StoredMessage[],
  { maxMessages, ttlMs }: HistoryLimits,
  trimmed: TrimmedParts,
): void {
  for (const { offset, frame, ts } of stored) {
    const parts = partsOf(frame);
    if (parts === 0) {
      op.set(roomKey(room, "m", offset), { ts, frame }, { expireIn: ttlMs });
    } else {
      op.set(roomKey(room, "m", offset), { ts, parts }, { expireIn: ttlMs });
      for (let i = 0; i < parts; i++) {
        const part = frame.slice(i * PART_CHARS, (i + 1) * PART_CHARS);
        op.set(roomKey(room, "c", offset, i), part, { expireIn: ttlMs });
      }
    }
    const old = offset - maxMessages;
    if (old < 1) continue;
    op.delete(roomKey(room, "m", old));
    const oldParts = trimmed.get(old) ?? 0;
    for (let i = 0; i < oldParts; i++) op.delete(roomKey(room, "c", old, i));
  }
}

/**
 * Reads how many parts each message at `offsets` of `room` has (0 for a
 * whole frame or a missing entry): what a write-through append trims.
 */
export async function readTrimmed(
  kv: Deno.Kv,
  room: string,
  offsets: readonly number[],
): Promise<Map<number, number>> {
  const trimmed = new Map<number, number>();
  // getMany takes at most 10 keys.
  for (let i = 0; i < offsets.length; i += 10) {
    const slice = offsets.slice(i, i + 10);
    const found = await kv.getMany(slice.map((o) => roomKey(room, "m", o)));
    found.forEach((entry, j) => {
      const value = parseStored(entry.value);
      const parts = value !== undefined && "parts" in value ? value.parts : 0;
      trimmed.set(slice[j]!, parts);
    });
  }
  return trimmed;
}

/**
 * The stored messages of `room` with offsets in `[from, to]`, ascending,
 * skipping those older than `oldest` (ms) or unreadable.
 */
export async function readMessages(
  kv: Deno.Kv,
  room: string,
  head: StreamPosition,
  from: number,
  oldest: number,
): Promise<StoredMessage[]> {
  const messages: StoredMessage[] = [];
  const entries = kv.list({
    start: roomKey(room, "m", from),
    end: roomKey(room, "m", head.offset + 1),
  });
  for await (const entry of entries) {
    const offset = entry.key[4];
    const value = parseStored(entry.value);
    if (typeof offset !== "number" || value === undefined) continue;
    if (value.ts < oldest) continue;
    const frame = "frame" in value
      ? value.frame
      : await readParts(kv, room, offset, value.parts);
    if (frame === undefined) continue;
    messages.push({ offset, epoch: head.epoch, ts: value.ts, frame });
  }
  return messages;
}

async function readParts(
  kv: Deno.Kv,
  room: string,
  offset: number,
  parts: number,
): Promise<string | undefined> {
  const keys = Array.from(
    { length: parts },
    (_, i) => roomKey(room, "c", offset, i),
  );
  const values: string[] = [];
  // getMany takes at most 10 keys.
  for (let i = 0; i < keys.length; i += 10) {
    for (const entry of await kv.getMany(keys.slice(i, i + 10))) {
      if (typeof entry.value !== "string") return undefined;
      values.push(entry.value);
    }
  }
  return values.join("");
}

type StoredValue = { ts: number; frame: string } | {
  ts: number;
  parts: number;
};

function parseStored(value: unknown): StoredValue | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const ts: unknown = Reflect.get(value, "ts");
  const frame: unknown = Reflect.get(value, "frame");
  const parts: unknown = Reflect.get(value, "parts");
  if (typeof ts !== "number") return undefined;
  if (typeof frame === "string") return { ts, frame };
  if (typeof parts === "number") return { ts, parts };
  return undefined;
}

/**
 * SQLite-backed KV (local files) answers "database is locked" while another
 * handle in this process writes; that is a conflict to retry, not a failure.
 */
export function isLocked(error: unknown): boolean {
  return error instanceof Error && /database is locked/i.test(error.message);
}

/** Jittered pause before retry number `attempt`. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(20, 1 + attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
