/**
 * Test helpers for the room log suites: every {@linkcode RoomLog} backend,
 * opened with the given limits, and a look at what each one stored.
 *
 * @module
 */

import type { RoomLog } from "./room_log.ts";
import { roomKey } from "./_kv_layout.ts";
import { KvLog } from "./kv.ts";
import { KvBehindLog } from "./kv_behind.ts";
import { RemoteLog, serveLog } from "./remote.ts";
import { MemoryLog } from "./memory.ts";
import { RedisLog } from "./redis.ts";
import { openRedis } from "../redis/client.ts";
import { roomKeys } from "../redis/keys.ts";
import { silentLogger } from "../support/log.ts";
import { skipWithoutRedis, startRedis } from "../../tests/_support/redis.ts";

/** The limits a backend is opened with. */
export interface TestLimits {
  maxMessages: number;
  ttlMs: number;
  now?: () => number;
  maxRoomBytes?: number;
}

/** One backend under test. */
export interface Backend {
  name: string;
  open(limits: TestLimits): Promise<RoomLog>;
}

/** What a backend's store holds for one room: message entries and frame parts. */
export interface StoredCount {
  messages: number;
  /** Parts of chunked frames (Deno KV only). */
  parts?: number;
}

const inspectors = new WeakMap<
  RoomLog,
  (room: string) => Promise<StoredCount>
>();

/**
 * What the store behind `log` holds for `room` (read from the database or
 * Redis, not through the log), or undefined where there is no store (memory).
 */
export function inspectStore(
  log: RoomLog,
  room: string,
): Promise<StoredCount> | undefined {
  return inspectors.get(log)?.(room);
}

/** Counts `room`'s entries in a Deno KV database: `"m"` heads and `"c"` parts. */
export async function countKv(
  kv: Deno.Kv,
  room: string,
): Promise<{ messages: number; parts: number }> {
  const count = { messages: 0, parts: 0 };
  for await (const { key } of kv.list({ prefix: roomKey(room) })) {
    if (key[3] === "m") count.messages += 1;
    if (key[3] === "c") count.parts += 1;
  }
  return count;
}

/** `log`, whose close() then also runs `after` (what the backend started). */
function closingAlso(log: RoomLog, after: () => Promise<unknown>): RoomLog {
  const wrapped: RoomLog = {
    append: (room, items) => log.append(room, items),
    head: (room) => log.head(room),
    since: (room, position) => log.since(room, position),
    async close() {
      await log.close();
      await after();
    },
  };
  const committed = log.committed?.bind(log);
  if (committed !== undefined) wrapped.committed = committed;
  const dropHistory = log.dropHistory?.bind(log);
  if (dropHistory !== undefined) wrapped.dropHistory = dropHistory;
  return wrapped;
}

/** `log`, registered with the inspector of its KV database. */
function onKv(log: RoomLog, kv: Deno.Kv): RoomLog {
  inspectors.set(log, (room) => countKv(kv, room));
  return log;
}

/** Every backend; Redis only where redis-server is installed (or CI=true). */
export const BACKENDS: Backend[] = [
  { name: "MemoryLog", open: (o) => Promise.resolve(new MemoryLog(o)) },
  {
    name: "KvLog",
    async open(o) {
      const kv = await Deno.openKv(":memory:");
      return onKv(new KvLog(kv, o), kv);
    },
  },
  {
    name: "KvBehindLog",
    async open(o) {
      const kv = await Deno.openKv(":memory:");
      return onKv(await KvBehindLog.open(kv, o), kv);
    },
  },
  {
    // A Worker's view of the supervisor's log, over a real MessageChannel.
    name: "RemoteLog",
    async open(o) {
      const kv = await Deno.openKv(":memory:");
      const served = await KvBehindLog.open(kv, o);
      const channel = new MessageChannel();
      serveLog(served, channel.port1);
      const remote = new RemoteLog(channel.port2);
      return onKv(
        closingAlso(remote, async () => {
          channel.port1.close();
          await served.close();
        }),
        kv,
      );
    },
  },
];
// Each test gets its own redis-server; closing the log stops it. Without
// redis-server the backend is left out (loudly), except under CI=true.
if (!skipWithoutRedis()) {
  BACKENDS.push({
    name: "RedisLog",
    async open(o) {
      const server = await startRedis();
      const redis = await openRedis(server.url, { log: silentLogger });
      await redis.whenReady();
      const log = closingAlso(new RedisLog(redis, o), async () => {
        await redis.close();
        await server.kill();
      });
      inspectors.set(log, async (room) => {
        const length = await redis.command([
          "XLEN",
          roomKeys("roomcast", room).log,
        ]);
        if (typeof length !== "number") throw new TypeError("Bad XLEN reply");
        return { messages: length };
      });
      return log;
    },
  });
}
