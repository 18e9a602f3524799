/**
 * Runs several isolates on one port: one Worker each, sharing the listener
 * through `SO_REUSEPORT` and linked by the BroadcastChannel bus. The first
 * Worker binds (port 0 picks a free port), the others join its port. They
 * share one room log (Deno KV), so offsets stay global. On shutdown every
 * Worker drains its clients before the process exits.
 *
 * @module
 */

import { parseConfig } from "./config.ts";
import type { Logger } from "./log.ts";

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
  if (config.historyWrite === "behind" && config.redisUrl === "" && count > 1) {
    throw new RangeError(
      "Invalid HISTORY_WRITE: behind needs one isolate owning the database; use auto or through with several isolates",
    );
  }
  const workers: Worker[] = [];
  const nodes: string[] = [];
  let port = config.port;
  for (let i = 0; i < count; i++) {
    const worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
    });
    workers.push(worker);
    const reply = await request(
      worker,
      { type: "start", port, env },
      "listening",
    );
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
    },
    kill(index) {
      const worker = workers[index];
      if (worker === undefined || !alive.has(worker)) return;
      worker.terminate();
      alive.delete(worker);
    },
  };
}

/** Posts `command` and resolves with the first `expected` reply's port and node. */
function request(
  worker: Worker,
  command: Record<string, unknown>,
  expected: "listening" | "drained",
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
    worker.postMessage(command);
  });
}
