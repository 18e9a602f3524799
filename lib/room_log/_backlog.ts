/**
 * The bounded backlog of a write-behind log: what was appended (delivered,
 * acknowledged) but is not committed yet. It is bounded in messages, in
 * bytes and in age, so what a crash can lose stays within the documented
 * window under any load: once a bound is reached, appends are refused with
 * a retryable {@linkcode LogOverloadedError} until the flush catches up. It
 * also tells durable publishers when their message was committed.
 *
 * One flush at a time: {@linkcode Backlog.take} when a flush takes every
 * pending message, then {@linkcode Backlog.done} or {@linkcode Backlog.failed}.
 *
 * @module
 */

import { LogOverloadedError, type StoredMessage } from "./room_log.ts";

/** The bounds of a {@linkcode Backlog}. */
export interface BacklogLimits {
  /** Most messages not yet committed. */
  maxMessages: number;
  /** Most frame bytes (characters) not yet committed. */
  maxBytes: number;
  /** Appends are refused once the oldest uncommitted message is older, ms. */
  maxLagMs: number;
  /** Clock, ms. */
  now: () => number;
}

/** What a {@linkcode Backlog} holds now. */
export interface BacklogStats {
  /** Messages not yet committed. */
  messages: number;
  /** Their frame bytes (characters). */
  bytes: number;
  /** Age of the oldest of them, ms (0 when none). */
  lagMs: number;
}

interface Sync {
  /** Resolved once every message up to this sequence number is committed. */
  upTo: number;
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

/** Counts, ages and bounds what a write-behind log has not committed. */
export class Backlog {
  #limits: BacklogLimits;
  #messages = 0;
  #bytes = 0;
  /** Oldest append time among messages no flush has taken. */
  #pendingSince: number | undefined;
  /** Oldest append time among messages of the flush in progress. */
  #flushingSince: number | undefined;
  #flushingMessages = 0;
  #flushingBytes = 0;
  #flushingUpTo = 0;
  /** Sequence number of the last appended and of the last committed message. */
  #appended = 0;
  #committed = 0;
  /** Waiting durable publishers, ascending by `upTo` (one per sequence number). */
  #syncs: Sync[] = [];
  #failure: Error | undefined;

  /** An empty backlog with these bounds. */
  constructor(limits: BacklogLimits) {
    this.#limits = limits;
  }

  /** Current counts. */
  get stats(): BacklogStats {
    const oldest = this.#flushingSince ?? this.#pendingSince;
    return {
      messages: this.#messages,
      bytes: this.#bytes,
      lagMs: oldest === undefined ? 0 : this.#limits.now() - oldest,
    };
  }

  /**
   * Why an append of `count` messages must be refused now, if so: the
   * backlog would hold too many messages, already holds `maxBytes` (so it
   * passes the bound by one append at most), or its oldest message waited
   * longer than `maxLagMs`.
   */
  refusal(count: number): LogOverloadedError | undefined {
    const { maxMessages, maxBytes, maxLagMs } = this.#limits;
    const behind = `not yet committed to the store: retry shortly`;
    if (this.#messages + count > maxMessages) {
      return new LogOverloadedError(
        "backlog_count",
        `History backlog full: ${this.#messages} messages ${behind}`,
        maxLagMs,
      );
    }
    if (this.#messages > 0 && this.#bytes >= maxBytes) {
      return new LogOverloadedError(
        "backlog_bytes",
        `History backlog full: ${this.#bytes} bytes ${behind}`,
        maxLagMs,
      );
    }
    const { lagMs } = this.stats;
    if (this.#messages > 0 && lagMs > maxLagMs) {
      return new LogOverloadedError(
        "backlog_age",
        `History store ${lagMs} ms behind (at most ${maxLagMs}): messages ${behind}`,
        maxLagMs,
      );
    }
    return undefined;
  }

  /** Counts appended `messages` (delivered from now on, not yet committed). */
  add(messages: readonly StoredMessage[]): void {
    if (messages.length === 0) return;
    this.#messages += messages.length;
    for (const m of messages) this.#bytes += m.frame.length;
    this.#appended += messages.length;
    this.#pendingSince ??= this.#limits.now();
  }

  /** A flush takes every pending message. */
  take(): void {
    this.#flushingSince = this.#pendingSince;
    this.#pendingSince = undefined;
    this.#flushingMessages = this.#messages;
    this.#flushingBytes = this.#bytes;
    this.#flushingUpTo = this.#appended;
  }

  /** The flush committed what it took: durable publishers waiting for it hear it. */
  done(): void {
    this.#messages -= this.#flushingMessages;
    this.#bytes -= this.#flushingBytes;
    this.#committed = this.#flushingUpTo;
    this.#flushingSince = undefined;
    this.#flushingMessages = 0;
    this.#flushingBytes = 0;
    while (this.#syncs[0] !== undefined) {
      if (this.#syncs[0].upTo > this.#committed) break;
      this.#syncs.shift()!.resolve();
    }
  }

  /** The flush failed: what it took is pending again (and keeps its age). */
  failed(): void {
    const since = this.#flushingSince;
    if (since !== undefined) {
      this.#pendingSince = Math.min(since, this.#pendingSince ?? since);
    }
    this.#flushingSince = undefined;
    this.#flushingMessages = 0;
    this.#flushingBytes = 0;
  }

  /**
   * Resolves once every message appended so far is committed; rejects when
   * {@linkcode Backlog.fail} comes first.
   */
  committed(): Promise<void> {
    if (this.#appended <= this.#committed) return Promise.resolve();
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const last = this.#syncs.at(-1);
    if (last?.upTo === this.#appended) return last.promise;
    let resolve = () => {};
    let reject = (_: Error) => {};
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#syncs.push({ upTo: this.#appended, promise, resolve, reject });
    return promise;
  }

  /** Nothing more will be committed: every waiting durable publisher fails with `error`. */
  fail(error: Error): void {
    this.#failure = error;
    for (const sync of this.#syncs.splice(0)) sync.reject(error);
  }
}
