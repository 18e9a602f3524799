/**
 * Bus transport over Redis pub/sub: links every isolate and process that
 * uses the same Redis, across machines. Each room has its own channel, which
 * an isolate subscribes to only while it has local members there (the bus
 * decides when: {@linkcode Bus.join}); node-level events travel on the node
 * channel, which every isolate subscribes to. Subscriptions live on their own
 * connection and are renewed after every reconnect; in a cluster they are
 * sharded (`SSUBSCRIBE`), so a room's traffic touches its shard only.
 *
 * Redis delivers a post to every subscriber, the sender included: the bus
 * drops its own posts by their prefix, before decoding. Pub/sub keeps
 * nothing for a disconnected subscriber, so posts sent during an outage are
 * lost; {@linkcode createBus} counts them as gaps and the room streams fill
 * the holes from the room log. Once the client renewed the subscriptions
 * after an interruption, the transport says so ({@linkcode BusTransport.onResume}):
 * the posts of a room's last moments show no gap, so the room streams read
 * what they missed.
 *
 * @module
 */

import type { Logger } from "../support/log.ts";
import type { RedisClient } from "../redis/client.ts";
import { type BusTransport, NODE_TOPIC } from "./bus.ts";

/** Options for {@linkcode redisTransport}. */
export interface RedisTransportOptions {
  /** The node channel, shared by every node of the deployment. */
  channel: string;
  /** The channel of one room. */
  roomChannel(room: string): string;
  /** Where failed posts are reported. */
  log: Logger;
}

/**
 * A bus transport on `redis`. Closing it stops delivery; the connections
 * belong to the caller.
 *
 * @example Usage
 * ```ts ignore
 * import { createBus } from "./bus.ts";
 * import { redisTransport } from "./redis.ts";
 * import { openRedis } from "../redis/client.ts";
 * import { createLogger } from "../support/log.ts";
 *
 * const log = createLogger();
 * const redis = await openRedis("redis://127.0.0.1:6379", { log });
 * const bus = createBus(redisTransport(redis, {
 *   channel: "roomcast:bus",
 *   roomChannel: (room) => `roomcast:v1:{${room}}:bus`,
 *   log,
 * }));
 * await bus.close();
 * await redis.close();
 * ```
 */
export function redisTransport(
  redis: RedisClient,
  options: RedisTransportOptions,
): BusTransport {
  const { channel, log } = options;
  /** Subscribed room channels, to the room they carry. */
  const rooms = new Map<string, string>();
  let handler: ((topic: string, text: unknown) => void) | undefined;
  let closed = false;
  let failing = false;

  const listener = (text: string, from: string) => {
    if (closed || handler === undefined) return;
    if (from === channel) return handler(NODE_TOPIC, text);
    const room = rooms.get(from);
    if (room !== undefined) handler(room, text);
  };
  redis.subscribe([channel], listener).catch(() => {
    // Logged by the client; ready() stays false until it works.
  });

  return {
    post(topic, text) {
      const to = topic === NODE_TOPIC ? channel : options.roomChannel(topic);
      redis.publish(to, text).then(
        () => {
          if (failing) log.info("Bus posts flow again over Redis");
          failing = false;
        },
        (error: unknown) => {
          // Once per outage: receivers count the lost posts as gaps.
          if (!failing) {
            log.warn("Bus posts lost: Redis unavailable", {
              error: String(error),
            });
          }
          failing = true;
        },
      );
    },
    onPost(h) {
      handler = h;
    },
    onResume(h) {
      redis.onResubscribed?.(() => {
        if (!closed) h();
      });
    },
    async subscribe(list) {
      const channels = list.map((room) => {
        const name = options.roomChannel(room);
        rooms.set(name, room);
        return name;
      });
      await redis.subscribe(channels, listener);
    },
    unsubscribe(list) {
      const channels = list.map((room) => options.roomChannel(room));
      for (const name of channels) rooms.delete(name);
      redis.unsubscribe(channels).catch(() => {
        // Nothing to undo: the channel is gone with the connection.
      });
    },
    close() {
      closed = true;
      handler = undefined;
    },
  };
}
