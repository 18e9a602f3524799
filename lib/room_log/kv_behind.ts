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
import { Backlog } from "./_backlog.ts";
import { ChunkIndex } from "./_chunk_index.ts";
import { KvBehindFlusher } from "./_kv_behind_flusher.ts";
import { KvBehindLease } from "./_kv_behind_lease.ts";
import { KvBehindRooms } from "./_kv_behind_rooms.ts";
import type {
  HistoryLimits,
  NewMessage,
  RoomLog,
  SinceResult,
  StoredMessage,
} from "./room_log.ts";
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
  /** Appends are refused while the oldest uncommitted message is older than this, ms. @default {1000} */
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

/** Room log in Deno KV, written behind an in-memory sequencer. */
export class KvBehindLog implements RoomLog {
  #kv: Deno.Kv;
  #options: KvBehindLogOptions;
  #now: () => number;
  #memory: MemoryLog;
  #lease: KvBehindLease;
  /** Part counts of chunked messages still in the database's window: what a trim must delete. */
  #chunks = new ChunkIndex();
  #backlog: Backlog;
  #flusher: KvBehindFlusher;
  #rooms: KvBehindRooms;
  #closed = false;
  #renewal: ReturnType<typeof setInterval> | undefined;

  private constructor(kv: Deno.Kv, options: KvBehindLogOptions) {
    this.#kv = kv;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#memory = new MemoryLog({ ...options, now: this.#now });
    this.#backlog = new Backlog({
      maxMessages: options.maxBacklog ?? 100_000,
      maxBytes: options.maxBacklogBytes ?? 8 * 1024 * 1024,
      maxLagMs: options.maxLagMs ?? 1000,
      now: this.#now,
    });
    const headTtlMs = Math.max(options.metaTtlMs ?? 86_400_000, options.ttlMs);
    this.#lease = new KvBehindLease(kv, {
      now: this.#now,
      leaseMs: this.#leaseMs(),
      headTtlMs,
      waitMs: options.waitMs ?? 0,
      log: options.log,
    });
    this.#flusher = new KvBehindFlusher({
      kv,
      lease: this.#lease,
      backlog: this.#backlog,
      chunks: this.#chunks,
      limits: options,
      headTtlMs,
      flushMs: options.flushMs ?? 10,
      log: options.log,
      onFlush: () => this.#options.onFlush?.(this.stats),
    });
    this.#rooms = new KvBehindRooms({
      kv,
      memory: this.#memory,
      lease: this.#lease,
      flusher: this.#flusher,
      chunks: this.#chunks,
      limits: options,
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
    await log.#lease.acquire();
    log.#renewal = setInterval(() => log.#tick(), log.#leaseMs() / 4);
    return log;
  }

  /** Counters, for metrics and tests. */
  get stats(): KvBehindStats {
    const backlog = this.#backlog.stats;
    return {
      backlog: backlog.messages,
      backlogBytes: backlog.bytes,
      lagMs: backlog.lagMs,
      commits: this.#flusher.commits,
      failures: this.#flusher.failures,
      fenced: this.#flusher.fenced !== undefined,
    };
  }

  append(room: string, items: readonly NewMessage[]): Promise<StoredMessage[]> {
    const refused = this.#flusher.fenced ??
      (this.#closed ? new Error("The room log is closed") : undefined) ??
      this.#backlog.refusal(items.length);
    if (refused !== undefined) return Promise.reject(refused);
    if (!this.#memory.has(room)) {
      return this.#rooms.load(room).then(() => this.append(room, items));
    }
    if (!this.#rooms.isIndexed(room)) {
      return this.#rooms.index(room).then(() => this.append(room, items));
    }
    return this.#memory.append(room, items).then((stored) => {
      const last = stored.at(-1)!;
      this.#flusher.mark(
        room,
        { epoch: last.epoch, offset: last.offset },
        stored,
      );
      return stored;
    });
  }

  async head(room: string): Promise<StreamPosition> {
    if (!this.#memory.has(room)) await this.#rooms.load(room);
    return this.#memory.head(room);
  }

  async since(room: string, position: StreamPosition): Promise<SinceResult> {
    if (!this.#memory.has(room)) await this.#rooms.load(room);
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

  /**
   * Drops `room`'s history at once in memory, up to its head now, and in the
   * next flush on disk (which starts at once): pending messages up to that
   * head are never written, committed ones are deleted with their parts.
   * Appends made meanwhile (after that head) are kept. Resolves, with how
   * many messages went, once the disk agrees; rejects when the log is
   * fenced or closed first (a fenced writer writes nothing).
   */
  async dropHistory(room: string): Promise<number> {
    const refused = this.#flusher.fenced ??
      (this.#closed ? new Error("The room log is closed") : undefined);
    if (refused !== undefined) throw refused;
    if (!this.#memory.has(room)) await this.#rooms.load(room);
    // Both calls act before they return: no append comes between them.
    const head = this.#memory.head(room);
    const inMemory = this.#memory.dropHistory(room);
    const onDisk = this.#flusher.drop(room, (await head).offset);
    return Math.max(await inMemory, await onDisk);
  }

  /** Commits what is pending now (tests; the timer does it otherwise). */
  flush(): Promise<void> {
    return this.#flusher.flush();
  }

  /**
   * Flushes everything, lets go of the lease (marked clean, so the next
   * opener keeps every epoch) and closes the database.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#flusher.halt();
    clearInterval(this.#renewal);
    try {
      await this.#flusher.final();
      if (this.#flusher.fenced === undefined && this.#flusher.pending === 0) {
        await this.#lease.release(this.#rooms.indexed());
      }
    } catch (error) {
      this.#options.log?.error("Final history flush failed", {
        error: String(error),
        backlog: this.#backlog.stats.messages,
      });
    }
    const closed = this.#flusher.fenced ?? new Error("The room log is closed");
    this.#backlog.fail(closed);
    this.#flusher.abort(closed);
    this.#lease.letGo();
    this.#kv.close();
  }

  /**
   * Abandons the log as a crash would: no final flush, the lease left to
   * expire (tests of the recovery after an unclean stop).
   */
  abandon(): void {
    this.#closed = true;
    this.#flusher.halt();
    clearInterval(this.#renewal);
    this.#backlog.fail(new Error("The room log was abandoned"));
    this.#flusher.abort(new Error("The room log was abandoned"));
    this.#lease.letGo();
    this.#kv.close();
  }

  /**
   * Renewal: a flush commits the lease even when nothing is pending (unless
   * one is already due, which will renew it).
   */
  #tick(): void {
    if (this.#flusher.due) return;
    this.flush().then(() => {
      if (this.#flusher.pending === 0 && !this.#rooms.loading) {
        for (const room of this.#memory.sweep()) this.#chunks.delete(room);
      }
    });
  }

  #leaseMs(): number {
    return this.#options.leaseMs ??
      Math.max(5_000, 4 * (this.#options.flushMs ?? 10));
  }
}
