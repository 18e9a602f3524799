/**
 * The writer lease of a Deno KV database: who may sequence its rooms without
 * a compare-and-set per message.
 *
 * A write-behind log ({@linkcode KvBehindLog}) assigns offsets in memory, so
 * it must be the only writer: it holds the lease at `["roomcast", "writer"]`
 * and renews it with every flush; each flush checks the lease is still its
 * own (fencing). A write-through log ({@linkcode KvLog}) checks in every
 * commit that no live lease exists, so the two can never hand out the same
 * offset.
 *
 * A write-behind generation that stops without its final flush (a crash, a
 * kill) may have delivered messages that never reached the database. Every
 * room it appends to is indexed under `["roomcast", "gen", gen, room]`
 * before its first offset is handed out; whoever
 * opens the database next moves those rooms to a new epoch (keeping the
 * offset), so clients holding the lost positions get `recovered: false`
 * instead of different messages under offsets they have seen.
 *
 * @module
 */

import { newEpoch } from "./room_log.ts";
import { backoff, isLocked, parseHead, roomKey } from "./_kv_layout.ts";

/** Key of the writer lease. */
export const LEASE_KEY: Deno.KvKey = ["roomcast", "writer"];

/** The lease as stored. */
export interface Lease {
  /** Random id of the holder (one per opened write-behind log). */
  owner: string;
  /** Generation: grows by one per write-behind log that took the lease. */
  gen: number;
  /** Until when the holder may write without renewing, ms since the Unix epoch. */
  expiresAt: number;
  /** True once the holder flushed everything and let go. */
  clean: boolean;
  /** Process id and host name of the holder, when known. */
  pid?: number;
  host?: string;
}

/** Refused: a live write-behind log holds the database. */
export class LeaseHeldError extends Error {
  /** The lease that refused. */
  readonly lease: Lease;
  /** Builds the error for `lease`. */
  constructor(lease: Lease) {
    super(
      `The Deno KV database is held by another roomcast process (writer ${
        lease.owner.slice(0, 8)
      }, lease until ${
        new Date(lease.expiresAt).toISOString()
      }); give each process its own KV_PATH, run one process with --parallel, or set HISTORY_WRITE=through on every process sharing the database`,
    );
    this.name = "LeaseHeldError";
    this.lease = lease;
  }
}

/** Validates a stored lease. */
export function parseLease(value: unknown): Lease | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const owner: unknown = Reflect.get(value, "owner");
  const gen: unknown = Reflect.get(value, "gen");
  const expiresAt: unknown = Reflect.get(value, "expiresAt");
  const clean: unknown = Reflect.get(value, "clean");
  const pid: unknown = Reflect.get(value, "pid");
  const host: unknown = Reflect.get(value, "host");
  if (
    typeof owner !== "string" || typeof gen !== "number" ||
    typeof expiresAt !== "number" || typeof clean !== "boolean"
  ) return undefined;
  return {
    owner,
    gen,
    expiresAt,
    clean,
    ...(typeof pid === "number" ? { pid } : {}),
    ...(typeof host === "string" ? { host } : {}),
  };
}

/** Owners of leases held by this process (a holder here is alive while listed). */
const LOCAL_OWNERS = new Set<string>();

/** Lists (or, with `held` false, unlists) `owner` as a live holder in this process. */
export function holdLocally(owner: string, held: boolean): void {
  if (held) LOCAL_OWNERS.add(owner);
  else LOCAL_OWNERS.delete(owner);
}

/** This process's identity for a lease: its pid, and the host name when allowed. */
export function processIdentity(): { pid: number; host?: string } {
  try {
    return { pid: Deno.pid, host: Deno.hostname() };
  } catch {
    return { pid: Deno.pid }; // no --allow-sys: rely on expiry
  }
}

/**
 * Whether `lease` is held by a running writer at `now`: not released, not
 * expired, and — when the holder was on this host — its process still runs
 * (a crashed server's restart need not wait for the lease to expire).
 */
export function isLive(lease: Lease | undefined, now: number): boolean {
  if (lease === undefined || lease.clean || lease.expiresAt <= now) {
    return false;
  }
  const here = processIdentity();
  if (lease.host === undefined || lease.host !== here.host) return true;
  if (lease.pid === here.pid) return LOCAL_OWNERS.has(lease.owner);
  return lease.pid === undefined || processExists(lease.pid);
}

/**
 * Whether a process with `pid` runs here (true when it cannot be told). A
 * zombie (killed, not yet reaped by its parent) does not run.
 */
function processExists(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return !isZombie(pid);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      try {
        Deno.statSync("/proc/self");
        return false; // /proc works, and the holder is gone
      } catch {
        return true;
      }
    }
    return true;
  }
}

/** Key marking that write-behind generation `gen` wrote `room`. */
export function genKey(gen: number, room: string): Deno.KvKey {
  return ["roomcast", "gen", gen, room];
}

/** What {@linkcode settleLease} found. */
export interface SettledLease {
  /** The lease entry, to check in the next commit. */
  entry: Deno.KvEntryMaybe<unknown>;
  /** The lease when a live writer holds it. */
  live: Lease | undefined;
  /** Rooms moved to a new epoch after an unclean stop. */
  repaired: number;
}

/** Options of {@linkcode settleLease}. */
export interface SettleOptions {
  /** Clock, ms since the Unix epoch. */
  now: () => number;
  /** Expiry of a rewritten head, ms. */
  headTtlMs: number;
}

/**
 * Reads the lease; when its last holder stopped uncleanly and the lease has
 * expired, first moves every room that holder wrote to a new epoch and marks
 * the lease clean. Safe to run concurrently from several handles.
 */
export async function settleLease(
  kv: Deno.Kv,
  options: SettleOptions,
): Promise<SettledLease> {
  let repaired = 0;
  for (let attempt = 0;; attempt++) {
    try {
      const entry = await kv.get(LEASE_KEY);
      const lease = parseLease(entry.value);
      if (lease === undefined || lease.clean) {
        return { entry, live: undefined, repaired };
      }
      if (isLive(lease, options.now())) return { entry, live: lease, repaired };
      repaired += await restartEpochs(kv, lease.gen, options.headTtlMs);
      await kv.atomic().check(entry)
        .set(LEASE_KEY, { ...lease, clean: true, expiresAt: 0 })
        .commit();
    } catch (error) {
      if (!isLocked(error) || attempt > 100) throw error;
      await backoff(attempt);
    }
  }
}

/**
 * Moves each room generation `gen` appended to (its index, written before
 * its first offset) to a new epoch at its stored offset, deleting the index
 * entry in the same commit so a concurrent repairer does it once; returns
 * how many heads moved.
 */
async function restartEpochs(
  kv: Deno.Kv,
  gen: number,
  headTtlMs: number,
): Promise<number> {
  let count = 0;
  for await (const index of kv.list({ prefix: ["roomcast", "gen", gen] })) {
    const room = index.key[3];
    if (typeof room !== "string") continue;
    for (let attempt = 0;; attempt++) {
      const entry = await kv.get(roomKey(room, "head"));
      const head = parseHead(entry.value);
      const op = kv.atomic().check(index, entry).delete(index.key);
      if (head !== undefined) {
        op.set(
          roomKey(room, "head"),
          { epoch: newEpoch(), offset: head.offset },
          { expireIn: headTtlMs },
        );
      }
      if ((await op.commit()).ok) {
        if (head !== undefined) count += 1;
        break;
      }
      if ((await kv.get(index.key)).versionstamp === null) break; // done by another
      await backoff(attempt);
    }
  }
  return count;
}

/** Whether `/proc/<pid>/stat` says the process is a zombie (false when unreadable). */
function isZombie(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // "pid (comm) S ...": the state follows the last ")".
    return stat.slice(stat.lastIndexOf(")") + 1).trim().startsWith("Z");
  } catch {
    return false;
  }
}
