/**
 * What stands between the events of one isolate and the shared store: the
 * per-connection events (`client_event`, `cache_miss`) are gathered and
 * written in batches, one write in flight at a time (group commit: a Deno
 * KV commit or a Redis script per batch, not per event), and state
 * decisions are written one by one. Both are bounded in this isolate
 * (entries and bytes waiting, decisions in flight): past a bound, or while
 * the store has just answered that it is full, events are dropped and
 * counted without touching the store, so a flood of client events costs a
 * bounded amount of memory and store work.
 *
 * @module
 */

import {
  entrySize,
  type NewEntry,
  type StateChange,
  type WebhookStore,
} from "./store.ts";

/** Most entries in one store write (Deno KV allows 1,000 mutations and 800 KiB per commit). */
export const MAX_BATCH = 500;

/** What a {@linkcode WebhookOutbox} is built from. */
export interface OutboxOptions {
  store: Promise<WebhookStore>;
  /** Most entries waiting here, and most decisions in flight. */
  maxEntries: number;
  /** Most bytes waiting here. */
  maxBytes: number;
  /** After the store answered "full", events are dropped here this long, ms. */
  fullHoldMs: number;
  /** Entries reached the store. */
  onQueued(count: number): void;
  /** Entries were dropped: `queue_full` (here or in the store) or `store` (it failed). */
  onDropped(
    count: number,
    reason: "queue_full" | "store",
    error?: unknown,
  ): void;
  now?: () => number;
}

/** Batches and bounds the writes of one isolate to the webhook store. */
export class WebhookOutbox {
  readonly #options: OutboxOptions;
  readonly #now: () => number;
  #waiting: NewEntry[] = [];
  #sizes: number[] = [];
  #waitingBytes = 0;
  #decisions = 0;
  #fullUntil = -Infinity;
  #flushing: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** An empty outbox. */
  constructor(options: OutboxOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Entries and bytes waiting, decisions in flight. */
  get size(): { entries: number; bytes: number; decisions: number } {
    return {
      entries: this.#waiting.length,
      bytes: this.#waitingBytes,
      decisions: this.#decisions,
    };
  }

  /** Queues `entries` (no state) with the next batch. */
  add(entries: readonly NewEntry[]): void {
    if (this.#closed || entries.length === 0) return;
    if (this.#now() < this.#fullUntil) {
      this.#options.onDropped(entries.length, "queue_full");
      return;
    }
    const sizes = entries.map(entrySize);
    const bytes = sizes.reduce((sum, n) => sum + n, 0);
    if (
      this.#waiting.length + entries.length > this.#options.maxEntries ||
      this.#waitingBytes + bytes > this.#options.maxBytes
    ) {
      this.#options.onDropped(entries.length, "queue_full");
      return;
    }
    this.#waiting.push(...entries);
    this.#sizes.push(...sizes);
    this.#waitingBytes += bytes;
    if (this.#flushing === undefined) {
      this.#timer ??= setTimeout(() => this.#flush(), 0);
    }
  }

  /** Writes a state decision and its entries (see {@linkcode WebhookStore.push}). */
  decide(entries: readonly NewEntry[], state: StateChange): void {
    if (this.#closed) return;
    if (this.#decisions >= this.#options.maxEntries) {
      this.#options.onDropped(entries.length, "queue_full");
      return;
    }
    this.#decisions += 1;
    this.#options.store
      .then((store) => store.push(entries, state))
      .then((result) => this.#settled(result, entries.length), (error) => {
        this.#options.onDropped(entries.length, "store", error);
      })
      .finally(() => {
        this.#decisions -= 1;
      });
  }

  /** Writes what waits, then stops taking events. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    if (this.#waiting.length > 0) await this.#write();
    this.#closed = true;
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#flushing !== undefined || this.#waiting.length === 0) return;
    this.#flushing = this.#write().finally(() => {
      this.#flushing = undefined;
      if (this.#waiting.length > 0 && !this.#closed) {
        this.#timer ??= setTimeout(() => this.#flush(), 0);
      }
    });
  }

  async #write(): Promise<void> {
    const batch = this.#waiting.splice(0, MAX_BATCH);
    for (const size of this.#sizes.splice(0, MAX_BATCH)) {
      this.#waitingBytes -= size;
    }
    try {
      const store = await this.#options.store;
      this.#settled(await store.push(batch), batch.length);
    } catch (error) {
      this.#options.onDropped(batch.length, "store", error);
    }
  }

  #settled(result: "queued" | "full" | "unchanged", count: number): void {
    if (result === "queued" && count > 0) this.#options.onQueued(count);
    else if (result === "full") {
      this.#fullUntil = this.#now() + this.#options.fullHoldMs;
      this.#options.onDropped(count, "queue_full");
    }
  }
}
