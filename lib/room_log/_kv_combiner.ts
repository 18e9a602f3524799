/**
 * The write-through log's combined commits (internal): small appends of
 * different rooms within one tick share one atomic commit, checked against
 * every head and the writer lease; a group that conflicts, is locked or is
 * too large together falls back to one commit per room.
 *
 * @module
 */

import {
  addMessages,
  BATCH_CHARS,
  BATCH_MUTATIONS,
  isLocked,
  mutationsOf,
  parseHead,
  readTrimmed,
  roomKey as key,
  trimmedOffsets,
} from "./_kv_layout.ts";
import { LEASE_KEY } from "./kv_lease.ts";
import {
  type HistoryLimits,
  newEpoch,
  type NewMessage,
  type StoredMessage,
  storeMessage,
} from "./room_log.ts";

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

/** What a {@linkcode KvCombiner} works with: the parts of its write-through log. */
export interface KvCombinerParts {
  kv: Deno.Kv;
  /** The room window (`maxMessages`) and message expiry (`ttlMs`). */
  limits: HistoryLimits;
  /** Expiry of a room's head, ms. */
  headTtlMs(): number;
  /** Whether no write-behind log holds the database (may throw, may repair). */
  leaseFree(entry: Deno.KvEntryMaybe<unknown>): Promise<boolean>;
  /** The per-room path: one room's append, committed on its own. */
  appendRoom(
    room: string,
    items: readonly NewMessage[],
  ): Promise<StoredMessage[]>;
}

/** Gathers a tick's small appends into combined commits. */
export class KvCombiner {
  readonly #parts: KvCombinerParts;
  #waiting: Waiting[] = [];

  /** A combiner with nothing waiting. */
  constructor(parts: KvCombinerParts) {
    this.#parts = parts;
  }

  /**
   * Appends `items` to `room`: in this tick's combined commit, or on the
   * per-room path when it is larger than {@linkcode COMBINE_ITEMS}.
   */
  append(
    room: string,
    items: readonly NewMessage[],
  ): Promise<StoredMessage[]> {
    if (items.length > COMBINE_ITEMS) {
      return this.#parts.appendRoom(room, items);
    }
    return new Promise((resolve, reject) => {
      this.#waiting.push({ room, items, resolve, reject });
      if (this.#waiting.length === 1) queueMicrotask(() => this.#combine());
    });
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
        this.#parts.appendRoom(w.room, w.items).then(w.resolve, w.reject)
      ),
    );
  }

  /** One atomic commit for several rooms; undefined when it conflicted. */
  async #tryCombined(
    group: Waiting[],
  ): Promise<StoredMessage[][] | undefined> {
    const keys = group.map((w) => key(w.room, "head"));
    const [lease, ...first] = await this.#parts.kv.getMany([
      LEASE_KEY,
      ...keys.slice(0, 9),
    ]);
    const entries: Deno.KvEntryMaybe<unknown>[] = first;
    for (let i = 9; i < keys.length; i += 10) {
      entries.push(...await this.#parts.kv.getMany(keys.slice(i, i + 10)));
    }
    if (!(await this.#parts.leaseFree(lease!))) return undefined;
    const heads = entries.map((entry) =>
      parseHead(entry.value) ?? { epoch: newEpoch(), offset: 0 }
    );
    const trimmed = await Promise.all(group.map((w, i) =>
      readTrimmed(
        this.#parts.kv,
        w.room,
        trimmedOffsets(
          heads[i]!.offset,
          w.items.length,
          this.#parts.limits.maxMessages,
        ),
      )
    ));
    const op = this.#parts.kv.atomic().check(lease!);
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
        { expireIn: this.#parts.headTtlMs() },
      );
      addMessages(op, w.room, messages, this.#parts.limits, trimmed[i]!);
      for (const m of messages) chars += m.frame.length;
      mutations += 1 + mutationsOf(messages, trimmed[i]!);
      return messages;
    });
    // Too large together: each room commits on its own.
    if (chars > BATCH_CHARS || mutations > BATCH_MUTATIONS) return undefined;
    return (await op.commit()).ok ? stored : undefined;
  }
}
