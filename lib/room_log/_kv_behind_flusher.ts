/**
 * The write-behind log's flush (internal): the rooms appended to since the
 * last commit, the timer that flushes them within `flushMs`, and the plan
 * that writes them, for all rooms, in as few commits as Deno KV's limits
 * allow, each checking and renewing the writer lease. A failed flush puts
 * its rooms back and is retried; a commit that finds the lease taken fences
 * the log. A room's history is dropped by the next flush too (`drop`): its
 * pending messages up to the drop are never written, those on disk deleted.
 *
 * @module
 */

import type { StreamPosition } from "../protocol/mod.ts";
import type { Logger } from "../support/log.ts";
import {
  addMessages,
  BATCH_KEY_BYTES,
  keyBytesOf,
  partsOf,
  roomKey,
} from "./_kv_layout.ts";
import { deleteDropped, DropQueue, unwritten } from "./_kv_drop.ts";
import type { Backlog } from "./_backlog.ts";
import type { ChunkIndex } from "./_chunk_index.ts";
import type { KvBehindLease } from "./_kv_behind_lease.ts";
import type { HistoryLimits, StoredMessage } from "./room_log.ts";

/** Most mutations per commit (Deno KV allows 1000). */
const MAX_MUTATIONS = 900;
/** Most frame characters per commit (Deno KV allows 800 KiB in total). */
const MAX_CHARS = 200_000;

interface Dirty {
  /** Head to write when no message is (a new room). */
  head: StreamPosition;
  messages: StoredMessage[];
}

/** What a {@linkcode KvBehindFlusher} works with. */
export interface KvBehindFlusherParts {
  kv: Deno.Kv;
  lease: KvBehindLease;
  backlog: Backlog;
  chunks: ChunkIndex;
  /** The room window (`maxMessages`) and message expiry (`ttlMs`). */
  limits: HistoryLimits;
  /** Expiry of a room's head, ms. */
  headTtlMs: number;
  /** Longest a message waits before its flush starts, ms. */
  flushMs: number;
  /** Where flush failures and the fencing are reported. */
  log?: Logger | undefined;
  /** Called after each flush. */
  onFlush(): void;
}

/** Commits what a write-behind log appended. */
export class KvBehindFlusher {
  readonly #parts: KvBehindFlusherParts;
  #dirty = new Map<string, Dirty>();
  #drops = new DropQueue();
  /** Whether the last flush failed (a drop then waits for the timer). */
  #failing = false;
  #commits = 0;
  #failures = 0;
  #fenced: Error | undefined;
  #halted = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | undefined;

  /** A flusher with nothing pending. */
  constructor(parts: KvBehindFlusherParts) {
    this.#parts = parts;
  }

  /** Commits made by flushes (including lease renewals). */
  get commits(): number {
    return this.#commits;
  }

  /** Flushes that failed and were retried. */
  get failures(): number {
    return this.#failures;
  }

  /** Set once the lease was lost: the error appends are refused with. */
  get fenced(): Error | undefined {
    return this.#fenced;
  }

  /** Rooms waiting for a flush (of messages or of a drop). */
  get pending(): number {
    return this.#dirty.size + this.#drops.size;
  }

  /** Whether a flush is scheduled. */
  get due(): boolean {
    return this.#timer !== undefined;
  }

  /** Records `messages` (and the head) of `room` for the next flush. */
  mark(
    room: string,
    head: StreamPosition,
    messages: readonly StoredMessage[],
  ): void {
    const dirty = this.#dirty.get(room);
    if (dirty === undefined) {
      this.#dirty.set(room, { head, messages: [...messages] });
    } else {
      dirty.head = head;
      dirty.messages.push(...messages);
    }
    this.#parts.backlog.add(messages);
    this.#parts.chunks.note(room, messages);
    this.#schedule();
  }

  /**
   * Drops `room`'s history up to `upTo` in the next flush, which starts at
   * once: its messages still pending are never written, those committed are
   * deleted, parts included, and their part counts forgotten (the head is
   * left alone). Resolves with how many messages went; rejects when the log
   * is fenced or closes first.
   */
  drop(room: string, upTo: number): Promise<number> {
    if (this.#fenced !== undefined) return Promise.reject(this.#fenced);
    const dropped = this.#drops.add(room, upTo);
    if (this.#flushing === undefined) this.flush();
    return dropped;
  }

  /** Fails every drop still waiting (the log closed or was abandoned). */
  abort(error: Error): void {
    this.#drops.fail(error);
  }

  /** Commits what is pending now (one flush at a time). */
  flush(): Promise<void> {
    if (this.#flushing !== undefined) return this.#flushing;
    this.#flushing = this.#flushOnce().finally(() => {
      this.#flushing = undefined;
      this.#parts.onFlush();
      // A drop queued during a flush that went well goes at once.
      if (this.#drops.size > 0 && !this.#failing && !this.#halted) this.flush();
      else if (this.pending > 0) this.#schedule();
    });
    return this.#flushing;
  }

  /** Stops the timer for good (the log is closing or abandoned). */
  halt(): void {
    this.#halted = true;
    clearTimeout(this.#timer);
  }

  /** Waits for a flush in progress, then commits what is left (at close). */
  async final(): Promise<void> {
    await this.#flushing;
    await this.#flushOnce();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#halted) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#parts.flushMs);
  }

  /** Commits the pending rooms; on failure puts them back (never rejects). */
  async #flushOnce(): Promise<void> {
    if (this.#fenced !== undefined) return;
    const { backlog, chunks, limits } = this.#parts;
    const batch = this.#dirty;
    this.#dirty = new Map();
    const drops = this.#drops.take();
    backlog.take();
    try {
      unwritten(batch, drops);
      // Committed messages of the drops go first, each commit holding the lease.
      await deleteDropped(this.#parts.kv, drops, (keys) => {
        const op = this.#parts.lease.op();
        for (const key of keys) op.delete(key);
        return this.#commit(op);
      });
      await this.#commitBatch(batch);
      backlog.done();
      this.#failing = false;
      for (const [room, dirty] of batch) {
        chunks.forgetTrimmed(room, dirty.head.offset, limits.maxMessages);
      }
      for (const [room, drop] of drops) {
        chunks.forgetTrimmed(room, drop.upTo, 0);
      }
      this.#drops.settle(drops);
    } catch (error) {
      backlog.failed();
      this.#failing = true;
      this.#drops.putBack(drops);
      // Put the batch back in front of what arrived meanwhile, and retry.
      for (const [room, newer] of this.#dirty) {
        const older = batch.get(room);
        batch.set(room, {
          head: newer.head,
          messages: [...(older?.messages ?? []), ...newer.messages],
        });
      }
      this.#dirty = batch;
      if (this.#fenced !== undefined) {
        backlog.fail(this.#fenced);
        this.#drops.fail(this.#fenced);
        return;
      }
      this.#failures += 1;
      this.#parts.log?.warn("History flush to Deno KV failed; retrying", {
        error: String(error),
        backlog: backlog.stats.messages,
      });
    }
  }

  /** Commits `op` (started with `lease.op()`); fences the log when the lease was taken. */
  async #commit(op: Deno.AtomicOperation): Promise<void> {
    const result = await op.commit();
    if (!result.ok) {
      this.#fenced = new Error(
        "Lost the Deno KV writer lease (another writer took the database): publishing is refused",
      );
      this.#parts.log?.error(this.#fenced.message, {
        backlog: this.#parts.backlog.stats.messages,
      });
      throw this.#fenced;
    }
    this.#parts.lease.renewed(result.versionstamp);
    this.#commits += 1;
  }

  /** Writes `batch` in as few commits as the KV limits allow. */
  async #commitBatch(batch: Map<string, Dirty>): Promise<void> {
    const { lease, chunks, limits } = this.#parts;
    let op = lease.op();
    let mutations = 2;
    let chars = 0;
    // Key bytes too: KV caps the keys of one commit, and room names are long.
    let keyBytes = 0;
    const commit = async () => {
      await this.#commit(op);
      op = lease.op();
      mutations = 2;
      chars = 0;
      keyBytes = 0;
    };
    for (const [room, dirty] of batch) {
      const perKey = keyBytesOf(room);
      let slice: StoredMessage[] = [];
      for (const message of dirty.messages) {
        const old = chunks.parts(room, message.offset - limits.maxMessages);
        const cost = 2 + partsOf(message.frame) + (old ?? 0);
        const full = mutations + cost + 2 > MAX_MUTATIONS ||
          chars + message.frame.length > MAX_CHARS ||
          keyBytes + (cost + 2) * perKey > BATCH_KEY_BYTES;
        if (full && (mutations > 2 || slice.length > 0)) {
          if (slice.length > 0) this.#addSlice(op, room, slice);
          slice = [];
          await commit();
        }
        slice.push(message);
        mutations += cost;
        chars += message.frame.length;
        keyBytes += cost * perKey;
      }
      if (slice.length > 0) this.#addSlice(op, room, slice);
      else if (dirty.messages.length === 0) this.#setHead(op, room, dirty.head);
      mutations += 1;
      keyBytes += perKey;
    }
    await commit(); // also renews the lease when the batch was empty
  }

  /** Adds a room's messages and its head (the last of them) to `op`. */
  #addSlice(
    op: Deno.AtomicOperation,
    room: string,
    slice: StoredMessage[],
  ): void {
    const last = slice.at(-1)!;
    this.#setHead(op, room, { epoch: last.epoch, offset: last.offset });
    addMessages(
      op,
      room,
      slice,
      this.#parts.limits,
      this.#parts.chunks.of(room),
    );
  }

  #setHead(op: Deno.AtomicOperation, room: string, head: StreamPosition) {
    op.set(roomKey(room, "head"), head, { expireIn: this.#parts.headTtlMs });
  }
}
