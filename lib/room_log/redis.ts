/**
 * Room log on Redis: one sequence per room shared by every process that uses
 * the same Redis, for deployments of several processes or machines.
 *
 * Each room has a head hash `{epoch, offset}` and a stream whose entry ids
 * are `<offset>-0` (ids must grow, and offsets do; offset 0 is never stored,
 * so the invalid id `0-0` never occurs). An append is one Lua script: it
 * creates the head when missing, adds the batch size to the offset, stores
 * each frame under its offset, trims the stream to `maxMessages` (`XTRIM
 * MINID`, exact) and renews the keys' expiry: the stream expires `ttlMs`
 * after the last append, the head `metaTtlMs` after it. The age limit on
 * single messages is applied on read, from the time stored with each entry.
 * Dropping a room's history trims its whole stream and keeps the head.
 *
 * A head that is missing (new room, idle past `metaTtlMs`, or a Redis that
 * restarted without persistence) starts a new epoch, so old positions are
 * answered `recovered: false`, never with a wrong replay. So does a head
 * found behind what this node knew of the room (its own appends, and what
 * it heard on the bus: {@linkcode RedisLog.seen}): a failover to a replica
 * that missed acknowledged messages. The floors are kept for at most
 * `maxTrackedRooms` rooms, the room heard of longest ago forgotten first.
 *
 * The frame of a message contains its offset and epoch, known only inside
 * the script: the script receives each frame in three pieces around those
 * two values and joins them, and this side joins the same pieces, so what
 * is stored and what is fanned out are the same bytes.
 *
 * @module
 */

import { silentLogger } from "../support/log.ts";
import type { StreamPosition } from "../protocol/mod.ts";
import { openRedis, type RedisClient } from "../redis/client.ts";
import {
  DEFAULT_PREFIX,
  replyArray,
  replyInteger,
  replyString,
  roomKeys,
} from "../redis/keys.ts";
import { APPEND, DROP, HEAD, SINCE } from "../redis/scripts.ts";
import {
  decideSince,
  type HistoryLimits,
  newEpoch,
  type NewMessage,
  type RoomLog,
  type SinceResult,
  type StoredMessage,
  storeMessage,
} from "./room_log.ts";

/** Options for {@linkcode RedisLog}. */
export interface RedisLogOptions extends HistoryLimits {
  /** How long a room's head outlives its last message, in ms. @default {86_400_000} */
  metaTtlMs?: number;
  /** Namespace of the keys. @default {"roomcast"} */
  prefix?: string;
  /** Clock, ms since the Unix epoch. @default {Date.now} */
  now?: () => number;
  /** Rooms whose highest known position is remembered (`REDIS_TRACKED_ROOMS`). @default {100_000} */
  maxTrackedRooms?: number;
}

/** Most messages per script call (each call blocks Redis while it runs). */
const BATCH_ITEMS = 500;
/** Most frame characters per script call. */
const BATCH_CHARS = 4_000_000;

/** A frame cut around its offset and epoch: `order` says which comes first. */
type Pieces = readonly [order: "o" | "e", string, string, string];

/** Room log in Redis. */
export class RedisLog implements RoomLog {
  #redis: RedisClient;
  #owned: boolean;
  #options: RedisLogOptions;
  #prefix: string;
  #now: () => number;
  /** Room → the highest position known here, most recently raised last. */
  #floors = new Map<string, StreamPosition>();

  /** Uses `redis`; {@linkcode RedisLog.close} leaves it open unless `owned`. */
  constructor(redis: RedisClient, options: RedisLogOptions, owned = false) {
    this.#redis = redis;
    this.#owned = owned;
    this.#options = options;
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#now = options.now ?? Date.now;
  }

  /** Connects to `url`, waits until Redis answers, and owns the connection. */
  static async open(url: string, options: RedisLogOptions): Promise<RedisLog> {
    const redis = await openRedis(url, { log: silentLogger });
    await redis.whenReady();
    return new RedisLog(redis, options, true);
  }

  async append(
    room: string,
    items: readonly NewMessage[],
  ): Promise<StoredMessage[]> {
    const stored: StoredMessage[] = [];
    let start = 0;
    while (start < items.length) {
      const batch: Pieces[] = [];
      let chars = 0;
      while (
        start + batch.length < items.length && batch.length < BATCH_ITEMS &&
        (batch.length === 0 || chars < BATCH_CHARS)
      ) {
        const pieces = cut(room, items[start + batch.length]!);
        chars += pieces[1].length + pieces[2].length + pieces[3].length;
        batch.push(pieces);
      }
      stored.push(
        ...await this.#appendBatch(room, items.slice(start), batch),
      );
      start += batch.length;
    }
    return stored;
  }

  /**
   * Records that `position` of `room` exists (a message heard on the bus):
   * an append that finds the room's head behind it starts a new epoch.
   */
  seen(room: string, position: StreamPosition): void {
    const floor = this.#floors.get(room);
    if (
      floor !== undefined && floor.epoch === position.epoch &&
      floor.offset >= position.offset
    ) return;
    this.#floors.delete(room);
    this.#floors.set(room, { epoch: position.epoch, offset: position.offset });
    if (this.#floors.size > (this.#options.maxTrackedRooms ?? 100_000)) {
      this.#floors.delete(this.#floors.keys().next().value!);
    }
  }

  async head(room: string): Promise<StreamPosition> {
    const keys = roomKeys(this.#prefix, room);
    const reply = replyArray(
      await this.#redis.run(HEAD, [keys.head, keys.log], [
        newEpoch(),
        String(this.#metaTtl()),
      ]),
    );
    const head = parseHead(reply?.[0], reply?.[1]);
    if (head === undefined) throw badReply("head", room);
    return head;
  }

  async since(room: string, position: StreamPosition): Promise<SinceResult> {
    const keys = roomKeys(this.#prefix, room);
    const reply = replyArray(
      await this.#redis.run(SINCE, [keys.head, keys.log], [
        newEpoch(),
        String(this.#metaTtl()),
        position.epoch,
        String(position.offset),
      ]),
    );
    const head = parseHead(reply?.[0], reply?.[1]);
    const entries = replyArray(reply?.[2]);
    if (head === undefined || entries === undefined) {
      throw badReply("since", room);
    }
    const oldest = this.#now() - this.#options.ttlMs;
    const messages: StoredMessage[] = [];
    for (const raw of entries) {
      const entry = parseEntry(raw);
      if (entry === undefined) throw badReply("since", room);
      if (entry.ts < oldest) continue;
      messages.push({ ...entry, epoch: head.epoch });
    }
    return decideSince(position, head, messages, this.#options.maxRoomBytes);
  }

  /**
   * Deletes every stream entry of `room` up to its head (`XTRIM MINID`, in
   * one script, so an append made meanwhile is kept); the head stays.
   */
  async dropHistory(room: string): Promise<number> {
    const keys = roomKeys(this.#prefix, room);
    const dropped = replyInteger(
      await this.#redis.run(DROP, [keys.head, keys.log], []),
    );
    if (dropped === undefined) throw badReply("drop", room);
    return dropped;
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#redis.close();
  }

  async #appendBatch(
    room: string,
    items: readonly NewMessage[],
    batch: readonly Pieces[],
  ): Promise<StoredMessage[]> {
    const keys = roomKeys(this.#prefix, room);
    const args = [
      newEpoch(),
      String(this.#options.maxMessages),
      String(this.#options.ttlMs),
      String(this.#metaTtl()),
      String(batch.length),
      this.#floors.get(room)?.epoch ?? "",
      String(this.#floors.get(room)?.offset ?? 0),
    ];
    for (const [i, pieces] of batch.entries()) {
      args.push(String(items[i]!.ts), ...pieces);
    }
    const reply = replyArray(
      await this.#redis.run(APPEND, [keys.head, keys.log], args),
    );
    const epoch = replyString(reply?.[0]);
    const first = replyInteger(reply?.[1]);
    if (epoch === undefined || first === undefined || first < 1) {
      throw badReply("append", room);
    }
    this.seen(room, { epoch, offset: first + batch.length - 1 });
    return batch.map(([order, a, b, c], i) => {
      const offset = first + i;
      const frame = order === "o"
        ? a + offset + b + epoch + c
        : a + epoch + b + offset + c;
      return { offset, epoch, ts: items[i]!.ts, frame };
    });
  }

  #metaTtl(): number {
    return Math.max(this.#options.metaTtlMs ?? 86_400_000, this.#options.ttlMs);
  }
}

/**
 * Serializes `item` once with marker values for its offset and epoch, and
 * cuts the frame around them.
 */
function cut(room: string, item: NewMessage): Pieces {
  for (let attempt = 0; attempt < 10; attempt++) {
    const offset = String(1e15 + Math.floor(Math.random() * 8e15));
    const epoch = `E${crypto.randomUUID().replaceAll("-", "")}`;
    const frame = storeMessage(room, item, Number(offset), epoch).frame;
    const o = frame.indexOf(offset);
    const e = frame.indexOf(epoch);
    // Each marker exactly once (the payload could contain one by chance).
    if (
      o < 0 || e < 0 || frame.indexOf(offset, o + 1) >= 0 ||
      frame.indexOf(epoch, e + 1) >= 0
    ) continue;
    if (o + offset.length <= e) {
      return [
        "o",
        frame.slice(0, o),
        frame.slice(o + offset.length, e),
        frame.slice(e + epoch.length),
      ];
    }
    if (e + epoch.length <= o) {
      return [
        "e",
        frame.slice(0, e),
        frame.slice(e + epoch.length, o),
        frame.slice(o + offset.length),
      ];
    }
  }
  throw new Error(`Could not prepare a message for room "${room}"`);
}

function parseHead(
  epoch: unknown,
  offset: unknown,
): StreamPosition | undefined {
  const e = replyString(epoch);
  const o = replyInteger(offset);
  return e === undefined || e === "" || o === undefined
    ? undefined
    : { epoch: e, offset: o };
}

/** One `XRANGE` entry: `[id, ["t", ts, "f", frame]]`. */
function parseEntry(
  raw: unknown,
): Omit<StoredMessage, "epoch"> | undefined {
  const entry = replyArray(raw);
  const id = replyString(entry?.[0])?.match(/^(\d{1,16})-0$/);
  const fields = replyArray(entry?.[1]);
  if (id?.[1] === undefined || fields === undefined) return undefined;
  const offset = replyInteger(id[1]);
  let ts: number | undefined;
  let frame: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === "t") ts = replyInteger(fields[i + 1]);
    if (fields[i] === "f") frame = replyString(fields[i + 1]);
  }
  if (offset === undefined || ts === undefined || frame === undefined) {
    return undefined;
  }
  return { offset, ts, frame };
}

function badReply(operation: string, room: string): Error {
  return new TypeError(
    `Unexpected Redis reply to ${operation} of room "${room}"`,
  );
}
