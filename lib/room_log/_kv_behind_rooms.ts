/**
 * The write-behind log's rooms (internal): loading a room from the database
 * on first use (its head and window, into the memory log), and recording in
 * the generation index that this generation writes it, before its first
 * offset is handed out.
 *
 * @module
 */

import { parseHead, readMessages, roomKey } from "./_kv_layout.ts";
import type { ChunkIndex } from "./_chunk_index.ts";
import type { KvBehindFlusher } from "./_kv_behind_flusher.ts";
import type { KvBehindLease } from "./_kv_behind_lease.ts";
import { type HistoryLimits, newEpoch } from "./room_log.ts";
import { genKey } from "./kv_lease.ts";
import type { MemoryLog } from "./memory.ts";

/** What a {@linkcode KvBehindRooms} works with. */
export interface KvBehindRoomsParts {
  kv: Deno.Kv;
  memory: MemoryLog;
  lease: KvBehindLease;
  flusher: KvBehindFlusher;
  chunks: ChunkIndex;
  /** The room window (`maxMessages`) and message expiry (`ttlMs`). */
  limits: HistoryLimits;
  /** Clock, ms since the Unix epoch. */
  now: () => number;
}

/** Loads and indexes the rooms of a write-behind log. */
export class KvBehindRooms {
  readonly #parts: KvBehindRoomsParts;
  #loading = new Map<string, Promise<void>>();
  /** Rooms whose generation index is written. */
  #indexed = new Set<string>();
  #indexing = new Map<string, Promise<void>>();

  /** Works with `parts`, which it shares with the log. */
  constructor(parts: KvBehindRoomsParts) {
    this.#parts = parts;
  }

  /** Whether a room is being loaded now. */
  get loading(): boolean {
    return this.#loading.size > 0;
  }

  /** Whether `room`'s generation index is written. */
  isIndexed(room: string): boolean {
    return this.#indexed.has(room);
  }

  /** The rooms whose generation index is written. */
  indexed(): string[] {
    return [...this.#indexed];
  }

  /** Loads `room` into the memory log (once, however many callers wait). */
  load(room: string): Promise<void> {
    let loading = this.#loading.get(room);
    if (loading === undefined) {
      loading = this.#read(room).finally(() => this.#loading.delete(room));
      this.#loading.set(room, loading);
    }
    return loading;
  }

  /**
   * Records, before the room's first offset of this generation is handed
   * out, that this generation writes it: after a crash, the next opener
   * finds it and moves it to a new epoch. A plain idempotent write.
   */
  index(room: string): Promise<void> {
    let indexing = this.#indexing.get(room);
    if (indexing === undefined) {
      indexing = this.#parts.kv.set(genKey(this.#parts.lease.gen, room), true)
        .then(() => void this.#indexed.add(room))
        .finally(() => this.#indexing.delete(room));
      this.#indexing.set(room, indexing);
    }
    return indexing;
  }

  async #read(room: string): Promise<void> {
    const { kv, memory, flusher, chunks, limits } = this.#parts;
    const stored = parseHead((await kv.get(roomKey(room, "head"))).value);
    if (memory.has(room)) return;
    if (stored === undefined) {
      const head = { epoch: newEpoch(), offset: 0 };
      memory.seed(room, head, []);
      flusher.mark(room, head, []); // so the epoch a joiner sees is kept
      return;
    }
    const head = stored;
    const from = Math.max(1, head.offset - limits.maxMessages + 1);
    const oldest = this.#parts.now() - limits.ttlMs;
    const found = await readMessages(kv, room, head, from, oldest);
    // Keep the contiguous tail ending at the head (the memory log's shape).
    let start = found.length;
    while (
      start > 0 &&
      found[start - 1]!.offset === head.offset - (found.length - start)
    ) {
      start -= 1;
    }
    if (!memory.has(room)) {
      memory.seed(room, head, found.slice(start));
      chunks.delete(room);
      chunks.note(room, found);
    }
  }
}
