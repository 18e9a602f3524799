/**
 * Runs several isolates on one port: one Worker each, sharing the listener
 * through `SO_REUSEPORT` and linked by the BroadcastChannel bus. The first
 * Worker binds (port 0 picks a free port), the others join its port. They
 * share one room log, so offsets stay global: with Deno KV on a local file
 * the supervisor thread owns it (written behind, one sequencer) and serves
 * every Worker over a MessagePort (`history/remote.ts`); otherwise (Redis,
 * `HISTORY_WRITE=through`) each Worker opens the shared log itself. On the
 * Redis engine the supervisor holds the process's one subscriber connection
 * and every Worker's bus subscribes through it (`redis/shared_subscriber.ts`);
 * each Worker keeps its own command connection. On shutdown every Worker
 * drains its clients before the process exits.
 *
 * @module
 */

import { type Config, parseConfig } from "../support/config.ts";
import { openEmbeddedHistory } from "./engine.ts";
import { serveLog } from "../room_log/remote.ts";
import { openRedis, type RedisClient } from "../redis/client.ts";
import { openRedisCluster } from "../redis/cluster.ts";
import {
  type SharedSubscriber,
  shareSubscriber,
} from "../redis/shared_subscriber.ts";
import type { Logger } from "../support/log.ts";

/** A group of serving Workers. */
export interface WorkerGroup {
  /** The shared port. */
  port: number;
  /** Number of Workers. */
  size: number;
  /** The bus node id of each Worker, by index (connection ids start with its first 8 characters). */
  nodes: string[];
  /** Drains every Worker (clients get 1012), then terminates them. */
  shutdown(): Promise<void>;
  /** Terminates Worker `index` at once, as a crash would (fault tests). */
  kill(index: number): void;
  /** The process's shared Redis subscriber (Redis engine), for its figures. */
  subscriber?: SharedSubscriber;
}

/** Options for {@linkcode startWorkers}. */
export interface StartWorkersOptions {
  /** Environment each Worker reads its configuration from (validated there). */
  env: Record<string, string>;
  /** Number of Workers. */
  count: number;
  log: Logger;
}

/** Starts Workers serving the configuration of `options.env` on one port. */
export async function startWorkers(
  options: StartWorkersOptions,
): Promise<WorkerGroup> {
  const { count, log } = options;
  // Every Worker knows how many share the room log (HISTORY_WRITE=auto).
  const env = { ...options.env, WORKERS: String(count) };
  const config = parseConfig(new Map(Object.entries(env)));
  if (config.history === "memory" && config.redisUrl === "" && count > 1) {
    throw new RangeError(
      "Invalid HISTORY: memory keeps one sequence per isolate; use HISTORY=kv with several isolates",
    );
  }
  // One sequencer for every Worker: the write-behind log, owned here.
  const shared = servesHistory(config)
    ? await openEmbeddedHistory({ ...config, workers: 1 }, log)
    : undefined;
  // One Redis subscriber connection for every Worker.
  let redis: RedisClient | undefined;
  let subscriber: SharedSubscriber | undefined;
  if (config.redisUrl !== "") {
    const open = config.redisCluster ? openRedisCluster : openRedis;
    redis = await open(config.redisUrl, { log });
    subscriber = shareSubscriber(redis, config.redisRelayMaxPending);
  }
  const ports: Array<MessagePort | undefined> = [];
  const workers: Worker[] = [];
  const nodes: string[] = [];
  let port = config.port;
  for (let i = 0; i < count; i++) {
    const worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
    });
    workers.push(worker);
    const channel = shared ? new MessageChannel() : undefined;
    if (shared && channel) serveLog(shared, channel.port1);
    const subs = subscriber ? new MessageChannel() : undefined;
    if (subscriber && subs) subscriber.attach(subs.port1);
    ports.push(subs?.port1);
    const transfer = [channel?.port2, subs?.port2].filter((p) =>
      p !== undefined
    );
    const reply = await request(
      worker,
      {
        type: "start",
        port,
        env,
        ...(channel ? { log: channel.port2 } : {}),
        ...(subs ? { subs: subs.port2 } : {}),
      },
      "listening",
      transfer,
    ).catch(async (error) => {
      await shared?.close();
      await redis?.close();
      throw error;
    });
    port = reply.port;
    nodes.push(reply.node);
    log.debug("Worker listening", { index: i, port });
  }
  const alive = new Set(workers);
  return {
    port,
    size: count,
    nodes,
    async shutdown() {
      await Promise.all([...alive].map(async (worker) => {
        await request(worker, { type: "drain" }, "drained");
        worker.terminate();
      }));
      alive.clear();
      // Every Worker is drained: flush the log and release it.
      await shared?.close();
      for (const p of ports) if (p) subscriber?.detach(p);
      await redis?.close();
    },
    kill(index) {
      const worker = workers[index];
      if (worker === undefined || !alive.has(worker)) return;
      worker.terminate();
      alive.delete(worker);
      const subs = ports[index];
      if (subs) subscriber?.detach(subs);
    },
    ...(subscriber ? { subscriber } : {}),
  };
}

/** Posts `command` and resolves with the first `expected` reply's port and node. */
function request(
  worker: Worker,
  command: Record<string, unknown>,
  expected: "listening" | "drained",
  transfer: Transferable[] = [],
): Promise<{ port: number; node: string }> {
  return new Promise((resolve, reject) => {
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`Worker failed: ${event.message}`));
    };
    worker.onmessage = (event: MessageEvent<unknown>) => {
      const data = event.data;
      if (typeof data !== "object" || data === null) return;
      if (Reflect.get(data, "type") !== expected) return;
      const port: unknown = Reflect.get(data, "port");
      const node: unknown = Reflect.get(data, "node");
      resolve({
        port: typeof port === "number" ? port : 0,
        node: typeof node === "string" ? node : "",
      });
    };
    worker.postMessage(command, transfer);
  });
}

/**
 * Whether the supervisor owns the room log for its Workers: Deno KV on a
 * local file, not written through (Redis and Deploy's KV are shared by
 * design; `HISTORY_WRITE=through` asks each Worker to commit itself).
 */
export function servesHistory(config: Config): boolean {
  return config.redisUrl === "" && config.history === "kv" &&
    config.kvPath !== "" && config.historyWrite !== "through";
}
