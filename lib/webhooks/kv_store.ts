/**
 * The webhook store in Deno KV (`HISTORY=kv`: the `./data` file, shared by
 * the isolates of `--parallel` and by processes with
 * `HISTORY_WRITE=through`; the platform's KV on Deno Deploy). Queued
 * entries survive a restart. Layout under `["roomcast","webhooks"]`:
 * `q/<id>` an entry (ids sort in queue order), `n` and `b` the entry count
 * and bytes, `s/<key>` the announced state (expiring after `stateTtlMs`),
 * `lease` the sender's lease. Each push checks the count, the bytes and the
 * state key it changes in one atomic commit, retried on conflict.
 *
 * @module
 */

import {
  decodeEntry,
  encodeEntry,
  entrySize,
  type NewEntry,
  type PushResult,
  type QueueDepth,
  type QueueEntry,
  type StateChange,
  type StoreLimits,
  type WebhookStore,
} from "./store.ts";

const ROOT = ["roomcast", "webhooks"] as const;
const COUNT = [...ROOT, "n"];
const BYTES = [...ROOT, "b"];
const LEASE = [...ROOT, "lease"];
const QUEUE = [...ROOT, "q"];
const STATE = [...ROOT, "s"];
const ATTEMPTS = 32;

/**
 * Runs `fn` again while SQLite answers "database is locked" (another handle
 * of this process, e.g. another Worker or the history's writer, is writing).
 */
async function unlocked<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 100 || !String(error).includes("database is locked")) {
        throw error;
      }
      await new Promise((r) => setTimeout(r, 1 + Math.random() * 10));
    }
  }
}

function u64(entry: Deno.KvEntryMaybe<unknown>): number {
  return entry.value instanceof Deno.KvU64 ? Number(entry.value.value) : 0;
}

/** Stores webhooks in a Deno KV database (which the caller opened and this store closes). */
export class KvStore implements WebhookStore {
  readonly #kv: Deno.Kv;
  readonly #limits: StoreLimits;
  readonly #now: () => number;
  #seq = 0;

  /** Uses `kv`. */
  constructor(kv: Deno.Kv, limits: StoreLimits, now: () => number = Date.now) {
    this.#kv = kv;
    this.#limits = limits;
    this.#now = now;
  }

  /** Queues entries (see {@linkcode WebhookStore.push}). */
  async #push(
    entries: readonly NewEntry[],
    state?: StateChange,
  ): Promise<PushResult> {
    const sizes = entries.map(entrySize);
    const bytes = sizes.reduce((a, b) => a + b, 0);
    const stateKey = state === undefined ? undefined : [...STATE, state.key];
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const [count, total, current] = await this.#kv.getMany<unknown[]>(
        stateKey === undefined ? [COUNT, BYTES] : [COUNT, BYTES, stateKey],
      );
      const op = this.#kv.atomic().check(count!, total!);
      if (state !== undefined && current !== undefined) {
        const stored = typeof current.value === "string" ? current.value : null;
        if (stored === state.value) return "unchanged";
        op.check(current);
        if (state.value === null) op.delete(stateKey!);
        else {
          op.set(stateKey!, state.value, { expireIn: this.#limits.stateTtlMs });
        }
      }
      const fits = u64(count!) + entries.length <= this.#limits.maxEntries &&
        u64(total!) + bytes <= this.#limits.maxBytes;
      if (!fits && state === undefined) return "full"; // nothing to write
      if (fits && entries.length > 0) {
        entries.forEach((entry, i) => {
          const id = this.#id();
          const stored = { ...entry, attempts: 0, due: entry.at };
          op.set([...QUEUE, id], {
            text: encodeEntry(stored),
            size: sizes[i]!,
          });
        });
        op.set(COUNT, new Deno.KvU64(BigInt(u64(count!) + entries.length)));
        op.set(BYTES, new Deno.KvU64(BigInt(u64(total!) + bytes)));
      }
      const result = await op.commit();
      if (result.ok) return fits ? "queued" : "full";
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
    }
    throw new Error("Webhook queue busy: too many conflicting writers");
  }

  /** Takes or renews the lease. */
  async #lease(owner: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    const held = await this.#kv.get<unknown>(LEASE);
    const value = held.value;
    const holder = isLease(value) ? value : undefined;
    if (holder !== undefined && holder.owner !== owner && holder.until > now) {
      return false;
    }
    const result = await this.#kv.atomic().check(held).set(LEASE, {
      owner,
      until: now + ttlMs,
    }).commit();
    return result.ok;
  }

  /** Gives the lease up. */
  async #release(owner: string): Promise<void> {
    const held = await this.#kv.get<unknown>(LEASE);
    if (isLease(held.value) && held.value.owner === owner) {
      await this.#kv.atomic().check(held).delete(LEASE).commit();
    }
  }

  /** Due entries, oldest first (reads the queue until `limit` are found; it is bounded). */
  async #due(
    now: number,
    limit: number,
  ): Promise<{ entries: QueueEntry[]; next?: number }> {
    const entries: QueueEntry[] = [];
    const bad: Deno.KvKey[] = [];
    let next: number | undefined;
    for await (const item of this.#kv.list<unknown>({ prefix: QUEUE })) {
      const stored = item.value;
      const id = String(item.key[item.key.length - 1]);
      const entry = isStored(stored)
        ? decodeEntry(id, stored.text, stored.size)
        : undefined;
      if (entry === undefined) {
        bad.push(item.key);
        continue;
      }
      if (entry.due <= now) {
        entries.push(entry);
        if (entries.length >= limit) { // enough: stop reading
          next = undefined;
          break;
        }
      } else if (next === undefined || entry.due < next) next = entry.due;
    }
    for (const key of bad) await this.#kv.delete(key);
    return next === undefined ? { entries } : { entries, next };
  }

  /** Removes entries and takes them off the count and bytes. */
  async #remove(entries: readonly QueueEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += 100) {
      await this.#removeSome(entries.slice(i, i + 100));
    }
  }

  /** Stores new attempts and due times. */
  async #reschedule(entries: readonly QueueEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += 100) {
      const op = this.#kv.atomic();
      for (const entry of entries.slice(i, i + 100)) {
        op.set([...QUEUE, entry.id], {
          text: encodeEntry(entry),
          size: entry.size,
        });
      }
      await op.commit();
    }
  }

  /** What the queue holds. */
  async #depth(): Promise<QueueDepth> {
    const [count, bytes] = await this.#kv.getMany<unknown[]>([COUNT, BYTES]);
    return { count: u64(count!), bytes: u64(bytes!) };
  }

  /** Queues entries (see {@linkcode WebhookStore.push}). */
  push(entries: readonly NewEntry[], state?: StateChange): Promise<PushResult> {
    return unlocked(() => this.#push(entries, state));
  }

  /** Takes or renews the lease. */
  lease(owner: string, ttlMs: number): Promise<boolean> {
    return unlocked(() => this.#lease(owner, ttlMs));
  }

  /** Gives the lease up. */
  release(owner: string): Promise<void> {
    return unlocked(() => this.#release(owner));
  }

  /** Due entries, oldest first (reads the queue until `limit` are found; it is bounded). */
  due(
    now: number,
    limit: number,
  ): Promise<{ entries: QueueEntry[]; next?: number }> {
    return unlocked(() => this.#due(now, limit));
  }

  /** Removes entries and takes them off the count and bytes. */
  remove(entries: readonly QueueEntry[]): Promise<void> {
    return unlocked(() => this.#remove(entries));
  }

  /** Stores new attempts and due times. */
  reschedule(entries: readonly QueueEntry[]): Promise<void> {
    return unlocked(() => this.#reschedule(entries));
  }

  /** What the queue holds. */
  depth(): Promise<QueueDepth> {
    return unlocked(() => this.#depth());
  }

  /** Closes the database. */
  close(): Promise<void> {
    this.#kv.close();
    return Promise.resolve();
  }

  async #removeSome(entries: readonly QueueEntry[]): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const keys = entries.map((e) => [...QUEUE, e.id]);
      const found = await this.#kv.getMany<unknown[]>(keys);
      const [count, total] = await this.#kv.getMany<unknown[]>([COUNT, BYTES]);
      const op = this.#kv.atomic().check(count!, total!);
      let n = 0;
      let bytes = 0;
      found.forEach((item, i) => {
        if (item.versionstamp === null) return;
        op.check(item).delete(keys[i]!);
        n += 1;
        bytes += entries[i]!.size;
      });
      if (n === 0) return;
      op.set(COUNT, new Deno.KvU64(BigInt(Math.max(0, u64(count!) - n))));
      op.set(BYTES, new Deno.KvU64(BigInt(Math.max(0, u64(total!) - bytes))));
      if ((await op.commit()).ok) return;
    }
    throw new Error("Webhook queue busy: too many conflicting writers");
  }

  /** Ids sort by time, then by a per-handle counter; the random tail keeps handles apart. */
  #id(): string {
    const time = this.#now().toString(36).padStart(9, "0");
    const seq = (++this.#seq % 1_679_616).toString(36).padStart(4, "0");
    const tail = crypto.randomUUID().slice(0, 8);
    return `${time}${seq}${tail}`;
  }
}

function isLease(value: unknown): value is { owner: string; until: number } {
  return typeof value === "object" && value !== null &&
    typeof Reflect.get(value, "owner") === "string" &&
    typeof Reflect.get(value, "until") === "number";
}

function isStored(value: unknown): value is { text: string; size: number } {
  return typeof value === "object" && value !== null &&
    typeof Reflect.get(value, "text") === "string" &&
    typeof Reflect.get(value, "size") === "number";
}
