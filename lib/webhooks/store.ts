/**
 * Where queued webhooks and the announced state live: the interface every
 * store implements, the entry format, and the in-memory store (one isolate,
 * volatile). The Deno KV store (`kv_store.ts`) and the Redis store
 * (`redis_store.ts`) keep the same contract across isolates, processes and
 * restarts.
 *
 * The announced state is what makes an event once per deployment: every
 * isolate and node that sees a channel become occupied asks the store to set
 * `occupied:<channel>`; only the one whose request changed the stored value
 * queues `channel_occupied`, in the same atomic step.
 *
 * @module
 */

import { isRecord } from "../protocol/mod.ts";
import { parseEvent, type WebhookEvent } from "./events.ts";

/** One event queued for one URL. */
export interface QueueEntry {
  /** Store-assigned; ids sort in queue order. */
  id: string;
  appId: string;
  url: string;
  event: WebhookEvent;
  /** When the event happened (ms since the Unix epoch): it is dropped `retryMs` after. */
  at: number;
  /** Failed deliveries so far. */
  attempts: number;
  /** Not sent before this time (ms since the Unix epoch). */
  due: number;
  /** Bytes it counts for against the queue's bound (its JSON text, measured once). */
  size: number;
}

/** An entry to queue (the store assigns `id`). */
export type NewEntry = Omit<QueueEntry, "id" | "size" | "attempts" | "due">;

/** A change of the announced state: `value` null deletes the key. */
export interface StateChange {
  key: string;
  value: string | null;
}

/**
 * What {@linkcode WebhookStore.push} did: `queued`, `full` (the state
 * changed but the entries did not fit: dropped, the caller counts them) or
 * `unchanged` (another isolate or node announced it already: nothing queued).
 */
export type PushResult = "queued" | "full" | "unchanged";

/** How much the queue holds. */
export interface QueueDepth {
  count: number;
  bytes: number;
}

/** Bounds every store enforces. */
export interface StoreLimits {
  /** Most entries queued. */
  maxEntries: number;
  /** Most bytes queued (sum of entry sizes). */
  maxBytes: number;
  /** A state key not rewritten this long expires, ms. */
  stateTtlMs: number;
}

/** A queue of webhook entries, the announced state, and the sender's lease. */
export interface WebhookStore {
  /**
   * Queues `entries` if they fit. With `state`: only when the stored value
   * differs from `state.value`, which is then stored in the same atomic step.
   */
  push(entries: readonly NewEntry[], state?: StateChange): Promise<PushResult>;
  /** Takes or renews the one sender's lease for `owner`; false when another holds it. */
  lease(owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `owner` holds it. */
  release(owner: string): Promise<void>;
  /** Entries due at `now`, in queue order, at most `limit`; and the earliest later due time. */
  due(
    now: number,
    limit: number,
  ): Promise<{ entries: QueueEntry[]; next?: number }>;
  /** Removes sent or dropped entries. */
  remove(entries: readonly QueueEntry[]): Promise<void>;
  /** Stores new `attempts` and `due` of entries that stay queued. */
  reschedule(entries: readonly QueueEntry[]): Promise<void>;
  /** What the queue holds now. */
  depth(): Promise<QueueDepth>;
  /** Releases the store's resources. */
  close(): Promise<void>;
}

/** The JSON an entry is stored as (its id is the key). */
export function encodeEntry(entry: Omit<QueueEntry, "id" | "size">): string {
  const { appId, url, event, at, attempts, due } = entry;
  return JSON.stringify({ appId, url, event, at, attempts, due });
}

/** The stored size of a new entry: its JSON text's length plus a margin for attempts and due. */
export function entrySize(entry: NewEntry): number {
  return encodeEntry({ ...entry, attempts: 0, due: entry.at }).length + 16;
}

/** Reads a stored entry; undefined when the text is not one (dropped by the caller). */
export function decodeEntry(
  id: string,
  text: string,
  size: number,
): QueueEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { appId, url, at, attempts, due } = value;
  const event = parseEvent(value.event);
  const num = (n: unknown): n is number =>
    typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
  if (
    typeof appId !== "string" || typeof url !== "string" ||
    event === undefined || !num(at) || !num(attempts) || !num(due)
  ) return undefined;
  return { id, appId, url, event, at, attempts, due, size };
}

/** The store of one isolate: nothing survives a restart (`HISTORY=memory`). */
export class MemoryStore implements WebhookStore {
  readonly #limits: StoreLimits;
  readonly #now: () => number;
  readonly #entries = new Map<string, QueueEntry>();
  readonly #state = new Map<string, { value: string; until: number }>();
  #bytes = 0;
  #next = 0;
  #lease: { owner: string; until: number } | undefined;

  /** An empty store with `limits`. */
  constructor(limits: StoreLimits, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  /** Queues `entries` (see {@linkcode WebhookStore.push}). */
  push(entries: readonly NewEntry[], state?: StateChange): Promise<PushResult> {
    if (state !== undefined) {
      const now = this.#now();
      const known = this.#state.get(state.key);
      const current = known !== undefined && known.until > now
        ? known.value
        : null;
      if (current === state.value) {
        if (known !== undefined && state.value !== null) {
          known.until = now + this.#limits.stateTtlMs;
        }
        return Promise.resolve("unchanged");
      }
      if (state.value === null) this.#state.delete(state.key);
      else {
        this.#state.set(state.key, {
          value: state.value,
          until: now + this.#limits.stateTtlMs,
        });
      }
      this.#sweepState(now);
    }
    const sizes = entries.map(entrySize);
    const bytes = sizes.reduce((a, b) => a + b, 0);
    if (
      this.#entries.size + entries.length > this.#limits.maxEntries ||
      this.#bytes + bytes > this.#limits.maxBytes
    ) return Promise.resolve("full");
    entries.forEach((entry, i) => {
      const id = String(++this.#next).padStart(16, "0");
      this.#entries.set(id, {
        ...entry,
        id,
        attempts: 0,
        due: entry.at,
        size: sizes[i]!,
      });
    });
    this.#bytes += bytes;
    return Promise.resolve("queued");
  }

  /** Takes or renews the lease. */
  lease(owner: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    if (
      this.#lease !== undefined && this.#lease.owner !== owner &&
      this.#lease.until > now
    ) return Promise.resolve(false);
    this.#lease = { owner, until: now + ttlMs };
    return Promise.resolve(true);
  }

  /** Gives the lease up. */
  release(owner: string): Promise<void> {
    if (this.#lease?.owner === owner) this.#lease = undefined;
    return Promise.resolve();
  }

  /** Due entries, oldest first. */
  due(
    now: number,
    limit: number,
  ): Promise<{ entries: QueueEntry[]; next?: number }> {
    const entries: QueueEntry[] = [];
    let next: number | undefined;
    for (const entry of this.#entries.values()) {
      if (entry.due <= now) {
        if (entries.length < limit) entries.push({ ...entry });
      } else if (next === undefined || entry.due < next) next = entry.due;
    }
    return Promise.resolve(
      next === undefined ? { entries } : { entries, next },
    );
  }

  /** Removes entries. */
  remove(entries: readonly QueueEntry[]): Promise<void> {
    for (const { id } of entries) {
      const known = this.#entries.get(id);
      if (known === undefined) continue;
      this.#entries.delete(id);
      this.#bytes -= known.size;
    }
    return Promise.resolve();
  }

  /** Stores new attempts and due times. */
  reschedule(entries: readonly QueueEntry[]): Promise<void> {
    for (const entry of entries) {
      const known = this.#entries.get(entry.id);
      if (known === undefined) continue;
      known.attempts = entry.attempts;
      known.due = entry.due;
    }
    return Promise.resolve();
  }

  /** What the queue holds. */
  depth(): Promise<QueueDepth> {
    return Promise.resolve({ count: this.#entries.size, bytes: this.#bytes });
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Expired state keys go once the table is larger than the queue bound. */
  #sweepState(now: number): void {
    if (this.#state.size <= this.#limits.maxEntries) return;
    for (const [key, known] of this.#state) {
      if (known.until <= now) this.#state.delete(key);
    }
  }
}
