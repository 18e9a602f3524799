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
  isLocked,
  mutationsOf,
  parseHead,
  readMessages,
  readTrimmed,
  roomKey as key,
  trimmedOffsets,
} from "./_kv_layout.ts";
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
/** Most frame characters per atomic operation (KV allows 800 KiB in total). */
const BATCH_CHARS = 200_000;
/** Most mutations per atomic operation (KV allows 1000). */
const BATCH_MUTATIONS = 900;
const MAX_ATTEMPTS = 100;
/** Appends of at most this many messages may share a commit with other rooms'. */
const COMBINE_ITEMS = 50;
/** Most rooms in one combined commit (KV allows 100 checks; one is the lease). */
const COMBINE_ROOMS = 99;
/** Most messages in one combined commit (two mutations each, plus the heads). */
const COMBINE_TOTAL_ITEMS = 400;

/** An append waiting for the tick's combined commit. */
interface Waiting {
  room: string;
  items: readonly NewMessage[];
  resolve(stored: StoredMessage[]): void;
  reject(error: unknown): void;
}

/** Room log in Deno KV. */
export class KvLog implements RoomLog {
  #kv: Deno.Kv;
  #options: KvLogOptions;
  #now: () => number;
  #waiting: Waiting[] = [];

  /** Wraps an open KV database; {@linkcode KvLog.close} closes it. */
  constructor(kv: Deno.Kv, options: KvLogOptions) {
    this.#kv = kv;
    this.#options = options;
    this.#now = options.now ?? Date.now;
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
   * to {@linkcode COMBINE_ROOMS} rooms); a large append, or a combined commit
   * that conflicts with another writer, takes the per-room path.
   */
  append(
    room: string,
    items: readonly NewMessage[],
  ): Promise<StoredMessage[]> {
    if (items.length > COMBINE_ITEMS) return this.#appendRoom(room, items);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ room, items, resolve, reject });
      if (this.#waiting.length === 1) queueMicrotask(() => this.#combine());
    });
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

  /** Commits what waited this tick, in groups of distinct rooms, in order. */
  async #combine(): Promise<void> {
    const waiting = this.#waiting.splice(0);
    const groups: Waiting[][] = [];
    let group: Waiting[] = [];
    let rooms = new Set<string>();
    let items = 0;
    for (const w of waiting) {
      const full = group.length >= COMBINE_ROOMS ||
        items + w.items.length > COMBINE_TOTAL_ITEMS || rooms.has(w.room);
      if (full && group.length > 0) {
        groups.push(group);
        group = [];
        rooms = new Set();
        items = 0;
      }
      group.push(w);
      rooms.add(w.room);
      items += w.items.length;
    }
    if (group.length > 0) groups.push(group);
    for (const g of groups) await this.#commitGroup(g);
  }

  async #commitGroup(group: Waiting[]): Promise<void> {
    if (group.length > 1) {
      try {
        const stored = await this.#tryCombined(group);
        if (stored !== undefined) {
          group.forEach((w, i) => w.resolve(stored[i]!));
          return;
        }
      } catch (error) {
        if (!isLocked(error)) {
          for (const w of group) w.reject(error);
          return;
        }
      }
    }
    // One room, a conflict with another writer, or a locked file: per room.
    await Promise.all(
      group.map((w) =>
        this.#appendRoom(w.room, w.items).then(w.resolve, w.reject)
      ),
    );
  }

  /** One atomic commit for several rooms; undefined when it conflicted. */
  async #tryCombined(
    group: Waiting[],
  ): Promise<StoredMessage[][] | undefined> {
    const keys = group.map((w) => key(w.room, "head"));
    const [lease, ...first] = await this.#kv.getMany([
      LEASE_KEY,
      ...keys.slice(0, 9),
    ]);
    const entries: Deno.KvEntryMaybe<unknown>[] = first;
    for (let i = 9; i < keys.length; i += 10) {
      entries.push(...await this.#kv.getMany(keys.slice(i, i + 10)));
    }
    if (!(await this.#leaseFree(lease!))) return undefined;
    const heads = entries.map((entry) =>
      parseHead(entry.value) ?? { epoch: newEpoch(), offset: 0 }
    );
    const trimmed = await Promise.all(group.map((w, i) =>
      readTrimmed(
        this.#kv,
        w.room,
        trimmedOffsets(
          heads[i]!.offset,
          w.items.length,
          this.#options.maxMessages,
        ),
      )
    ));
    const op = this.#kv.atomic().check(lease!);
    let chars = 0;
    let mutations = 1;
    const stored = group.map((w, i) => {
      const head = heads[i]!;
      const messages = w.items.map((item, j) =>
        storeMessage(w.room, item, head.offset + 1 + j, head.epoch)
      );
      op.check(entries[i]!).set(
        key(w.room, "head"),
        { epoch: head.epoch, offset: head.offset + w.items.length },
        { expireIn: this.#metaTtl() },
      );
      addMessages(op, w.room, messages, this.#options, trimmed[i]!);
      for (const m of messages) chars += m.frame.length;
      mutations += 1 + mutationsOf(messages, trimmed[i]!);
      return messages;
    });
    // Too large together: each room commits on its own.
    if (chars > BATCH_CHARS || mutations > BATCH_MUTATIONS) return undefined;
    return (await op.commit()).ok ? stored : undefined;
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

  #metaTtl(): number {
    return Math.max(this.#options.metaTtlMs ?? 86_400_000, this.#options.ttlMs);
  }
}
