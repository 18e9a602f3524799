/**
 * The join race on the Redis engine, forced: a node hears a room's channel
 * only while it has members there, so the first join of a room on a node
 * subscribes, then reads the head for `joined`. A message published in
 * between is neither lost (published before the subscription is confirmed,
 * it must be at or below the head) nor duplicated (published after it and
 * received while the head is read, it must not be sent again). The gates sit
 * in the node's transport around the real `SUBSCRIBE`; no sleeps.
 */
import assert from "node:assert/strict";
import type { BusTransport } from "../../lib/bus/bus.ts";
import { openEngine } from "../../lib/server/engine.ts";
import { parseConfig } from "../../lib/support/config.ts";
import { silentLogger } from "../../lib/support/log.ts";
import { startTestServer, TestClient } from "../_support/harness.ts";
import {
  skipWithoutRedis,
  startRedis,
  startRedisNode,
  waitFor,
} from "../_support/redis.ts";

const ignore = skipWithoutRedis();
// Repair must not mask a loss: a hole would wait a minute for history.
const ENV = { REPAIR_DELAY_MS: "60000" };

/** A gate around the transport's room subscribe: before and after the real one. */
interface Gates {
  /** Resolves when the node asks to subscribe (before the command is sent). */
  asked: Promise<void>;
  /** Resolves when Redis has confirmed the subscription (head not read yet). */
  confirmed: Promise<void>;
  /** Lets the subscribe command go out. */
  send(): void;
  /** Lets the confirmed subscribe return to the bus (then the head is read). */
  finish(): void;
}

function gated(
  transport: BusTransport,
): { transport: BusTransport; gates: Gates } {
  const asked = Promise.withResolvers<void>();
  const confirmed = Promise.withResolvers<void>();
  const send = Promise.withResolvers<void>();
  const finish = Promise.withResolvers<void>();
  const subscribe = transport.subscribe!.bind(transport);
  return {
    transport: {
      post: (topic, text) => transport.post(topic, text),
      onPost: (handler) => transport.onPost(handler),
      unsubscribe: (rooms) => transport.unsubscribe?.(rooms),
      close: () => transport.close(),
      async subscribe(rooms) {
        asked.resolve();
        await send.promise;
        await subscribe(rooms);
        confirmed.resolve();
        await finish.promise;
      },
    },
    gates: {
      asked: asked.promise,
      confirmed: confirmed.promise,
      send: () => send.resolve(),
      finish: () => finish.resolve(),
    },
  };
}

/** Node B on the Redis engine with its room subscribe gated. */
async function gatedNode(url: string, prefix: string) {
  const env = { ...ENV, REDIS_URL: url, REDIS_PREFIX: prefix };
  const engine = await openEngine(
    parseConfig(new Map(Object.entries(env))),
    silentLogger,
  );
  await waitFor(engine.ready, "the Redis engine");
  const { transport, gates } = gated(engine.transport!);
  const server = await startTestServer({
    env,
    history: engine.history,
    transport,
  });
  return {
    server,
    gates,
    async [Symbol.asyncDispose]() {
      gates.send();
      gates.finish();
      await server.shutdown();
      await engine.close();
    },
  };
}

async function publish(client: TestClient, data: string, id: string) {
  client.send({ type: "publish", room: "race", data, id });
  const ack = await client.next("ack", { skip: true });
  return ack.offset;
}

for (const when of ["before", "after"] as const) {
  Deno.test({
    name:
      `Redis join race: a message published ${when} the subscription is confirmed, before the head is read, is neither lost nor duplicated`,
    ignore,
    async fn() {
      await using redis = await startRedis();
      const prefix = `t${crypto.randomUUID().slice(0, 8)}`;
      await using a = await startRedisNode(redis.url, {
        ...ENV,
        REDIS_PREFIX: prefix,
      });
      await using b = await gatedNode(redis.url, prefix);
      await using publisher = await TestClient.open(a.wsUrl);
      await publisher.join("race");
      assert.equal(await publish(publisher, "m1", "1"), 1);

      await using member = await TestClient.open(b.server.wsUrl);
      member.send({ type: "join", room: "race" });
      await b.gates.asked;
      let racing: number;
      if (when === "before") {
        // Not subscribed yet: B cannot hear it, so the head must cover it.
        racing = await publish(publisher, "m2", "2");
        b.gates.send();
        await b.gates.confirmed;
      } else {
        b.gates.send();
        await b.gates.confirmed;
        // Subscribed, head not read: B hears it and must not send it twice.
        racing = await publish(publisher, "m2", "2");
        await waitFor(
          () => b.server.metrics.get("bus_messages_received_total") >= 1,
          "B to receive the racing message",
        );
      }
      b.gates.finish();
      const joined = await member.next("joined");
      assert.equal(racing, 2);
      const after = await publish(publisher, "m3", "3");
      const seen: number[] = [];
      while (seen.at(-1) !== after) {
        seen.push((await member.next("message", { skip: true })).offset);
      }
      // Everything after the head, each once, none at or below it.
      assert.equal(joined.offset, 2);
      assert.deepEqual(seen, [3]);
      assert.equal(b.server.metrics.get("history_repaired_total"), 0);
    },
  });
}
