/**
 * The one place that loads a Redis client: `npm:@redis/client` (node-redis),
 * imported dynamically, so a server without `REDIS_URL` never loads it.
 *
 * A {@linkcode RedisClient} is a pair of connections: one for commands and
 * publishes, and one, opened on first use, for the bus subscriptions (a
 * subscribed connection takes no other commands): the node channel and one
 * channel per room with local members, several per `SUBSCRIBE` command.
 * Both reconnect forever with full-jitter backoff; node-redis renews every
 * subscription on the reconnected socket before it reports ready. With
 * `REDIS_CLUSTER=1` the same interface sits on `createCluster`
 * (`cluster.ts`).
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

/** Receives a pub/sub message and the channel it came on. */
export type ChannelListener = (message: string, channel: string) => void;

/** A connection pair to one Redis server (or the connections to a cluster). */
export interface RedisClient {
  /**
   * Sends one command; rejects at once while disconnected. `key` routes it
   * in a cluster (the slot of that key); a single server ignores it.
   */
  command(args: readonly string[], key?: string): Promise<unknown>;
  /** Publishes on `channel` (`SPUBLISH` in a cluster: to the channel's shard only). */
  publish(channel: string, message: string): Promise<unknown>;
  /** Runs a Lua script (`EVALSHA`, loading it with `EVAL` when Redis lost it). */
  run(
    script: LuaScript,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown>;
  /**
   * Subscribes to `channels` on the subscriber connection (in one command;
   * sharded in a cluster), now and after every reconnect. Resolves once
   * Redis confirmed: a message published afterwards is delivered.
   */
  subscribe(
    channels: readonly string[],
    listener: ChannelListener,
  ): Promise<void>;
  /** Unsubscribes from `channels`. */
  unsubscribe(channels: readonly string[]): Promise<void>;
  /**
   * Calls `fn` each time the subscriptions were renewed after an
   * interruption (a reconnect, a failover, a moved shard): messages published
   * meanwhile were lost, and every subscription is confirmed again. Absent:
   * the client never reports it.
   */
  onResubscribed?(fn: () => void): void;
  /** Whether the connections (and the first subscription, once asked for) are up. */
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
  /** Hears the duration of every command that got a reply, in ms (metrics). */
  onCommand?: (ms: number) => void;
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
      socket: socketOptions(min, max),
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
  let subscribed = false;
  const resubscribed = new Set<() => void>();

  /** The subscriber connection; node-redis renews its subscriptions before each `ready`. */
  function openSubscriber(): ReturnType<typeof connect> {
    const client = connect("subscriber", true);
    let readyBefore = false;
    client.on("ready", () => {
      if (readyBefore && subscribed && !closed) {
        for (const fn of resubscribed) fn();
      }
      readyBefore = true;
    });
    return client;
  }

  function ready(): boolean {
    return !closed && main.isReady &&
      (subscriber === undefined || (subscriber.isReady && subscribed));
  }

  function wake(): void {
    if (!ready() && !closed) return;
    if (outage && !closed) log.info("Redis reconnected", { redis: where });
    outage = false;
    for (const resolve of waiters) resolve();
    waiters.clear();
  }

  async function command(args: readonly string[]): Promise<unknown> {
    const started = performance.now();
    const reply: unknown = await main.sendCommand([...args], { timeout });
    options.onCommand?.(performance.now() - started);
    return reply;
  }

  return {
    command,
    publish: (channel, message) => command(["PUBLISH", channel, message]),
    run: (script, keys, args) => runScript(command, script, keys, args),
    async subscribe(channels, listener) {
      subscriber ??= openSubscriber();
      try {
        await subscriber.subscribe([...channels], listener);
      } catch (error) {
        if (!closed) {
          log.error("Redis subscribe failed", {
            redis: where,
            channels: channels.length,
            error: String(error),
          });
        }
        throw error;
      }
      subscribed = true;
      wake();
    },
    async unsubscribe(channels) {
      if (subscriber === undefined || closed) return;
      await subscriber.unsubscribe([...channels]).catch(() => {
        // Gone with the connection: a reconnect renews only what is subscribed.
      });
    },
    onResubscribed(fn) {
      resubscribed.add(fn);
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

/** `EVALSHA`, loading the script with `EVAL` when Redis lost it. */
export async function runScript(
  command: (args: readonly string[], key?: string) => Promise<unknown>,
  script: LuaScript,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  const sha = await script.sha;
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return await command(["EVALSHA", sha, ...tail], keys[0]);
  } catch (error) {
    if (!String(error).includes("NOSCRIPT")) throw error;
    return await command(["EVAL", script.source, ...tail], keys[0]);
  }
}

/** Closes gracefully when connected; otherwise stops the reconnect loop at once. */
export async function shut(
  client: { isReady: boolean; close(): Promise<void>; destroy(): void },
): Promise<void> {
  try {
    if (client.isReady) await client.close();
    else client.destroy();
  } catch {
    // Already closed.
  }
}

/**
 * Socket options of every roomcast Redis connection (single or cluster): a
 * 5 s connect timeout and reconnects with full jitter, `min + random(0,
 * min(max, min * 2^n))` ms.
 */
export function socketOptions(
  min: number,
  max: number,
): { connectTimeout: number; reconnectStrategy: (retries: number) => number } {
  return {
    connectTimeout: 5_000,
    reconnectStrategy: (retries: number) =>
      Math.round(min + Math.random() * Math.min(max, min * 2 ** retries)),
  };
}

/** `host:port` of a Redis URL, never its credentials. */
export function describe(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || "6379"}`;
  } catch {
    return "(invalid REDIS_URL)";
  }
}
