/**
 * The webhook store in Redis (the Redis engine): every node pushes into one
 * queue and one announced state, and the node holding the lease sends, so
 * each event reaches its URL once per deployment and a restart of any node
 * loses nothing queued. Keys share the hash tag `{<prefix>:webhooks}` (one
 * slot on a Redis Cluster); every step is one Lua script.
 *
 * @module
 */

import type { RedisClient } from "../redis/client.ts";
import { replyArray, replyInteger, replyString } from "../redis/keys.ts";
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
import {
  DUE,
  LEASE,
  PUSH,
  RELEASE,
  REMOVE,
  RESCHEDULE,
} from "./_redis_scripts.ts";

/** Stores webhooks in Redis; the client is the store's own (closed with it). */
export class RedisStore implements WebhookStore {
  readonly #redis: RedisClient;
  readonly #limits: StoreLimits;
  readonly #tag: string;

  /** Uses `redis`, with keys under `prefix`. */
  constructor(redis: RedisClient, limits: StoreLimits, prefix: string) {
    this.#redis = redis;
    this.#limits = limits;
    this.#tag = `{${prefix}:webhooks}`;
  }

  #key(name: string): string {
    return `${this.#tag}:${name}`;
  }

  /** Queues entries (see {@linkcode WebhookStore.push}). */
  async push(
    entries: readonly NewEntry[],
    state?: StateChange,
  ): Promise<PushResult> {
    const args = [
      String(this.#limits.maxEntries),
      String(this.#limits.maxBytes),
      state === undefined ? "0" : "1",
      state?.value ?? "",
      state !== undefined && state.value === null ? "1" : "0",
      String(this.#limits.stateTtlMs),
      String(entries.length),
    ];
    for (const entry of entries) {
      const text = encodeEntry({ ...entry, attempts: 0, due: entry.at });
      args.push(text, String(entry.at), String(entrySize(entry)));
    }
    const reply = replyString(
      await this.#redis.run(PUSH, [
        this.#key("q"),
        this.#key("due"),
        this.#key("bytes"),
        this.#key("seq"),
        this.#key(`s:${state?.key ?? ""}`),
      ], args),
    );
    if (reply === "queued" || reply === "full" || reply === "unchanged") {
      return reply;
    }
    throw new Error("Unexpected reply from the webhook push script");
  }

  /** Takes or renews the lease. */
  async lease(owner: string, ttlMs: number): Promise<boolean> {
    const reply = await this.#redis.run(LEASE, [this.#key("lease")], [
      owner,
      String(ttlMs),
    ]);
    return replyInteger(reply) === 1;
  }

  /** Gives the lease up. */
  async release(owner: string): Promise<void> {
    await this.#redis.run(RELEASE, [this.#key("lease")], [owner]);
  }

  /** Due entries by due time; entries that do not decode are removed. */
  async due(
    now: number,
    limit: number,
  ): Promise<{ entries: QueueEntry[]; next?: number }> {
    const reply = replyArray(
      await this.#redis.run(DUE, [this.#key("q"), this.#key("due")], [
        String(now),
        String(limit),
      ]),
    );
    const pairs = replyArray(reply?.[0]) ?? [];
    const entries: QueueEntry[] = [];
    const bad: string[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const id = replyString(pairs[i]);
      const stored = replyString(pairs[i + 1]) ?? "";
      if (id === undefined) continue;
      const colon = stored.indexOf(":");
      const size = Number(stored.slice(0, colon));
      const entry = colon > 0 && Number.isSafeInteger(size)
        ? decodeEntry(id, stored.slice(colon + 1), size)
        : undefined;
      if (entry === undefined) bad.push(id);
      else entries.push(entry);
    }
    if (bad.length > 0) await this.#removeIds(bad);
    const next = Number(replyString(reply?.[1]) ?? "");
    return replyString(reply?.[1]) && Number.isFinite(next)
      ? { entries, next }
      : { entries };
  }

  /** Removes entries and their bytes. */
  async remove(entries: readonly QueueEntry[]): Promise<void> {
    await this.#removeIds(entries.map((e) => e.id));
  }

  /** Stores new attempts and due times. */
  async reschedule(entries: readonly QueueEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const args: string[] = [];
    for (const entry of entries) {
      args.push(entry.id, String(entry.due), encodeEntry(entry));
    }
    await this.#redis.run(RESCHEDULE, [this.#key("q"), this.#key("due")], args);
  }

  /** What the queue holds. */
  async depth(): Promise<QueueDepth> {
    const [count, bytes] = await Promise.all([
      this.#redis.command(["HLEN", this.#key("q")], this.#key("q")),
      this.#redis.command(["GET", this.#key("bytes")], this.#key("q")),
    ]);
    return {
      count: replyInteger(count) ?? 0,
      bytes: replyInteger(bytes ?? "0") ?? 0,
    };
  }

  /** Closes the store's Redis client. */
  async close(): Promise<void> {
    await this.#redis.close();
  }

  async #removeIds(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#redis.run(REMOVE, [
      this.#key("q"),
      this.#key("due"),
      this.#key("bytes"),
    ], ids);
  }
}
