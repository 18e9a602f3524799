/**
 * Bus transport over Redis pub/sub: links every isolate and process that
 * uses the same Redis and channel, across machines. Posts travel as JSON on
 * one channel; the subscription lives on its own connection and is renewed
 * after every reconnect.
 *
 * Redis delivers a post to every subscriber, the sender included: posts from
 * a node id this transport has posted under are dropped. Pub/sub keeps
 * nothing for a disconnected subscriber, so posts sent during an outage are
 * lost; {@linkcode createBus} counts them as gaps and the room streams fill
 * the holes from the room log.
 *
 * @module
 */

import { isRecord } from "../protocol/mod.ts";
import type { Logger } from "../support/log.ts";
import type { RedisClient } from "../redis/client.ts";
import type { BusTransport } from "./bus.ts";

/** Options for {@linkcode redisTransport}. */
export interface RedisTransportOptions {
  /** The pub/sub channel shared by every node of the deployment. */
  channel: string;
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
 * const bus = createBus(redisTransport(redis, { channel: "roomcast:bus", log }));
 * await bus.close();
 * await redis.close();
 * ```
 */
export function redisTransport(
  redis: RedisClient,
  options: RedisTransportOptions,
): BusTransport {
  const { channel, log } = options;
  const own = new Set<string>();
  let handler: ((post: unknown) => void) | undefined;
  let closed = false;
  let failing = false;

  redis.subscribe(channel, (text) => {
    if (closed || handler === undefined) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text; // not JSON: the bus counts it as invalid
    }
    if (isRecord(value) && typeof value.node === "string") {
      if (own.has(value.node)) return; // our own post, echoed by Redis
    }
    handler(value);
  });

  return {
    post(post) {
      own.add(post.node);
      redis.command(["PUBLISH", channel, JSON.stringify(post)]).then(
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
    close() {
      closed = true;
      handler = undefined;
    },
  };
}
