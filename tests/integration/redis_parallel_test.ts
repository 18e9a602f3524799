/**
 * `--parallel` on Redis: the process holds ONE subscriber connection, in the
 * supervisor, and every Worker's bus subscribes through it. Counted on a real
 * redis-server: `CLIENT LIST TYPE pubsub` (one connection), `PUBSUB NUMSUB`
 * of the node channel and of a room every Worker has members in (one
 * subscriber each), while delivery across the Workers stays once and in
 * order. A Worker killed gives up its subscriptions.
 */
import assert from "node:assert/strict";
import {
  nodeOf,
  openAcrossIsolates,
  startTestWorkers,
} from "../_support/harness.ts";
import { skipWithoutRedis, startRedis } from "../_support/redis.ts";
import { busChannel, roomChannel } from "../../lib/redis/keys.ts";

/** Runs redis-cli against `port`; returns its output. */
async function cli(port: number, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("redis-cli", {
    args: ["-p", String(port), ...args],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** Subscribers of `channel` (`PUBSUB NUMSUB`). */
async function numsub(port: number, channel: string): Promise<number> {
  const lines = (await cli(port, "pubsub", "numsub", channel)).split("\n");
  return Number(lines[1]);
}

/** Polls `read` until it returns `want`; returns the last value read. */
async function settle(read: () => Promise<number>, want: number) {
  let value = await read();
  for (let i = 0; i < 200 && value !== want; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    value = await read();
  }
  return value;
}

Deno.test({
  name:
    "--parallel on Redis: 3 Workers, one subscriber connection for the process; a room with members on every Worker is subscribed once; delivery once and in order",
  ignore: skipWithoutRedis(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using redis = await startRedis();
    const prefix = `par${crypto.randomUUID().slice(0, 8)}`;
    await using workers = await startTestWorkers({
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      BUS_UNSUBSCRIBE_GRACE_MS: "0",
    }, 3);
    const byNode = await openAcrossIsolates(workers.wsUrl, {
      perIsolate: 1,
      isolates: 3,
    });
    const clients = [...byNode.values()].flat();
    try {
      const members = [...byNode.values()].map((list) => list[0]!);
      for (const m of members) await m.join("team");
      const pubsub = await cli(redis.port, "client", "list", "type", "pubsub");
      const connections = pubsub.split("\n").filter((l) => l !== "").length;
      assert.equal(connections, 1, `pub/sub connections:\n${pubsub}`);
      assert.equal(await numsub(redis.port, busChannel(prefix)), 1);
      assert.equal(await numsub(redis.port, roomChannel(prefix, "team")), 1);
      assert.equal(workers.group.subscriber?.channels(), 2);

      // Once and in order on every Worker, whichever Worker publishes.
      for (let i = 1; i <= 30; i++) {
        members[i % 3]!.send({ type: "publish", room: "team", data: i });
      }
      for (const m of members) {
        const got: number[] = [];
        while (got.length < 30) {
          const msg = await m.next("message");
          got.push(msg.offset);
        }
        assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => i + 1));
      }

      // A room held by one Worker only, then that Worker killed: it goes.
      const solo = members[0]!;
      await solo.join("solo");
      const soloChannel = roomChannel(prefix, "solo");
      assert.equal(await numsub(redis.port, soloChannel), 1);
      const index = workers.group.nodes.findIndex((n) =>
        n.startsWith(nodeOf(solo))
      );
      assert.ok(index >= 0, "the Worker of the solo member is known");
      workers.group.kill(index);
      assert.equal(await settle(() => numsub(redis.port, soloChannel), 0), 0);
      assert.equal(
        await numsub(redis.port, roomChannel(prefix, "team")),
        1,
        "the others still hold team",
      );
    } finally {
      for (const c of clients) await c.close().catch(() => {});
    }
  },
});

Deno.test({
  name:
    "--parallel on Redis: what the shared subscriber drops for a lagging Worker (REDIS_RELAY_MAX_PENDING) is on that Worker's /metrics",
  ignore: skipWithoutRedis(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using redis = await startRedis();
    const prefix = `drop${crypto.randomUUID().slice(0, 8)}`;
    const key = `key-${crypto.randomUUID()}`;
    await using workers = await startTestWorkers({
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      REDIS_RELAY_MAX_PENDING: "64",
      API_KEY: key,
    }, 1);
    const byNode = await openAcrossIsolates(workers.wsUrl, {
      perIsolate: 1,
      isolates: 1,
    });
    const member = [...byNode.values()].flat()[0]!;
    try {
      await member.join("flood");
      // 2000 posts in one pipeline: Redis sends them in batches of hundreds,
      // which the supervisor relays within one turn, before the Worker can
      // confirm any: past 64 unconfirmed, it drops (they are not valid bus
      // posts; the Worker would ignore them anyway).
      const channel = roomChannel(prefix, "flood");
      const lines = Array.from(
        { length: 2000 },
        (_, i) => `PUBLISH ${channel} junk-${i}\r\n`,
      ).join("");
      const pipe = new Deno.Command("redis-cli", {
        args: ["-p", String(redis.port), "--pipe"],
        stdin: "piped",
        stdout: "null",
      }).spawn();
      const writer = pipe.stdin.getWriter();
      await writer.write(new TextEncoder().encode(lines));
      await writer.close();
      await pipe.status;
      const dropped = () => workers.group.subscriber?.dropped() ?? 0;
      const url = workers.wsUrl.replace(/^ws/, "http").replace(/\/ws$/, "");
      const onMetrics = async () => {
        const res = await fetch(`${url}/metrics`, {
          headers: { authorization: `Bearer ${key}` },
        });
        const line = (await res.text()).split("\n").find((l) =>
          l.startsWith("roomcast_redis_relay_dropped_total{")
        );
        assert.ok(line !== undefined, "no redis_relay_dropped_total");
        return Number(line.slice(line.lastIndexOf(" ") + 1));
      };
      // The Worker is told its count when it next confirms or gets a message.
      member.send({ type: "publish", room: "flood", data: "after" });
      assert.equal((await member.next("message")).data, "after");
      const seen = await settle(onMetrics, dropped());
      assert.ok(dropped() > 0, "the flood outran the Worker");
      assert.equal(seen, dropped(), "every drop is on /metrics");
    } finally {
      await member.close().catch(() => {});
    }
  },
});
