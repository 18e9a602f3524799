/** The Redis bus transport against a real redis-server. */
import assert from "node:assert/strict";
import { silentLogger } from "../support/log.ts";
import { openRedis, type RedisClient } from "../redis/client.ts";
import {
  skipWithoutRedis,
  startRedis,
  waitFor,
} from "../../tests/_support/redis.ts";
import { type BusEvent, type BusPost, createBus } from "./bus.ts";
import { redisTransport } from "./redis.ts";

const ignore = skipWithoutRedis();
const channel = "test:bus";

async function connect(url: string): Promise<RedisClient> {
  const redis = await openRedis(url, {
    log: silentLogger,
    minReconnectDelayMs: 10,
    maxReconnectDelayMs: 50,
  });
  return redis;
}

function post(node: string, seq: number, room = "r"): BusPost {
  return {
    v: 1,
    node,
    seq,
    events: [{ kind: "message", room, offset: seq, epoch: "e", frame: "{}" }],
  };
}

Deno.test({
  name:
    "redisTransport() delivers posts to the other transports, never back to the sender",
  ignore,
  async fn() {
    await using server = await startRedis();
    const [ra, rb] = [await connect(server.url), await connect(server.url)];
    const a = redisTransport(ra, { channel, log: silentLogger });
    const b = redisTransport(rb, { channel, log: silentLogger });
    const atA: unknown[] = [];
    const atB: unknown[] = [];
    a.onPost((p) => atA.push(p));
    b.onPost((p) => atB.push(p));
    await Promise.all([ra.whenReady(), rb.whenReady()]);
    a.post(post("node-a", 1));
    a.post(post("node-a", 2));
    b.post(post("node-b", 1));
    await waitFor(() => atB.length === 2 && atA.length === 1, "delivery");
    assert.deepEqual(atB, [post("node-a", 1), post("node-a", 2)]);
    assert.deepEqual(atA, [post("node-b", 1)]);
    a.close();
    b.close();
    await ra.close();
    await rb.close();
  },
});

Deno.test({
  name:
    "createBus() over Redis: events arrive in order, no gaps, junk counted as invalid",
  ignore,
  async fn() {
    await using server = await startRedis();
    const [ra, rb, rc] = await Promise.all(
      [1, 2, 3].map(() => connect(server.url)),
    );
    const a = createBus(redisTransport(ra!, { channel, log: silentLogger }));
    const b = createBus(redisTransport(rb!, { channel, log: silentLogger }));
    await Promise.all([ra!.whenReady(), rb!.whenReady(), rc!.whenReady()]);
    const got: BusEvent[] = [];
    b.subscribe((event) => got.push(event));
    for (let i = 1; i <= 2_000; i++) {
      a.publish({
        kind: "message",
        room: "r",
        offset: i,
        epoch: "e",
        frame: "x",
      });
      if (i % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await rc!.command(["PUBLISH", channel, "not json"]);
    await waitFor(() => got.length === 2_000, "2,000 events");
    assert.deepEqual(
      got.map((e) => e.kind === "message" ? e.offset : 0),
      Array.from({ length: 2_000 }, (_, i) => i + 1),
    );
    await waitFor(() => b.stats().invalid === 1, "the junk post");
    assert.equal(b.stats().gaps, 0);
    await a.close();
    await b.close();
    await Promise.all([ra!, rb!, rc!].map((r) => r.close()));
  },
});

Deno.test({
  name: "redisTransport() subscribes again after Redis restarts",
  ignore,
  async fn() {
    await using server = await startRedis();
    const [ra, rb] = [await connect(server.url), await connect(server.url)];
    const a = redisTransport(ra, { channel, log: silentLogger });
    const b = redisTransport(rb, { channel, log: silentLogger });
    const atB: unknown[] = [];
    b.onPost((p) => atB.push(p));
    await Promise.all([ra.whenReady(), rb.whenReady()]);
    a.post(post("node-a", 1));
    await waitFor(() => atB.length === 1, "first post");
    await server.restart();
    // Whenever both connections are back, a post gets through: keep posting.
    let seq = 1;
    await waitFor(() => {
      if (atB.length < 2 && ra.ready()) a.post(post("node-a", ++seq));
      return atB.length >= 2;
    }, "a post after the restart");
    assert.equal(rb.ready(), true);
    a.close();
    b.close();
    await ra.close();
    await rb.close();
  },
});
