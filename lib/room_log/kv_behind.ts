/**
 * Write-behind room log on Deno KV, for a process that is the database's only
 * writer (one isolate, a local file): offsets are assigned in memory and the
 * message is delivered at once; a background flush commits what accumulated
 * every `flushMs` (one commit for many messages and rooms, instead of one
 * compare-and-set per publish, which costs ~0.3–0.5 ms of CPU each).
 *
 * What it promises:
 * - offsets stay unique and gap-free: the writer lease (`kv_lease.ts`) keeps
 *   every other writer out, and each flush checks the lease is still ours;
 * - a clean stop ({@linkcode KvBehindLog.close}) flushes everything, so a
 *   restart resumes with `recovered: true` under the same epoch;
 * - the backlog (appended, not yet committed) is bounded in messages, bytes
 *   and age (`_backlog.ts`): once the store falls behind, appends are refused
 *   with a retryable {@linkcode LogOverloadedError}, so an unclean stop loses
 *   at most `maxBacklogBytes` of messages, all appended within `maxLagMs` of
 *   the oldest of them (under a store that keeps up: the last `maxLagMs`);
 * - {@linkcode KvBehindLog.committed} tells a durable publisher when its
 *   message is committed;
 * - after an unclean stop, the next opener moves every room this log
 *   appended to (indexed before its first offset was handed out) to a new
 *   epoch, so clients holding lost positions get `recovered: false`, never
 *   other messages under offsets they have seen.
 *
 * Rooms are loaded from the database on first use (head and window) and kept
 * in memory like {@linkcode MemoryLog}; idle rooms are forgotten again.
 *
 * @module
 */

import type { StreamPosition } from "../protocol/mod.ts";
import type { Logger } from "../support/log.ts";
import {
  addMessages,
  parseHead,
  partsOf,
  readMessages,
  roomKey,
} from "./_kv_layout.ts";
import { Backlog } from "./_backlog.ts";
import {
  type HistoryLimits,
  newEpoch,
  type NewMessage,
  type RoomLog,
  type SinceResult,
  type StoredMessage,
} from "./room_log.ts";
import {
  genKey,
  holdLocally,
  LEASE_KEY,
  LeaseHeldError,
  parseLease,
  processIdentity,
  settleLease,
} from "./kv_lease.ts";
import { type MemoryBudgetOptions, MemoryLog } from "./memory.ts";

/** Options for {@linkcode KvBehindLog}. */
export interface KvBehindLogOptions extends HistoryLimits, MemoryBudgetOptions {
  /** Longest a message waits before its flush starts, ms. @default {10} */
  flushMs?: number;
  /** How long the lease holds without renewal, ms (renewed 4× as often). @default {max(5_000, 4 × flushMs)} */
  leaseMs?: number;
  /** How long {@linkcode KvBehindLog.open} waits for another writer's lease to end, ms. @default {0} */
  waitMs?: number;
  /** Most messages waiting for a flush; appends beyond are refused. @default {100_000} */
  maxBacklog?: number;
  /** Most frame bytes (characters) waiting for a flush; appends beyond are refused. @default {8_388_608} */
  maxBacklogBytes?: number;
  /** Appends are refused while the oldest uncommitted message is older than this, ms. @default {250} */
  maxLagMs?: number;
  /** How long a room's head outlives its last message, in ms. @default {86_400_000} */
  metaTtlMs?: number;
  /** Clock, ms since the Unix epoch. @default {Date.now} */
  now?: () => number;
  /** Where flush failures and repairs are reported. */
  log?: Logger;
  /** Hears the counters after each flush. */
  onFlush?: (stats: KvBehindStats) => void;
}

/** Counters of a {@linkcode KvBehindLog}. */
export interface KvBehindStats {
  /** Messages assigned an offset but not yet committed. */
  backlog: number;
  /** Their frame bytes (characters). */
  backlogBytes: number;
  /** Age of the oldest of them, ms (0 when none). */
  lagMs: number;
  /** Commits made by flushes (including lease renewals). */
  commits: number;
  /** Flushes that failed and were retried. */
  failures: number;
  /** True once the lease was lost: appends are refused. */
  fenced: boolean;
}

/** Most mutations per commit (Deno KV allows 1000). */
const MAX_MUTATIONS = 900;
/** Most frame characters per commit (Deno KV allows 800 KiB in total). */
const MAX_CHARS = 200_000;

interface Dirty {
  /** Head to write when no message is (a new room). */
  head: StreamPosition;
  messages: StoredMessage[];
}

/** Room log in Deno KV, written behind an in-memory sequencer. */
export class KvBehindLog implements RoomLog {
  #kv: Deno.Kv;
  #options: KvBehindLogOptions;
  #now: () => number;
  #memory: MemoryLog;
  #owner = crypto.randomUUID();
  #gen = 0;
  #leaseStamp = "";
  #loading = new Map<string, Promise<void>>();
  #dirty = new Map<string, Dirty>();
  /**
   * Per room, the part counts of its chunked messages still in the
   * database's window (ascending offsets): what a trim must delete.
   */
  #chunked = new Map<string, Map<number, number>>();
  /** Rooms whose generation index is written. */
  #indexed = new Set<string>();
  #indexing = new Map<string, Promise<void>>();
  #backlog: Backlog;
  #commits = 0;
  #failures = 0;
  #fenced: Error | undefined;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #renewal: ReturnType<typeof setInterval> | undefined;
  #flushing: Promise<void> | undefined;

  private constructor(kv: Deno.Kv, options: KvBehindLogOptions) {
    this.#kv = kv;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#memory = new MemoryLog({ ...options, now: this.#now });
    this.#backlog = new Backlog({
      maxMessages: options.maxBacklog ?? 100_000,
      maxBytes: options.maxBacklogBytes ?? 8 * 1024 * 1024,
      maxLagMs: options.maxLagMs ?? 250,
      now: this.#now,
    });
  }

  /**
   * Takes the writer lease of `kv` (repairing after an unclean stop first)
   * and returns the log. Throws {@linkcode LeaseHeldError} when another live
   * writer holds it; the caller keeps ownership of `kv` then.
   */
  static async open(
    kv: Deno.Kv,
    options: KvBehindLogOptions,
  ): Promise<KvBehindLog> {
    const log = new KvBehindLog(kv, options);
    await log.#acquire();
    return log;
  }

  /** Counters, for metrics and tests. */
  get stats(): KvBehindStats {
    const backlog = this.#backlog.stats;
    return {
      backlog: backlog.messages,
      backlogBytes: backlog.bytes,
      lagMs: backlog.lagMs,
      commits: this.#commits,
      failures: this.#failures,
      fenced: this.#fenced !== undefined,
    };
  }

  append(room: string, items: readonly NewMessage[]): Promise<StoredMessage[]> {
    const refused = this.#fenced ??
      (this.#closed ? new Error("The room log is closed") : undefined) ??
      this.#backlog.refusal(items.length);
    if (refused !== undefined) return Promise.reject(refused);
    if (!this.#memory.has(room)) {
      return this.#load(room).then(() => this.append(room, items));
    }
    if (!this.#indexed.has(room)) {
      return this.#index(room).then(() => this.append(room, items));
    }
    return this.#memory.append(room, items).then((stored) => {
      const last = stored.at(-1)!;
      this.#markDirty(room, { epoch: last.epoch, offset: last.offset }, stored);
      return stored;
    });
  }

  async head(room: string): Promise<StreamPosition> {
    if (!this.#memory.has(room)) await this.#load(room);
    return this.#memory.head(room);
  }

  async since(room: string, position: StreamPosition): Promise<SinceResult> {
    if (!this.#memory.has(room)) await this.#load(room);
    return this.#memory.since(room, position);
  }

  /**
   * Resolves once everything appended before the call is committed to the
   * database (a durable publish); rejects when the log is fenced, closed
   * or abandoned first.
   */
  committed(): Promise<void> {
    return this.#backlog.committed();
  }

  /** Commits what is pending now (tests; the timer does it otherwise). */
  flush(): Promise<void> {
    if (this.#flushing !== undefined) return this.#flushing;
    this.#flushing = this.#flushOnce().finally(() => {
      this.#flushing = undefined;
      this.#options.onFlush?.(this.stats);
      if (this.#dirty.size > 0) this.#schedule();
    });
    return this.#flushing;
  }

  /**
   * Flushes everything, lets go of the lease (marked clean, so the next
   * opener keeps every epoch) and closes the database.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#renewal);
    try {
      await this.#flushing;
      await this.#flushOnce();
      if (this.#fenced === undefined && this.#dirty.size === 0) {
        await this.#release();
      }
    } catch (error) {
      this.#options.log?.error("Final history flush failed", {
        error: String(error),
        backlog: this.#backlog.stats.messages,
      });
    }
    this.#backlog.fail(this.#fenced ?? new Error("The room log is closed"));
    holdLocally(this.#owner, false);
    this.#kv.close();
  }

  /**
   * Abandons the log as a crash would: no final flush, the lease left to
   * expire (tests of the recovery after an unclean stop).
   */
  abandon(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#renewal);
    this.#backlog.fail(new Error("The room log was abandoned"));
    holdLocally(this.#owner, false);
    this.#kv.close();
  }

  async #acquire(): Promise<void> {
    const metaTtl = this.#metaTtl();
    const deadline = performance.now() + (this.#options.waitMs ?? 0);
    for (let attempt = 0; attempt < 20;) {
      const settled = await settleLease(this.#kv, {
        now: this.#now,
        headTtlMs: metaTtl,
      });
      if (settled.repaired > 0) {
        this.#options.log?.warn(
          "The previous writer stopped without flushing: its rooms start a new epoch",
          { rooms: settled.repaired },
        );
      }
      if (settled.live !== undefined) {
        const left = deadline - performance.now();
        if (left <= 0) throw new LeaseHeldError(settled.live);
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(250, left))
        );
        continue;
      }
      attempt += 1;
      const gen = (parseLease(settled.entry.value)?.gen ?? 0) + 1;
      this.#gen = gen;
      holdLocally(this.#owner, true);
      const result = await this.#kv.atomic().check(settled.entry)
        .set(LEASE_KEY, this.#lease(false)).commit();
      if (result.ok) {
        this.#leaseStamp = result.versionstamp;
        const every = this.#leaseMs() / 4;
        this.#renewal = setInterval(() => this.#tick(), every);
        return;
      }
      holdLocally(this.#owner, false);
    }
    throw new Error(
      "Could not take the Deno KV writer lease: too much contention",
    );
  }

  /**
   * Renewal: a flush commits the lease even when nothing is pending (unless
   * one is already due, which will renew it).
   */
  #tick(): void {
    if (this.#timer !== undefined) return;
    this.flush().then(() => {
      if (this.#dirty.size === 0 && this.#loading.size === 0) {
        for (const room of this.#memory.sweep()) this.#chunked.delete(room);
      }
    });
  }

  #lease(clean: boolean) {
    return {
      owner: this.#owner,
      gen: this.#gen,
      expiresAt: clean ? 0 : this.#now() + this.#leaseMs(),
      clean,
      ...processIdentity(),
    };
  }

  #leaseMs(): number {
    return this.#options.leaseMs ??
      Math.max(5_000, 4 * (this.#options.flushMs ?? 10));
  }

  #metaTtl(): number {
    return Math.max(this.#options.metaTtlMs ?? 86_400_000, this.#options.ttlMs);
  }

  #load(room: string): Promise<void> {
    let loading = this.#loading.get(room);
    if (loading === undefined) {
      loading = this.#read(room).finally(() => this.#loading.delete(room));
      this.#loading.set(room, loading);
    }
    return loading;
  }

  async #read(room: string): Promise<void> {
    const stored = parseHead((await this.#kv.get(roomKey(room, "head"))).value);
    if (this.#memory.has(room)) return;
    if (stored === undefined) {
      const head = { epoch: newEpoch(), offset: 0 };
      this.#memory.seed(room, head, []);
      this.#markDirty(room, head, []); // so the epoch a joiner sees is kept
      return;
    }
    const head = stored;
    const from = Math.max(1, head.offset - this.#options.maxMessages + 1);
    const oldest = this.#now() - this.#options.ttlMs;
    const found = await readMessages(this.#kv, room, head, from, oldest);
    // Keep the contiguous tail ending at the head (the memory log's shape).
    let start = found.length;
    while (
      start > 0 &&
      found[start - 1]!.offset === head.offset - (found.length - start)
    ) {
      start -= 1;
    }
    if (!this.#memory.has(room)) {
      this.#memory.seed(room, head, found.slice(start));
      this.#chunked.delete(room);
      this.#noteChunks(room, found);
    }
  }

  /**
   * Records, before the room's first offset of this generation is handed
   * out, that this generation writes it: after a crash, the next opener
   * finds it and moves it to a new epoch. A plain idempotent write.
   */
  #index(room: string): Promise<void> {
    let indexing = this.#indexing.get(room);
    if (indexing === undefined) {
      indexing = this.#kv.set(genKey(this.#gen, room), true)
        .then(() => void this.#indexed.add(room))
        .finally(() => this.#indexing.delete(room));
      this.#indexing.set(room, indexing);
    }
    return indexing;
  }

  #markDirty(
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
    this.#backlog.add(messages);
    this.#noteChunks(room, messages);
    this.#schedule();
  }

  /** Remembers the part counts of `room`'s chunked `messages`, for the trim. */
  #noteChunks(room: string, messages: readonly StoredMessage[]): void {
    for (const { offset, frame } of messages) {
      const parts = partsOf(frame);
      if (parts === 0) continue;
      let chunked = this.#chunked.get(room);
      if (chunked === undefined) {
        chunked = new Map();
        this.#chunked.set(room, chunked);
      }
      chunked.set(offset, parts);
    }
  }

  /** Forgets the part counts of messages trimmed from `room` up to `head`. */
  #forgetTrimmed(room: string, head: number): void {
    const chunked = this.#chunked.get(room);
    if (chunked === undefined) return;
    for (const offset of chunked.keys()) {
      if (offset > head - this.#options.maxMessages) break;
      chunked.delete(offset);
    }
    if (chunked.size === 0) this.#chunked.delete(room);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#options.flushMs ?? 10);
  }

  /** Commits the pending rooms; on failure puts them back (never rejects). */
  async #flushOnce(): Promise<void> {
    if (this.#fenced !== undefined) return;
    const batch = this.#dirty;
    this.#dirty = new Map();
    this.#backlog.take();
    try {
      await this.#commitBatch(batch);
      this.#backlog.done();
      for (const [room, dirty] of batch) {
        this.#forgetTrimmed(room, dirty.head.offset);
      }
    } catch (error) {
      this.#backlog.failed();
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
        this.#backlog.fail(this.#fenced);
        return;
      }
      this.#failures += 1;
      this.#options.log?.warn("History flush to Deno KV failed; retrying", {
        error: String(error),
        backlog: this.#backlog.stats.messages,
      });
    }
  }

  /** Writes `batch` in as few commits as the KV limits allow. */
  async #commitBatch(batch: Map<string, Dirty>): Promise<void> {
    let op = this.#startOp();
    let mutations = 2;
    let chars = 0;
    const commit = async () => {
      const result = await op.commit();
      if (!result.ok) {
        this.#fenced = new Error(
          "Lost the Deno KV writer lease (another writer took the database): publishing is refused",
        );
        this.#options.log?.error(this.#fenced.message, {
          backlog: this.#backlog.stats.messages,
        });
        throw this.#fenced;
      }
      this.#leaseStamp = result.versionstamp;
      this.#commits += 1;
      op = this.#startOp();
      mutations = 2;
      chars = 0;
    };
    for (const [room, dirty] of batch) {
      let slice: StoredMessage[] = [];
      for (const message of dirty.messages) {
        const old = this.#chunked.get(room)?.get(
          message.offset - this.#options.maxMessages,
        );
        const cost = 2 + partsOf(message.frame) + (old ?? 0);
        const full = mutations + cost + 2 > MAX_MUTATIONS ||
          chars + message.frame.length > MAX_CHARS;
        if (full && (mutations > 2 || slice.length > 0)) {
          if (slice.length > 0) this.#addSlice(op, room, slice);
          slice = [];
          await commit();
        }
        slice.push(message);
        mutations += cost;
        chars += message.frame.length;
      }
      if (slice.length > 0) this.#addSlice(op, room, slice);
      else if (dirty.messages.length === 0) this.#setHead(op, room, dirty.head);
      mutations += 1;
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
      this.#options,
      this.#chunked.get(room) ?? new Map(),
    );
  }

  #setHead(op: Deno.AtomicOperation, room: string, head: StreamPosition) {
    op.set(roomKey(room, "head"), head, { expireIn: this.#metaTtl() });
  }

  /** A commit that holds only if the lease is still ours, and renews it. */
  #startOp(): Deno.AtomicOperation {
    return this.#kv.atomic()
      .check({ key: LEASE_KEY, versionstamp: this.#leaseStamp })
      .set(LEASE_KEY, this.#lease(false));
  }

  /** Deletes this generation's index and marks the lease clean. */
  async #release(): Promise<void> {
    const rooms = [...this.#indexed];
    for (let i = 0; i < rooms.length; i += MAX_MUTATIONS - 2) {
      const op = this.#startOp();
      for (const room of rooms.slice(i, i + MAX_MUTATIONS - 2)) {
        op.delete(genKey(this.#gen, room));
      }
      const result = await op.commit();
      if (!result.ok) return;
      this.#leaseStamp = result.versionstamp;
    }
    await this.#kv.atomic()
      .check({ key: LEASE_KEY, versionstamp: this.#leaseStamp })
      .set(LEASE_KEY, this.#lease(true)).commit();
  }
}
