/**
 * Room log on Deno KV: the default backend. Every isolate that opens the same
 * database (a local SQLite file for `deno task dev`/`start`, the platform's KV
 * on Deno Deploy) shares one sequence per room, and a restart loses nothing
 * inside the window.
 *
 * Layout, under `["roomcast", "v1", room]`:
 * - `"head"` → `{epoch, offset}`: the room's latest position (kept for
 *   `metaTtlMs` after the last message);
 * - `"m", offset` → `{ts, frame}` or `{ts, parts}`: one message, expiring
 *   after the window;
 * - `"c", offset, i` → one part of a frame too large for one KV value.
 *
 * An append is one atomic operation checked against the head's versionstamp,
 * retried on conflict, so offsets stay unique and gap-free whoever appends.
 *
 * @module
 */

import type { StreamPosition } from "../protocol.ts";
import {
  decideSince,
  type HistoryLimits,
  newEpoch,
  type NewMessage,
  type RoomLog,
  type SinceResult,
  type StoredMessage,
  storeMessage,
} from "./history.ts";

/** Options for {@linkcode KvLog}. */
export interface KvLogOptions extends HistoryLimits {
  /** How long a room's head outlives its last message, in ms. @default {86_400_000} */
  metaTtlMs?: number;
  /** Clock, ms since the Unix epoch. @default {Date.now} */
  now?: () => number;
}

/** Longest frame part stored in one KV value (KV values are capped at 64 KiB). */
const PART_CHARS = 16_000;
/** Most messages per atomic operation (two mutations each, KV allows 1000). */
const BATCH_ITEMS = 200;
/** Most frame characters per atomic operation (KV allows 800 KiB in total). */
const BATCH_CHARS = 200_000;
const MAX_ATTEMPTS = 100;
/** Appends of at most this many messages may share a commit with other rooms'. */
const COMBINE_ITEMS = 50;
/** Most rooms in one combined commit (KV allows 100 checks). */
const COMBINE_ROOMS = 100;
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
    const entries: Deno.KvEntryMaybe<unknown>[] = [];
    for (let i = 0; i < keys.length; i += 10) {
      entries.push(...await this.#kv.getMany(keys.slice(i, i + 10)));
    }
    const op = this.#kv.atomic();
    let chars = 0;
    const stored = group.map((w, i) => {
      const entry = entries[i]!;
      const head = parseHead(entry.value) ?? { epoch: newEpoch(), offset: 0 };
      const messages = w.items.map((item, j) =>
        storeMessage(w.room, item, head.offset + 1 + j, head.epoch)
      );
      op.check(entry).set(
        key(w.room, "head"),
        { epoch: head.epoch, offset: head.offset + w.items.length },
        { expireIn: this.#metaTtl() },
      );
      this.#addMessages(op, w.room, messages);
      for (const m of messages) chars += m.frame.length;
      return messages;
    });
    if (chars > BATCH_CHARS) return undefined; // too large together
    return (await op.commit()).ok ? stored : undefined;
  }

  async head(room: string): Promise<StreamPosition> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        const entry = await this.#kv.get(key(room, "head"));
        const head = parseHead(entry.value);
        if (head !== undefined) return head;
        // Create the head now, so the epoch a joiner sees is the one appends use.
        const fresh = { epoch: newEpoch(), offset: 0 };
        const result = await this.#kv.atomic().check(entry)
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
    const messages: StoredMessage[] = [];
    const entries = this.#kv.list({
      start: key(room, "m", position.offset + 1),
      end: key(room, "m", head.offset + 1),
    });
    for await (const entry of entries) {
      const offset = entry.key[4];
      const value = parseStored(entry.value);
      if (typeof offset !== "number" || value === undefined) continue;
      if (value.ts < oldest) continue;
      const frame = "frame" in value
        ? value.frame
        : await this.#readParts(room, offset, value.parts);
      if (frame === undefined) continue;
      messages.push({ offset, epoch: head.epoch, ts: value.ts, frame });
    }
    return decideSince(position, head, messages);
  }

  close(): Promise<void> {
    this.#kv.close();
    return Promise.resolve();
  }

  /** Adds one room's messages (and the trim of its window) to `op`. */
  #addMessages(
    op: Deno.AtomicOperation,
    room: string,
    stored: readonly StoredMessage[],
  ): void {
    const { maxMessages, ttlMs } = this.#options;
    for (const { offset, frame, ts } of stored) {
      if (frame.length <= PART_CHARS) {
        op.set(key(room, "m", offset), { ts, frame }, { expireIn: ttlMs });
      } else {
        const parts = Math.ceil(frame.length / PART_CHARS);
        op.set(key(room, "m", offset), { ts, parts }, { expireIn: ttlMs });
        for (let i = 0; i < parts; i++) {
          const part = frame.slice(i * PART_CHARS, (i + 1) * PART_CHARS);
          op.set(key(room, "c", offset, i), part, { expireIn: ttlMs });
        }
      }
      // Keep at most maxMessages: drop the one that falls out of the window.
      if (offset > maxMessages) {
        op.delete(key(room, "m", offset - maxMessages));
      }
    }
  }

  async #appendBatch(
    room: string,
    items: readonly NewMessage[],
  ): Promise<StoredMessage[]> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let entry: Deno.KvEntryMaybe<unknown>;
      try {
        entry = await this.#kv.get(key(room, "head"));
      } catch (error) {
        if (!isLocked(error)) throw error;
        await backoff(attempt);
        continue;
      }
      const head = parseHead(entry.value) ?? { epoch: newEpoch(), offset: 0 };
      const stored = items.map((item, i) =>
        storeMessage(room, item, head.offset + 1 + i, head.epoch)
      );
      const chars = stored.reduce((sum, m) => sum + m.frame.length, 0);
      if (chars > BATCH_CHARS && items.length > 1) {
        // Too large for one atomic operation: append in two halves, in order.
        const half = Math.ceil(items.length / 2);
        const first = await this.#appendBatch(room, items.slice(0, half));
        return [...first, ...await this.#appendBatch(room, items.slice(half))];
      }
      const last = head.offset + items.length;
      const op = this.#kv.atomic().check(entry).set(
        key(room, "head"),
        { epoch: head.epoch, offset: last },
        { expireIn: this.#metaTtl() },
      );
      this.#addMessages(op, room, stored);
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

  async #readParts(
    room: string,
    offset: number,
    parts: number,
  ): Promise<string | undefined> {
    const keys = Array.from(
      { length: parts },
      (_, i) => key(room, "c", offset, i),
    );
    const values: string[] = [];
    // getMany takes at most 10 keys.
    for (let i = 0; i < keys.length; i += 10) {
      for (const entry of await this.#kv.getMany(keys.slice(i, i + 10))) {
        if (typeof entry.value !== "string") return undefined;
        values.push(entry.value);
      }
    }
    return values.join("");
  }

  #metaTtl(): number {
    return Math.max(this.#options.metaTtlMs ?? 86_400_000, this.#options.ttlMs);
  }
}

/**
 * SQLite-backed KV (local files) answers "database is locked" while another
 * handle in this process writes; that is a conflict to retry, not a failure.
 */
function isLocked(error: unknown): boolean {
  return error instanceof Error && /database is locked/i.test(error.message);
}

/** Jittered pause before retry number `attempt`. */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(20, 1 + attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function key(room: string, ...rest: Deno.KvKeyPart[]): Deno.KvKey {
  return ["roomcast", "v1", room, ...rest];
}

function parseHead(value: unknown): StreamPosition | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const epoch: unknown = Reflect.get(value, "epoch");
  const offset: unknown = Reflect.get(value, "offset");
  if (typeof epoch !== "string" || typeof offset !== "number") return undefined;
  return { epoch, offset };
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
