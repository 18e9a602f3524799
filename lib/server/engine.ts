/**
 * The engine: where offsets, history and fan-out live. Embedded by default
 * (Deno KV or memory for the room log, BroadcastChannel between the isolates
 * of one process); the Redis engine when `REDIS_URL` is set (room log in
 * Redis, bus over Redis pub/sub, one channel per room), so rooms span
 * processes and machines; on a Redis Cluster with `REDIS_CLUSTER=1`.
 * Presence rides the bus either way.
 *
 * The Redis client library is loaded only by the Redis engine.
 *
 * @module
 */

import type { BusTransport } from "../bus/bus.ts";
import { redisTransport } from "../bus/redis.ts";
import type { Config } from "../support/config.ts";
import type { RoomLog } from "../room_log/room_log.ts";
import { KvLog } from "../room_log/kv.ts";
import { KvBehindLog, type KvBehindStats } from "../room_log/kv_behind.ts";
import { type MemoryBudgetOptions, MemoryLog } from "../room_log/memory.ts";
import { RedisLog } from "../room_log/redis.ts";
import type { Logger } from "../support/log.ts";
import { openRedis } from "../redis/client.ts";
import { openRedisCluster } from "../redis/cluster.ts";
import { subscribeThrough } from "../redis/shared_subscriber.ts";
import { busChannel, DEFAULT_PREFIX, roomChannel } from "../redis/keys.ts";

/** What a server runs on. */
export interface Engine {
  /** The room log: offsets and history. */
  history: RoomLog;
  /** The bus transport, or undefined to keep the server's default (BroadcastChannel). */
  transport: BusTransport | undefined;
  /** Whether the engine can serve now (Redis connected); always true when embedded. */
  ready(): boolean;
  /** Releases the room log and any connection; call after the bus is closed. */
  close(): Promise<void>;
}

/** Options for {@linkcode openEngine}. */
export interface OpenEngineOptions {
  /** Hears each write-behind flush of the Deno KV history. */
  onFlush?: (stats: KvBehindStats) => void;
  /** Hears evictions and memory use of history kept in memory. */
  memory?: Pick<MemoryBudgetOptions, "onEvict" | "bytesGauge">;
  /** Namespace of the Redis keys and bus channel. @default {"roomcast"} */
  redisPrefix?: string;
  /** A Redis command without a reply after this long fails, in ms. @default {5000} */
  redisCommandTimeoutMs?: number;
  /** Hears the duration of every Redis command that got a reply, in ms. */
  onRedisCommand?: (ms: number) => void;
  /** Hears how many messages the shared subscriber did not forward here (with `subscriptions`). */
  onRelayDropped?: (count: number) => void;
  /**
   * Subscribe through the supervisor at this port instead of opening a
   * subscriber connection (`--parallel`: one per process).
   */
  subscriptions?: MessagePort;
}

/**
 * Opens the configured engine. With `config.redisUrl` set, an unreachable
 * Redis is not an error: the engine logs it, retries with backoff and
 * reports `ready()` false until it connects.
 *
 * @example Usage
 * ```ts
 * import { openEngine } from "./engine.ts";
 * import { parseConfig } from "../support/config.ts";
 * import { silentLogger } from "../support/log.ts";
 * import assert from "node:assert/strict";
 *
 * const config = parseConfig(new Map([["HISTORY", "memory"]]));
 * const engine = await openEngine(config, silentLogger);
 * assert.equal(engine.transport, undefined); // embedded: BroadcastChannel
 * assert.equal(engine.ready(), true);
 * await engine.close();
 * ```
 */
export async function openEngine(
  config: Config,
  log: Logger,
  options: OpenEngineOptions = {},
): Promise<Engine> {
  const limits = {
    maxMessages: config.historySize,
    ttlMs: config.historyTtlMs,
    maxRoomBytes: config.historyRoomBytes,
  };
  if (config.redisUrl === "") {
    const history = await openEmbeddedHistory(
      config,
      log,
      options.onFlush,
      options.memory,
    );
    return {
      history,
      transport: undefined,
      ready: () => true,
      close: () => history.close(),
    };
  }
  const prefix = options.redisPrefix ?? config.redisPrefix ?? DEFAULT_PREFIX;
  const open = config.redisCluster ? openRedisCluster : openRedis;
  const own = await open(config.redisUrl, {
    log,
    ...(options.redisCommandTimeoutMs === undefined
      ? {}
      : { commandTimeoutMs: options.redisCommandTimeoutMs }),
    ...(options.onRedisCommand ? { onCommand: options.onRedisCommand } : {}),
  });
  const redis = options.subscriptions === undefined
    ? own
    : subscribeThrough(own, options.subscriptions, options.onRelayDropped);
  const transport = redisTransport(redis, {
    channel: busChannel(prefix),
    roomChannel: (room) => roomChannel(prefix, room),
    log,
  });
  log.info(
    config.redisCluster
      ? "Redis Cluster engine: rooms span every node, sharded by room"
      : "Redis engine: rooms span every node on this Redis",
    { prefix },
  );
  return {
    history: new RedisLog(redis, {
      ...limits,
      prefix,
      maxTrackedRooms: config.redisTrackedRooms,
    }),
    transport,
    ready: () => redis.ready(),
    async close() {
      transport.close();
      await redis.close();
    },
  };
}

/**
 * Whether the Deno KV history is written behind (see
 * {@linkcode Config.historyWrite}): `auto` means one isolate on a local file;
 * on Deno Deploy (no path) many isolates share the database.
 */
export function writesBehind(config: Config): boolean {
  if (config.historyWrite !== "auto") return config.historyWrite === "behind";
  return config.workers === 1 && config.kvPath !== "";
}

/**
 * Opens the embedded room log: `memory`, or Deno KV (creating the database
 * file's folder; an empty path is the platform's KV on Deno Deploy), written
 * behind or through ({@linkcode writesBehind}).
 */
export async function openEmbeddedHistory(
  config: Config,
  log?: Logger,
  onFlush?: (stats: KvBehindStats) => void,
  memory: Pick<MemoryBudgetOptions, "onEvict" | "bytesGauge"> = {},
): Promise<RoomLog> {
  const limits = {
    maxMessages: config.historySize,
    ttlMs: config.historyTtlMs,
    maxRoomBytes: config.historyRoomBytes,
  };
  const budget = { ...memory, maxMemoryBytes: config.historyMemoryBytes };
  if (config.history === "memory") {
    return new MemoryLog({ ...limits, ...budget });
  }
  if (config.kvPath !== "" && config.kvPath !== ":memory:") {
    const folder = config.kvPath.replace(/[^/]*$/, "");
    if (folder !== "") await Deno.mkdir(folder, { recursive: true });
  }
  const kv = await Deno.openKv(
    config.kvPath === "" ? undefined : config.kvPath,
  );
  if (!writesBehind(config)) return new KvLog(kv, limits);
  try {
    return await KvBehindLog.open(kv, {
      ...limits,
      ...budget,
      flushMs: config.historyFlushMs,
      maxBacklogBytes: config.historyBacklogBytes,
      maxLagMs: config.historyMaxLagMs,
      // A writer on another host may be letting go: wait out its lease.
      waitMs: 6_000,
      ...(log ? { log } : {}),
      ...(onFlush ? { onFlush } : {}),
    });
  } catch (error) {
    kv.close();
    throw error;
  }
}
