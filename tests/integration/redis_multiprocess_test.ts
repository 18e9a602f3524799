/**
 * Rooms across nodes on the Redis engine: every member gets every message
 * once and in order whichever node it is on, presence looks the same from
 * every node, and a client resumes on another node than the one it left.
 *
 * The nodes are servers with their own engine (own Redis connections, own
 * bus node) in this process, and separate processes.
 */
import assert from "node:assert/strict";
import type { RoomMessage } from "../../lib/protocol/mod.ts";
import { report, TestClient } from "../_support/harness.ts";
import { type Spawned, spawnServer } from "../_support/process.ts";
import {
  skipWithoutRedis,
  startRedis,
  startRedisNode,
} from "../_support/redis.ts";
import { startRedisCluster } from "../_support/redis_cluster.ts";

const ignore = skipWithoutRedis();
const ENV = { PRESENCE_INTERVAL_MS: "200", PRESENCE_TIMEOUT_MS: "2000" };

/** Joins `room` visibly: presence is opt-in, `meta` enters it. */
async function enter(client: TestClient, room: string) {
  client.send({ type: "join", room, meta: {} });
  return await client.next("joined");
}

/** Opens `perNode` clients on each url, named u0, u1, … */
async function spread(urls: string[], perNode: number): Promise<TestClient[]> {
  const clients: TestClient[] = [];
  for (let i = 0; i < perNode; i++) {
    for (const url of urls) {
      clients.push(await TestClient.open(`${url}?user=u${clients.length}`));
    }
  }
  return clients;
}

/**
 * Joins everyone, then waits until each client's view of the room (the
 * `joined` member list, then presence events) is everyone. Presence is
 * eventually consistent: a member who joined on another node an instant
 * earlier may come as an event rather than in the list.
 */
async function joinAll(clients: TestClient[], room: string): Promise<void> {
  const views = new Map<TestClient, Set<string>>();
  for (const client of clients) {
    const joined = await enter(client, room);
    views.set(client, new Set((joined.members ?? []).map((m) => m.id)));
  }
  const everyone = clients.map((c) => c.memberId).sort().join();
  for (const [client, view] of views) {
    while ([...view].sort().join() !== everyone) {
      const p = await client.next("presence");
      if (p.event === "join") view.add(p.member.id);
      else view.delete(p.member.id);
    }
  }
}

/** Reads `count` messages: offsets must run on with no gap and no repeat. */
async function readAll(
  client: TestClient,
  count: number,
): Promise<RoomMessage[]> {
  const got: RoomMessage[] = [];
  for (let i = 0; i < count; i++) got.push(await client.next("message"));
  for (let i = 1; i < got.length; i++) {
    assert.equal(got[i]!.offset, got[i - 1]!.offset + 1, "gap-free, in order");
  }
  return got;
}

/** Publishes and checks delivery, presence and cross-node resume over `urls`. */
async function exercise(label: string, urls: string[]): Promise<void> {
  const clients = await spread(urls, 2);
  await joinAll(clients, "lobby");
  // A late joiner on each node sees the same member list.
  const everyone = clients.map((c) => c.memberId).sort();
  for (const [i, url] of urls.entries()) {
    await using late = await TestClient.open(`${url}?user=late-${i}`);
    const joined = await enter(late, "lobby");
    const ids = (joined.members ?? []).map((m) => m.id);
    assert.ok(ids.includes(`late-${i}`));
    assert.deepEqual(
      ids.filter((id) => !id.startsWith("late")).sort(),
      everyone,
    );
  }
  for (const c of clients) {
    // Each late joiner came and went: one join and one leave each.
    const seen = [];
    for (let i = 0; i < 2 * urls.length; i++) {
      const p = await c.next("presence");
      seen.push(`${p.event} ${p.member.id}`);
    }
    assert.deepEqual(
      seen.sort(),
      urls.flatMap((_, i) => [`join late-${i}`, `leave late-${i}`]).sort(),
    );
  }

  const publishers = clients.slice(0, urls.length); // one per node
  const perPublisher = 300;
  const total = perPublisher * publishers.length;
  const started = performance.now();
  for (let i = 1; i <= perPublisher; i++) {
    for (const p of publishers) {
      p.send({ type: "publish", room: "lobby", data: i });
    }
  }
  const results = await Promise.all(clients.map((c) => readAll(c, total)));
  const ms = performance.now() - started;
  for (const got of results) {
    const bySender = new Map<string, number[]>();
    for (const m of got) {
      bySender.set(m.from, [...(bySender.get(m.from) ?? []), Number(m.data)]);
    }
    assert.equal(bySender.size, publishers.length);
    for (const seq of bySender.values()) {
      assert.deepEqual(
        seq,
        Array.from({ length: perPublisher }, (_, i) => i + 1),
      );
    }
  }
  const delivered = total * clients.length;
  report(
    `${label}: ${urls.length} nodes, ${clients.length} clients, ${total} published, ` +
      `${delivered} delivered in ${Math.round(ms)} ms ` +
      `(${
        Math.round(delivered / (ms / 1000))
      } messages/s), lost 0, duplicated 0`,
  );

  // Resume on another node: leave node 0, miss 50 messages, come back on node 1.
  const leaver = clients[0]!;
  const last = results[0]!.at(-1)!;
  await leaver.close();
  const sender = clients[1]!;
  for (let i = 1; i <= 50; i++) {
    sender.send({ type: "publish", room: "lobby", data: `missed ${i}` });
  }
  for (const c of clients.slice(1)) await readAll(c, 50);
  await using back = await TestClient.open(`${urls[1 % urls.length]}?user=u0`);
  back.send({
    type: "join",
    room: "lobby",
    since: { offset: last.offset, epoch: last.epoch },
  });
  const joined = await back.next("joined");
  assert.equal(joined.recovered, true);
  const missed = await readAll(back, 50);
  assert.equal(missed[0]!.offset, last.offset + 1);
  assert.deepEqual(
    missed.map((m) => m.data),
    Array.from({ length: 50 }, (_, i) => `missed ${i + 1}`),
  );
  for (const c of clients.slice(1)) await c.close();
}

Deno.test({
  name:
    "Redis engine, three nodes in one process: delivery, presence and resume span nodes",
  ignore,
  async fn() {
    await using redis = await startRedis();
    await using a = await startRedisNode(redis.url, ENV);
    await using b = await startRedisNode(redis.url, ENV);
    await using c = await startRedisNode(redis.url, ENV);
    await exercise("redis, in-process nodes", [a.wsUrl, b.wsUrl, c.wsUrl]);
  },
});

async function processes(url: string, count: number): Promise<Spawned[]> {
  return await Promise.all(
    Array.from(
      { length: count },
      () => spawnServer({ ...ENV, REDIS_URL: url }),
    ),
  );
}

Deno.test({
  name:
    "main.ts processes on REDIS_URL: delivery, presence and resume span processes",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using redis = await startRedis();
    const nodes = await processes(redis.url, 3);
    try {
      await exercise("redis, main.ts processes", nodes.map((n) => n.wsUrl));
    } finally {
      for (const node of nodes) await node[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name:
    "Redis Cluster (3 masters), three nodes: delivery, presence and resume span nodes",
  ignore,
  async fn() {
    await using cluster = await startRedisCluster();
    const env = { ...ENV, REDIS_CLUSTER: "1" };
    await using a = await startRedisNode(cluster.url, env);
    await using b = await startRedisNode(cluster.url, env);
    await using c = await startRedisNode(cluster.url, env);
    await exercise("redis cluster, in-process nodes", [
      a.wsUrl,
      b.wsUrl,
      c.wsUrl,
    ]);
  },
});
