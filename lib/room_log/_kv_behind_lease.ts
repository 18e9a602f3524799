/**
 * The write-behind log's hold on the writer lease (internal; the lease's
 * rules are in `kv_lease.ts`): taking it (repairing after an unclean stop
 * first), the check-and-renew every flush commit starts with, and the clean
 * release.
 *
 * @module
 */

import type { Logger } from "../support/log.ts";
import {
  genKey,
  holdLocally,
  type Lease,
  LEASE_KEY,
  LeaseHeldError,
  parseLease,
  processIdentity,
  settleLease,
} from "./kv_lease.ts";

/** Most index deletions per release commit (Deno KV allows 1000 mutations; 900 are used, two go to the lease). */
const MAX_DELETES = 898;

/** Options of {@linkcode KvBehindLease}. */
export interface KvBehindLeaseOptions {
  /** Clock, ms since the Unix epoch. */
  now: () => number;
  /** How long the lease holds without renewal, ms. */
  leaseMs: number;
  /** Expiry of a head rewritten by a repair, ms. */
  headTtlMs: number;
  /** How long {@linkcode KvBehindLease.acquire} waits for another writer's lease to end, ms. */
  waitMs: number;
  /** Where a repair after an unclean stop is reported. */
  log?: Logger | undefined;
}

/** One write-behind log's writer lease on one database. */
export class KvBehindLease {
  readonly #kv: Deno.Kv;
  readonly #options: KvBehindLeaseOptions;
  readonly #owner = crypto.randomUUID();
  #gen = 0;
  #stamp = "";

  /** A lease on `kv`, not taken yet. */
  constructor(kv: Deno.Kv, options: KvBehindLeaseOptions) {
    this.#kv = kv;
    this.#options = options;
  }

  /** The generation this holder took (0 before {@linkcode KvBehindLease.acquire}). */
  get gen(): number {
    return this.#gen;
  }

  /**
   * Takes the lease, repairing after an unclean stop first. Throws
   * {@linkcode LeaseHeldError} when another live writer holds it past
   * `waitMs`.
   */
  async acquire(): Promise<void> {
    const deadline = performance.now() + this.#options.waitMs;
    let waited = false;
    for (let attempt = 0; attempt < 20;) {
      const settled = await settleLease(this.#kv, {
        now: this.#options.now,
        headTtlMs: this.#options.headTtlMs,
      });
      if (settled.repaired > 0) {
        this.#options.log?.warn(
          "The previous writer stopped without flushing: its rooms start a new epoch",
          { rooms: settled.repaired },
        );
      }
      if (settled.live !== undefined) {
        const left = deadline - performance.now();
        if (!waited) {
          waited = true;
          this.#options.log?.warn(waitLine(settled.live, Math.max(0, left)));
        }
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
        this.#stamp = result.versionstamp;
        return;
      }
      holdLocally(this.#owner, false);
    }
    throw new Error(
      "Could not take the Deno KV writer lease: too much contention",
    );
  }

  /** A commit that holds only if the lease is still ours, and renews it. */
  op(): Deno.AtomicOperation {
    return this.#kv.atomic()
      .check({ key: LEASE_KEY, versionstamp: this.#stamp })
      .set(LEASE_KEY, this.#lease(false));
  }

  /** Records the versionstamp of a commit started with {@linkcode KvBehindLease.op}. */
  renewed(versionstamp: string): void {
    this.#stamp = versionstamp;
  }

  /** Deletes this generation's index of `rooms` and marks the lease clean. */
  async release(rooms: readonly string[]): Promise<void> {
    for (let i = 0; i < rooms.length; i += MAX_DELETES) {
      const op = this.op();
      for (const room of rooms.slice(i, i + MAX_DELETES)) {
        op.delete(genKey(this.#gen, room));
      }
      const result = await op.commit();
      if (!result.ok) return;
      this.#stamp = result.versionstamp;
    }
    await this.#kv.atomic()
      .check({ key: LEASE_KEY, versionstamp: this.#stamp })
      .set(LEASE_KEY, this.#lease(true)).commit();
  }

  /** No longer counts this process as a live holder (closed or abandoned). */
  letGo(): void {
    holdLocally(this.#owner, false);
  }

  #lease(clean: boolean) {
    return {
      owner: this.#owner,
      gen: this.#gen,
      expiresAt: clean ? 0 : this.#options.now() + this.#options.leaseMs,
      clean,
      ...processIdentity(),
    };
  }
}

/** The one line a start that waits for another writer's lease logs. */
function waitLine(lease: Lease, leftMs: number): string {
  const holder = lease.pid === undefined
    ? `writer ${lease.owner.slice(0, 8)}`
    : `process ${lease.pid}${
      lease.host === undefined ? "" : ` on ${lease.host}`
    }`;
  return `Waiting up to ${
    Math.ceil(leftMs / 1000)
  } s for the Deno KV database: its writer lease is held by ${holder} until ${
    new Date(lease.expiresAt).toISOString()
  } (a process that was killed holds it until then; one still running keeps it)`;
}
