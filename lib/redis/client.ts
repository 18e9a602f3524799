/**
 * The one place that loads a Redis client: `npm:@redis/client` (node-redis),
 * imported dynamically, so a server without `REDIS_URL` never loads it.
 *
 * A {@linkcode RedisClient} is a pair of connections: one for commands and
 * publishes, and one, opened on first use, for the bus subscription (a
 * subscribed connection takes no other commands). Both reconnect forever with
 * full-jitter backoff; the subscription is renewed after each reconnect.
 * While disconnected, commands fail at once instead of queueing, so a
 * publish during an outage is answered with an error rather than a hang.
 *
 * Replies are returned as `unknown`: callers validate them.
 *
 * @module
 */

import type { Logger } from "../support/log.ts";
import type { LuaScript } from "./scripts.ts";

/** The npm package and version loaded (pinned: the engine depends on its behaviour). */
export const REDIS_CLIENT_PACKAGE = "npm:@redis/client@6.3.1";

/** A connection pair to one Redis server. */
export interface RedisClient {
  /** Sends one command; rejects at once while disconnected. */
  command(args: readonly string[]): Promise<unknown>;
  /** Runs a Lua script (`EVALSHA`, loading it with `EVAL` when Redis lost it). */
  run(
    script: LuaScript,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown>;
  /** Subscribes to `channel` on the subscriber connection, now and after every reconnect. */
  subscribe(channel: string, listener: (message: string) => void): void;
  /** Whether the connections (and the subscription, once asked for) are up. */
  ready(): boolean;
  /** Resolves once {@linkcode RedisClient.ready} is true (or the client is closed). */
  whenReady(): Promise<void>;
  /** Waits for commands in flight, then closes both connections. */
  close(): Promise<void>;
}

/** Options for {@linkcode openRedis}. */
export interface OpenRedisOptions {
  /** Where connection trouble is reported. */
  log: Logger;
  /** A command without a reply after this long fails, in ms. @default {5000} */
  commandTimeoutMs?: number;
  /** Smallest pause before a reconnect attempt, in ms. @default {100} */
  minReconnectDelayMs?: number;
  /** Largest pause before a reconnect attempt, in ms. @default {5000} */
  maxReconnectDelayMs?: number;
}

/**
 * Loads the client library and starts connecting to `url` in the background:
 * an unreachable Redis is logged and retried, never thrown.
 */
export async function openRedis(
  url: string,
  options: OpenRedisOptions,
): Promise<RedisClient> {
  const { createClient } = await import("npm:@redis/client@6.3.1");
  const { log } = options;
  const timeout = options.commandTimeoutMs ?? 5_000;
  const min = options.minReconnectDelayMs ?? 100;
  const max = options.maxReconnectDelayMs ?? 5_000;
  const where = describe(url);
  let closed = false;
  let outage = false;
  const waiters = new Set<() => void>();

  function connect(role: string, offlineQueue: boolean) {
    const client = createClient({
      url,
      RESP: 2,
      disableOfflineQueue: !offlineQueue,
      pingInterval: 10_000,
      socket: {
        connectTimeout: 5_000,
        // Full jitter: min + random(0, min(max, min * 2^n)).
        reconnectStrategy: (retries: number) =>
          Math.round(min + Math.random() * Math.min(max, min * 2 ** retries)),
      },
    });
    client.on("error", (error: unknown) => {
      if (closed) return;
      if (!outage) {
        outage = true; // one error line per outage, whichever connection
        log.error("Redis unreachable: retrying with backoff", {
          redis: where,
          role,
          error: String(error),
        });
      } else {
        log.debug("Redis still unreachable", { redis: where, role });
      }
    });
    client.on("ready", () => wake());
    client.connect().catch((error: unknown) => {
      if (!closed) {
        log.error("Redis connection gave up", {
          redis: where,
          role,
          error: String(error),
        });
      }
    });
    return client;
  }

  const main = connect("commands", false);
  let subscriber: ReturnType<typeof connect> | undefined;
  let subscriptions = 0;
  let subscribed = 0;

  function ready(): boolean {
    return !closed && main.isReady &&
      (subscriber === undefined ||
        (subscriber.isReady && subscribed === subscriptions));
  }

  function wake(): void {
    if (!ready() && !closed) return;
    if (outage && !closed) log.info("Redis reconnected", { redis: where });
    outage = false;
    for (const resolve of waiters) resolve();
    waiters.clear();
  }

  async function command(args: readonly string[]): Promise<unknown> {
    const reply: unknown = await main.sendCommand([...args], { timeout });
    return reply;
  }

  return {
    command,
    async run(script, keys, args) {
      const sha = await script.sha;
      const tail = [String(keys.length), ...keys, ...args];
      try {
        return await command(["EVALSHA", sha, ...tail]);
      } catch (error) {
        if (!String(error).includes("NOSCRIPT")) throw error;
        return await command(["EVAL", script.source, ...tail]);
      }
    },
    subscribe(channel, listener) {
      subscriber ??= connect("subscriber", true);
      subscriptions += 1;
      subscriber.subscribe(channel, (message: string) => listener(message))
        .then(() => {
          subscribed += 1;
          wake();
        })
        .catch((error: unknown) => {
          if (!closed) {
            log.error("Redis subscribe failed", {
              redis: where,
              channel,
              error: String(error),
            });
          }
        });
    },
    ready,
    whenReady() {
      if (ready() || closed) return Promise.resolve();
      return new Promise((resolve) => waiters.add(resolve));
    },
    async close() {
      if (closed) return;
      closed = true;
      wake();
      await Promise.all(
        [main, subscriber].map((client) => client && shut(client)),
      );
    },
  };
}

/** Closes gracefully when connected; otherwise stops the reconnect loop at once. */
async function shut(
  client: { isReady: boolean; close(): Promise<void>; destroy(): void },
): Promise<void> {
  try {
    if (client.isReady) await client.close();
    else client.destroy();
  } catch {
    // Already closed.
  }
}

/** `host:port` of a Redis URL, never its credentials. */
function describe(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || "6379"}`;
  } catch {
    return "(invalid REDIS_URL)";
  }
}
