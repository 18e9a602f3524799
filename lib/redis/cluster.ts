/**
 * The Redis client on a Redis Cluster (`REDIS_CLUSTER=1`): node-redis's own
 * `createCluster`, seeded with the one node of `REDIS_URL`; it discovers the
 * others, follows `MOVED`/`ASK` and failovers, and keeps one connection per
 * master for commands and one per master for sharded pub/sub.
 *
 * Every key and channel of a room carries the room as its hash tag
 * (`keys.ts`), so a room's script runs in one slot and its messages travel
 * on its own shard (`SPUBLISH`/`SSUBSCRIBE`, Redis ≥ 7); the node channel
 * has a fixed hash tag, so it lives on one shard too. A sharded subscribe
 * takes channels of one slot, so each room is its own `SSUBSCRIBE`: the
 * commands of one tick are pipelined, one round trip per shard.
 *
 * @module
 */

import type { Logger } from "../support/log.ts";
import {
  type ChannelListener,
  describe,
  type OpenRedisOptions,
  type RedisClient,
  runScript,
  socketOptions,
} from "./client.ts";

/**
 * The event node-redis emits on the cluster when it moves pub/sub listeners
 * to other nodes (`RESUBSCRIBE_LISTENERS_EVENT` of its `cluster-slots.js`,
 * not exported from the package root; the version is pinned).
 */
const RESUBSCRIBE_EVENT = "__resubscribeListeners";

/**
 * Loads the client library and starts discovering the cluster from the seed
 * node `url` in the background: an unreachable cluster is logged and
 * retried, never thrown.
 */
export async function openRedisCluster(
  url: string,
  options: OpenRedisOptions,
): Promise<RedisClient> {
  const { createCluster } = await import("npm:@redis/client@6.3.1");
  const log: Logger = options.log;
  const timeout = options.commandTimeoutMs ?? 5_000;
  const min = options.minReconnectDelayMs ?? 100;
  const max = options.maxReconnectDelayMs ?? 5_000;
  const where = describe(url);
  let closed = false;
  let outage = false;
  let connected = false;
  let subscribed = false;
  let subscribing = false;
  const waiters = new Set<() => void>();
  const onConnect = new Set<() => void>();
  const cluster = createCluster({
    rootNodes: [{ url }],
    RESP: 2,
    // A node that keeps failing to reconnect (a dead master) makes the client
    // re-read the topology after 1 s, and every 1 s while it lasts (node-redis
    // waits 5 s), so it finds the promoted replica sooner.
    topologyRefreshOnReconnectionAttemptStrategy: 1_000,
    defaults: {
      disableOfflineQueue: true,
      pingInterval: 10_000,
      socket: socketOptions(min, max),
    },
  });
  /** Our sharded channels and their listeners, to renew after a topology change. */
  const channels = new Map<string, ChannelListener>();
  const resubscribed = new Set<() => void>();
  let renewing: Promise<void> | undefined;
  let renewAgain = false;

  /**
   * After node-redis moved or renewed sharded subscriptions (a failover, a
   * moved slot, a reconnected shard): messages published meanwhile were
   * lost, and its own re-subscribe is not awaited. Subscribe every channel
   * again (a no-op where it is confirmed on the slot's master, else one
   * `SSUBSCRIBE` each), then tell the listeners, who read what they missed.
   */
  function renew(): void {
    if (closed || !subscribed) return;
    if (renewing !== undefined) {
      renewAgain = true;
      return;
    }
    renewing = (async () => {
      for (let attempt = 0; !closed; attempt++) {
        renewAgain = false;
        try {
          // Bounded: a subscribe routed to a dead master may never settle.
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([
            Promise.all(
              [...channels].map(([channel, listener]) =>
                cluster.sSubscribe(channel, listener)
              ),
            ),
            new Promise((_, reject) => {
              timer = setTimeout(
                () => reject(new Error("re-subscribe timed out")),
                timeout,
              );
            }),
          ]).finally(() => clearTimeout(timer));
          if (renewAgain) continue;
          for (const fn of resubscribed) fn();
          return;
        } catch (error) {
          log.debug("Redis Cluster re-subscribe failed, retrying", {
            redis: where,
            error: String(error),
          });
          const pause = min + Math.random() * Math.min(max, min * 2 ** attempt);
          await new Promise((resolve) => setTimeout(resolve, pause));
        }
      }
    })().finally(() => renewing = undefined);
  }
  cluster.on(RESUBSCRIBE_EVENT, () => queueMicrotask(renew));
  cluster.on("node-ready", () => {
    if (connected) queueMicrotask(renew);
  });
  cluster.on("error", (error: unknown) => {
    if (closed) return;
    if (!outage) {
      outage = true;
      log.error("Redis Cluster unreachable: retrying with backoff", {
        redis: where,
        error: String(error),
      });
    }
  });

  function ready(): boolean {
    return !closed && connected && cluster.isReady &&
      (!subscribing || subscribed);
  }

  function wake(): void {
    if (!ready() && !closed) return;
    if (outage && !closed) {
      log.info("Redis Cluster reachable", { redis: where });
    }
    outage = false;
    for (const resolve of waiters) resolve();
    waiters.clear();
  }

  // The first discovery may fail (seed not up yet): retry until it works.
  (async () => {
    for (let attempt = 0; !closed; attempt++) {
      try {
        await cluster.connect();
        connected = true;
        for (const resolve of onConnect) resolve();
        onConnect.clear();
        wake();
        return;
      } catch (error) {
        if (!outage && !closed) {
          outage = true;
          log.error("Redis Cluster unreachable: retrying with backoff", {
            redis: where,
            error: String(error),
          });
        }
        const pause = min + Math.random() * Math.min(max, min * 2 ** attempt);
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  })();

  async function command(
    args: readonly string[],
    key?: string,
  ): Promise<unknown> {
    if (!connected) throw new Error("Redis Cluster not connected");
    const started = performance.now();
    const reply: unknown = await cluster.sendCommand(key, false, [...args], {
      timeout,
    });
    options.onCommand?.(performance.now() - started);
    return reply;
  }

  return {
    command,
    publish: (channel, message) =>
      command(["SPUBLISH", channel, message], channel),
    run: (script, keys, args) => runScript(command, script, keys, args),
    async subscribe(list, listener) {
      subscribing = true;
      await whenConnected();
      try {
        for (const channel of list) channels.set(channel, listener);
        await Promise.all(
          list.map((channel) => cluster.sSubscribe(channel, listener)),
        );
      } catch (error) {
        if (!closed) {
          log.error("Redis Cluster subscribe failed", {
            redis: where,
            channels: list.length,
            error: String(error),
          });
        }
        throw error;
      }
      subscribed = true;
      wake();
    },
    async unsubscribe(list) {
      for (const channel of list) channels.delete(channel);
      if (closed || !connected) return;
      await Promise.all(
        list.map((channel) =>
          cluster.sUnsubscribe(channel).catch(() => {
            // Gone with its shard's connection.
          })
        ),
      );
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
      for (const resolve of onConnect) resolve();
      wake();
      try {
        if (connected) await cluster.close();
        else cluster.destroy();
      } catch {
        // Already closed.
      }
    },
  };

  function whenConnected(): Promise<void> {
    if (connected || closed) return Promise.resolve();
    return new Promise((resolve) => onConnect.add(resolve));
  }
}
