/**
 * Room log on Deno KV: the default backend. Every isolate that opens the same
 * database (a local SQLite file for `deno task dev`/`start`, the platform's KV
 * on Deno Deploy) shares one sequence per room, and a restart loses nothing
 * inside the window.
 *
 * This is the write-through log: a message is committed before it is
 * delivered. An append is one atomic operation checked against the head's
 * versionstamp, retried on conflict, so offsets stay unique and gap-free
 * whoever appends; it also checks that no write-behind log holds the
 * database (`kv_lease.ts`). Layout: `_kv_layout.ts`. A single-isolate server
 * uses the faster write-behind log (`kv_behind.ts`) on the same layout.
 *
 * @module
 */

import type { StreamPosition } from "../protocol/mod.ts";
import {
  addMessages,
  backoff,
  BATCH_CHARS,
  BATCH_MUTATIONS,
  isLocked,
  mutationsOf,
  parseHead,
  readMessages,
  readTrimmed,
  roomKey as key,
  trimmedOffsets,
} from "./_kv_layout.ts";
import { KvCombiner } from "./_kv_combiner.ts";
import { deleteBatches, storedKeys } from "./_kv_drop.ts";
import {
  decideSince,
  type HistoryLimits,
  newEpoch,
  type NewMessage,
  type RoomLog,
  type SinceResult,
  type StoredMessage,
  storeMessage,
} from "./room_log.ts";
import {
  isLive,
  LEASE_KEY,
  LeaseHeldError,
  parseLease,
  settleLease,
} from "./kv_lease.ts";

/** Options for {@linkcode KvLog}. */
export interface KvLogOptions extends HistoryLimits {
  /** How long a room's head outlives its last message, in ms. @default {86_400_000} */
  metaTtlMs?: number;
  /** Clock, ms since the Unix epoch. @default {Date.now} */
  now?: () => number;
}

/** Most messages per atomic operation (two mutations each, KV allows 1000). */
const BATCH_ITEMS = 200;
const MAX_ATTEMPTS = 100;

/** Room log in Deno KV. */
export class KvLog implements RoomLog {
  #kv: Deno.Kv;
  #options: KvLogOptions;
  #now: () => number;
  #combiner: KvCombiner;

  /** Wraps an open KV database; {@linkcode KvLog.close} closes it. */
  constructor(kv: Deno.Kv, options: KvLogOptions) {
    this.#kv = kv;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#combiner = new KvCombiner({
      kv,
      limits: options,
      headTtlMs: () => this.#metaTtl(),
      leaseFree: (entry) => this.#leaseFree(entry),
      appendRoom: (room, items) => this.#appendRoom(room, items),
    });
  }

  /** Opens the database at `path` (`undefined`: the platform's default) and wraps it. */
  static async open(
    path: string | undefined,
    options: KvLogOptions,
  ): Promise<KvLog> {
    return new KvLog(await Deno.openKv(path), options);
  }

  /**
   * Appends within one tick for different rooms share one atomic commit (up
   * to 99 rooms, `_kv_combiner.ts`); a large append, or a combined commit
   * that conflicts with another writer, takes the per-room path.
   */
  append(
    room: string,
    items: readonly NewMessage[],
  ): Promise<StoredMessage[]> {
    return this.#combiner.append(room, items);
  }

  async #appendRoom(
    room: string,
    items: readonly NewMessage[],
  ): Promise<StoredMessage[]> {
    const stored: StoredMessage[] = [];
    for (let start = 0; start < items.length; start += BATCH_ITEMS) {
      const batch = items.slice(start, start + BATCH_ITEMS);
      stored.push(...await this.#appendBatch(room, batch));
    }
    return stored;
  }

  async head(room: string): Promise<StreamPosition> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        const [lease, entry] = await this.#kv.getMany([
          LEASE_KEY,
          key(room, "head"),
        ]);
        if (!(await this.#leaseFree(lease!))) continue;
        const head = parseHead(entry!.value);
        if (head !== undefined) return head;
        // Create the head now, so the epoch a joiner sees is the one appends use.
        const fresh = { epoch: newEpoch(), offset: 0 };
        const result = await this.#kv.atomic().check(lease!).check(entry!)
          .set(key(room, "head"), fresh, { expireIn: this.#metaTtl() })
          .commit();
        if (result.ok) return fresh;
      } catch (error) {
        if (!isLocked(error)) throw error;
      }
      await backoff(attempt);
    }
    throw new Error(`Could not read the head of room "${room}"`);
  }

  async since(room: string, position: StreamPosition): Promise<SinceResult> {
    for (let attempt = 0;; attempt++) {
      try {
        return await this.#since(room, position);
      } catch (error) {
        if (!isLocked(error) || attempt >= MAX_ATTEMPTS) throw error;
        await backoff(attempt);
      }
    }
  }

  async #since(room: string, position: StreamPosition): Promise<SinceResult> {
    const head = await this.head(room);
    if (
      position.epoch !== head.epoch || position.offset >= head.offset
    ) {
      return decideSince(position, head, []);
    }
    const oldest = this.#now() - this.#options.ttlMs;
    const messages = await readMessages(
      this.#kv,
      room,
      head,
      position.offset + 1,
      oldest,
    );
    return decideSince(position, head, messages, this.#options.maxRoomBytes);
  }

  /**
   * Deletes every message of `room` stored when the call starts (up to the
   * head read then), parts of chunked frames included, in atomic batches
   * that each check no write-behind log took the database meanwhile; the
   * head stays. Messages appended meanwhile (after that head) are kept.
   */
  async dropHistory(room: string): Promise<number> {
    let lease: Deno.KvEntryMaybe<unknown>;
    let found: { keys: Deno.KvKey[]; offsets: number[] };
    for (let attempt = 0;; attempt++) {
      if (attempt >= MAX_ATTEMPTS) throw this.#dropFailed(room);
      try {
        const [entry, head] = await this.#kv.getMany([
          LEASE_KEY,
          key(room, "head"),
        ]);
        lease = entry;
        if (!(await this.#leaseFree(lease))) continue;
        const position = parseHead(head.value);
        if (position === undefined) return 0;
        found = await storedKeys(this.#kv, room, position.offset);
        break;
      } catch (error) {
        if (!isLocked(error)) throw error;
        await backoff(attempt);
      }
    }
    for (const batch of deleteBatches(room, found.keys)) {
      for (let attempt = 0;; attempt++) {
        if (attempt >= MAX_ATTEMPTS) throw this.#dropFailed(room);
        try {
          const op = this.#kv.atomic().check(lease);
          for (const k of batch) op.delete(k);
          if ((await op.commit()).ok) break;
          // The lease changed: refused when a live writer holds it now.
          lease = await this.#kv.get(LEASE_KEY);
          if (!(await this.#leaseFree(lease))) {
            lease = await this.#kv.get(LEASE_KEY);
          }
          continue;
        } catch (error) {
          if (!isLocked(error)) throw error;
        }
        await backoff(attempt);
      }
    }
    return found.offsets.length;
  }

  close(): Promise<void> {
    this.#kv.close();
    return Promise.resolve();
  }

  async #appendBatch(
    room: string,
    items: readonly NewMessage[],
  ): Promise<StoredMessage[]> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let entry: Deno.KvEntryMaybe<unknown>;
      let lease: Deno.KvEntryMaybe<unknown>;
      let head: StreamPosition;
      let trimmed: Map<number, number>;
      try {
        [lease, entry] = await this.#kv.getMany([LEASE_KEY, key(room, "head")]);
        if (!(await this.#leaseFree(lease))) continue;
        head = parseHead(entry.value) ?? { epoch: newEpoch(), offset: 0 };
        // What the append pushes out of the window, parts included (the
        // head's check below keeps this read consistent with the commit).
        const old = trimmedOffsets(
          head.offset,
          items.length,
          this.#options.maxMessages,
        );
        trimmed = await readTrimmed(this.#kv, room, old);
      } catch (error) {
        if (!isLocked(error)) throw error;
        await backoff(attempt);
        continue;
      }
      const stored = items.map((item, i) =>
        storeMessage(room, item, head.offset + 1 + i, head.epoch)
      );
      const chars = stored.reduce((sum, m) => sum + m.frame.length, 0);
      const tooMany = 1 + mutationsOf(stored, trimmed) > BATCH_MUTATIONS;
      if ((chars > BATCH_CHARS || tooMany) && items.length > 1) {
        // Too large for one atomic operation: append in two halves, in order.
        const half = Math.ceil(items.length / 2);
        const first = await this.#appendBatch(room, items.slice(0, half));
        return [...first, ...await this.#appendBatch(room, items.slice(half))];
      }
      const last = head.offset + items.length;
      const op = this.#kv.atomic().check(lease, entry).set(
        key(room, "head"),
        { epoch: head.epoch, offset: last },
        { expireIn: this.#metaTtl() },
      );
      addMessages(op, room, stored, this.#options, trimmed);
      try {
        if ((await op.commit()).ok) return stored;
      } catch (error) {
        if (!isLocked(error)) throw error;
      }
      // Another isolate appended first, or holds the file: read again.
      await backoff(attempt);
    }
    throw new Error(`Could not append to room "${room}": too much contention`);
  }

  /**
   * Whether no write-behind log holds the database. Throws
   * {@linkcode LeaseHeldError} when a live one does; after an unclean stop of
   * one, first repairs its rooms and answers false (read again).
   */
  async #leaseFree(entry: Deno.KvEntryMaybe<unknown>): Promise<boolean> {
    const lease = parseLease(entry.value);
    if (lease === undefined || lease.clean) return true;
    if (isLive(lease, this.#now())) throw new LeaseHeldError(lease);
    await settleLease(this.#kv, { now: this.#now, headTtlMs: this.#metaTtl() });
    return false;
  }

  #dropFailed(room: string): Error {
    return new Error(
      `Could not drop the history of room "${room}": too much contention`,
    );
  }

  #metaTtl(): number {
    return Math.max(this.#options.metaTtlMs ?? 86_400_000, this.#options.ttlMs);
  }
}
