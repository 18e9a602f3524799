/** The Redis bus transport against a real redis-server. */
import assert from "node:assert/strict";
import { silentLogger } from "../support/log.ts";
import { openRedis, type RedisClient } from "../redis/client.ts";
import { replyArray } from "../redis/keys.ts";
import {
  skipWithoutRedis,
  startRedis,
  waitFor,
} from "../../tests/_support/redis.ts";
import { type BusEvent, createBus, NODE_TOPIC } from "./bus.ts";
import { redisTransport } from "./redis.ts";

const ignore = skipWithoutRedis();
const channel = "test:bus";
const roomChannel = (room: string) => `test:{${room}}:bus`;

async function connect(url: string): Promise<RedisClient> {
  const redis = await openRedis(url, {
    log: silentLogger,
    minReconnectDelayMs: 10,
    maxReconnectDelayMs: 50,
  });
  return redis;
}

function transport(redis: RedisClient) {
  return redisTransport(redis, { channel, roomChannel, log: silentLogger });
}

function post(node: string, seq: number, room = "r"): string {
  return JSON.stringify({
    v: 1,
    node,
    seq,
    events: [{ kind: "message", room, offset: seq, epoch: "e", frame: "{}" }],
  });
}

Deno.test({
  name:
    "redisTransport() delivers node posts to every transport and room posts to the subscribed ones only",
  ignore,
  async fn() {
    await using server = await startRedis();
    const [ra, rb] = [await connect(server.url), await connect(server.url)];
    const a = transport(ra);
    const b = transport(rb);
    const atA: Array<[string, unknown]> = [];
    const atB: Array<[string, unknown]> = [];
    a.onPost((topic, text) => atA.push([topic, text]));
    b.onPost((topic, text) => atB.push([topic, text]));
    await Promise.all([ra.whenReady(), rb.whenReady()]);
    await b.subscribe!(["r"]);
    a.post("other", post("node-a", 1, "other")); // nobody subscribed
    a.post("r", post("node-a", 1));
    a.post(NODE_TOPIC, post("node-a", 2));
    b.post(NODE_TOPIC, post("node-b", 1));
    // Redis echoes to the sender (the bus drops its own by their prefix).
    await waitFor(() => atB.length === 3 && atA.length === 2, "delivery");
    assert.deepEqual(atB, [
      ["r", post("node-a", 1)],
      [NODE_TOPIC, post("node-a", 2)],
      [NODE_TOPIC, post("node-b", 1)],
    ]);
    assert.deepEqual(atA, [
      [NODE_TOPIC, post("node-a", 2)],
      [NODE_TOPIC, post("node-b", 1)],
    ]);
    const numsub = async () =>
      replyArray(await ra.command(["PUBSUB", "NUMSUB", roomChannel("r")]))?.[1];
    assert.equal(await numsub(), 1);
    b.unsubscribe!(["r"]);
    while (await numsub() !== 0) await new Promise((r) => setTimeout(r, 10));
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
    const a = createBus(transport(ra!));
    const b = createBus(transport(rb!));
    await Promise.all([ra!.whenReady(), rb!.whenReady(), rc!.whenReady()]);
    await b.join("r");
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
    await rc!.command(["PUBLISH", roomChannel("r"), "not json"]);
    await waitFor(() => got.length === 2_000, "2,000 events");
    assert.deepEqual(
      got.map((e) => e.kind === "message" ? e.offset : 0),
      Array.from({ length: 2_000 }, (_, i) => i + 1),
    );
    await waitFor(() => b.stats().invalid === 1, "the junk post");
    assert.equal(b.stats().gaps, 0);
    assert.equal(b.stats().postsUnwanted, 0);
    await a.close();
    await b.close();
    await Promise.all([ra!, rb!, rc!].map((r) => r.close()));
  },
});

Deno.test({
  name:
    "redisTransport() subscribes the node channel and the rooms again after Redis restarts",
  ignore,
  async fn() {
    await using server = await startRedis();
    const [ra, rb] = [await connect(server.url), await connect(server.url)];
    const a = transport(ra);
    const b = transport(rb);
    const atB: Array<[string, unknown]> = [];
    b.onPost((topic, text) => atB.push([topic, text]));
    await Promise.all([ra.whenReady(), rb.whenReady()]);
    await b.subscribe!(["r"]);
    a.post("r", post("node-a", 1));
    await waitFor(() => atB.length === 1, "first post");
    await server.restart();
    // Whenever both connections are back, a post gets through: keep posting.
    let seq = 1;
    await waitFor(() => {
      if (ra.ready()) {
        a.post("r", post("node-a", ++seq));
        a.post(NODE_TOPIC, post("node-a", ++seq));
      }
      return atB.some(([t]) => t === "r" && atB.length > 1) &&
        atB.some(([t]) => t === NODE_TOPIC);
    }, "posts on both channels after the restart");
    assert.equal(rb.ready(), true);
    a.close();
    b.close();
    await ra.close();
    await rb.close();
  },
});
