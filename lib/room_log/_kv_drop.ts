/**
 * Dropping a room's history from the Deno KV layout (internal; layout in
 * `_kv_layout.ts`): the keys of every stored message up to an offset, heads
 * (`"m"`) and parts (`"c"`) alike, cut into batches that fit one atomic
 * operation; and the write-behind flusher's queue of drops waiting for a
 * flush. The room's head is never touched: offset and epoch stay.
 *
 * @module
 */

import { BATCH_KEY_BYTES, keyBytesOf, roomKey } from "./_kv_layout.ts";
import type { StoredMessage } from "./room_log.ts";

/** Most deletions per atomic operation (Deno KV allows 1000 mutations; a lease check and renewal take two). */
const MAX_DELETES = 900;

/** What {@linkcode storedKeys} found. */
export interface StoredKeys {
  /** Every `"m"` and `"c"` key of the room with an offset up to the bound. */
  keys: Deno.KvKey[];
  /** The offsets of the `"m"` keys among them: the messages. */
  offsets: number[];
}

/** The keys of `room`'s stored messages with offsets ≤ `upTo`, parts included. */
export async function storedKeys(
  kv: Deno.Kv,
  room: string,
  upTo: number,
): Promise<StoredKeys> {
  const found: StoredKeys = { keys: [], offsets: [] };
  for (const kind of ["m", "c"]) {
    const entries = kv.list({
      prefix: roomKey(room, kind),
      end: roomKey(room, kind, upTo + 1),
    });
    for await (const { key } of entries) {
      found.keys.push(key);
      const offset = key[4];
      if (kind === "m" && typeof offset === "number") {
        found.offsets.push(offset);
      }
    }
  }
  return found;
}

/** `keys` of `room` cut into batches that each fit one atomic operation. */
export function deleteBatches(
  room: string,
  keys: readonly Deno.KvKey[],
): Deno.KvKey[][] {
  const size = Math.max(
    1,
    Math.min(MAX_DELETES, Math.floor(BATCH_KEY_BYTES / keyBytesOf(room))),
  );
  const batches: Deno.KvKey[][] = [];
  for (let i = 0; i < keys.length; i += size) {
    batches.push(keys.slice(i, i + size));
  }
  return batches;
}

/**
 * Takes out of `batch` (pending messages by room) those that `drops` remove,
 * so they are never written, counting them as gone.
 */
export function unwritten(
  batch: ReadonlyMap<string, { messages: StoredMessage[] }>,
  drops: ReadonlyMap<string, PendingDrop>,
): void {
  for (const [room, drop] of drops) {
    const dirty = batch.get(room);
    if (dirty === undefined) continue;
    const kept: StoredMessage[] = [];
    for (const message of dirty.messages) {
      if (message.offset > drop.upTo) kept.push(message);
      else drop.gone.add(message.offset);
    }
    dirty.messages = kept;
  }
}

/**
 * Deletes the committed messages of each of `drops`, a batch of keys per
 * `commit` (which must hold the writer lease), counting them as gone.
 */
export async function deleteDropped(
  kv: Deno.Kv,
  drops: ReadonlyMap<string, PendingDrop>,
  commit: (keys: Deno.KvKey[]) => Promise<void>,
): Promise<void> {
  for (const [room, drop] of drops) {
    const found = await storedKeys(kv, room, drop.upTo);
    for (const batch of deleteBatches(room, found.keys)) await commit(batch);
    for (const offset of found.offsets) drop.gone.add(offset);
  }
}

/** One room's drop waiting for a flush. */
export interface PendingDrop {
  /** Every stored message up to this offset goes. */
  upTo: number;
  /** Offsets of the messages that went so far (on disk or never written). */
  gone: Set<number>;
  waiters: PromiseWithResolvers<number>[];
}

/**
 * The drops a write-behind flusher owes, per room: each resolves with how
 * many messages went once a flush has committed it, or rejects when nothing
 * more will be committed.
 */
export class DropQueue {
  #drops = new Map<string, PendingDrop>();

  /** Drops waiting (rooms). */
  get size(): number {
    return this.#drops.size;
  }

  /** Queues the drop of `room` up to `upTo` (merged with one already waiting). */
  add(room: string, upTo: number): Promise<number> {
    const waiter = Promise.withResolvers<number>();
    const drop = this.#drops.get(room);
    if (drop === undefined) {
      this.#drops.set(room, { upTo, gone: new Set(), waiters: [waiter] });
    } else {
      drop.upTo = Math.max(drop.upTo, upTo);
      drop.waiters.push(waiter);
    }
    return waiter.promise;
  }

  /** Takes every waiting drop (a flush starts). */
  take(): Map<string, PendingDrop> {
    const taken = this.#drops;
    this.#drops = new Map();
    return taken;
  }

  /** Puts back drops a failed flush took, merged with those queued since. */
  putBack(taken: Map<string, PendingDrop>): void {
    for (const [room, newer] of this.#drops) {
      const older = taken.get(room);
      if (older === undefined) {
        taken.set(room, newer);
        continue;
      }
      older.upTo = Math.max(older.upTo, newer.upTo);
      for (const offset of newer.gone) older.gone.add(offset);
      older.waiters.push(...newer.waiters);
    }
    this.#drops = taken;
  }

  /** The flush committed `taken`: each waiter hears how many messages went. */
  settle(taken: Map<string, PendingDrop>): void {
    for (const drop of taken.values()) {
      for (const waiter of drop.waiters) waiter.resolve(drop.gone.size);
    }
  }

  /** Nothing more will be committed: every waiting drop fails with `error`. */
  fail(error: Error): void {
    for (const drop of this.#drops.values()) {
      for (const waiter of drop.waiters) waiter.reject(error);
    }
    this.#drops.clear();
  }
}
