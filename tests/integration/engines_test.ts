/**
 * One behavioural suite, run against both engines: the embedded one (Deno KV
 * room log, BroadcastChannel between nodes standing in for isolates) and the
 * Redis one (a real redis-server). Two nodes share each engine; what one node
 * accepts, every member on either node sees, in order, once.
 */
import assert from "node:assert/strict";
import {
  skipWithoutRedis,
  startRedis,
  type TestRedis,
} from "../_support/redis.ts";
import { startRedisCluster } from "../_support/redis_cluster.ts";
import {
  report,
  startTestServer,
  TEST_ENV,
  TestClient,
  type TestServer,
} from "../_support/harness.ts";
import { parseConfig } from "../../lib/support/config.ts";
import { silentLogger } from "../../lib/support/log.ts";
import { startServer } from "../../lib/server/server.ts";
import { upgradeStatus } from "../_support/raw_ws.ts";

interface Engine {
  name: string;
  ignore: boolean;
  /** Environment for the nodes of one test: they share the engine's state. */
  open(): Promise<{ env: Record<string, string> } & AsyncDisposable>;
}

const ENGINES: Engine[] = [
  {
    name: "embedded (KV + BroadcastChannel)",
    ignore: false,
    async open() {
      const dir = await Deno.makeTempDir();
      return {
        env: {
          HISTORY: "kv",
          KV_PATH: `${dir}/roomcast.kv`,
          // Two servers share the database: each commits before delivering.
          HISTORY_WRITE: "through",
          BUS: "broadcast-channel",
          BUS_CHANNEL: `engines-${crypto.randomUUID()}`,
        },
        [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
      };
    },
  },
  {
    name: "redis",
    ignore: skipWithoutRedis(),
    async open() {
      const redis: TestRedis = await startRedis();
      return {
        env: {
          REDIS_URL: redis.url,
          REDIS_PREFIX: `t${crypto.randomUUID().slice(0, 8)}`,
        },
        [Symbol.asyncDispose]: () => redis[Symbol.asyncDispose](),
      };
    },
  },
  {
    name: "redis cluster",
    ignore: skipWithoutRedis(),
    async open() {
      const cluster = await startRedisCluster();
      return {
        env: {
          REDIS_URL: cluster.url,
          REDIS_CLUSTER: "1",
          REDIS_PREFIX: `t${crypto.randomUUID().slice(0, 8)}`,
        },
        [Symbol.asyncDispose]: () => cluster[Symbol.asyncDispose](),
      };
    },
  },
];

/** Two nodes on one engine. */
async function nodes(env: Record<string, string>, extra = {}) {
  const a = await startTestServer({ env: { ...env, ...extra } });
  const b = await startTestServer({ env: { ...env, ...extra } });
  return {
    a,
    b,
    async [Symbol.asyncDispose]() {
      await a.shutdown();
      await b.shutdown();
    },
  };
}

async function joinAll(room: string, clients: TestClient[]) {
  for (const c of clients) {
    c.send({ type: "join", room, meta: { name: c.memberId } });
    await c.next("joined");
  }
}

/** Waits until `client` has seen presence joins for every id in `ids`. */
async function seesMembers(client: TestClient, ids: string[]) {
  const seen = new Set<string>();
  while (!ids.every((id) => seen.has(id))) {
    const p = await client.next("presence");
    if (p.event === "join") seen.add(p.member.id);
  }
}

for (const engine of ENGINES) {
  Deno.test({
    name:
      `${engine.name}: members on two nodes get every message once, in order`,
    ignore: engine.ignore,
    async fn() {
      await using shared = await engine.open();
      await using pair = await nodes(shared.env);
      const clients = await Promise.all(
        [pair.a, pair.a, pair.b, pair.b].map((s: TestServer) =>
          TestClient.open(s.wsUrl)
        ),
      );
      await joinAll("lobby", clients);
      const [onA, , onB] = clients;
      for (let i = 1; i <= 200; i++) {
        onA!.send({ type: "publish", room: "lobby", data: `a${i}` });
        onB!.send({ type: "publish", room: "lobby", data: `b${i}` });
      }
      let delivered = 0;
      for (const client of clients) {
        const offsets: number[] = [];
        const bySender = { a: 0, b: 0 };
        for (let i = 0; i < 400; i++) {
          const m = await client.next("message");
          offsets.push(m.offset);
          const text = String(m.data);
          const key = text[0] === "a" ? "a" : "b";
          assert.equal(
            Number(text.slice(1)),
            ++bySender[key],
            "publisher order",
          );
        }
        // One sequence for the room, whichever node accepted each publish.
        assert.deepEqual(offsets, [...offsets].sort((x, y) => x - y));
        assert.equal(new Set(offsets).size, 400, "no offset twice");
        delivered += offsets.length;
      }
      report(
        `${engine.name}: 400 published on 2 nodes, ${delivered} delivered to 4 clients, 0 lost, 0 duplicated`,
      );
      await Promise.all(clients.map((c) => c.close()));
    },
  });

  Deno.test({
    name:
      `${engine.name}: resume on the other node, and after both nodes restart`,
    ignore: engine.ignore,
    async fn() {
      await using shared = await engine.open();
      let position: { offset: number; epoch: string };
      {
        await using pair = await nodes(shared.env);
        const writer = await TestClient.open(pair.a.wsUrl);
        const reader = await TestClient.open(pair.a.wsUrl);
        await joinAll("r", [writer, reader]);
        for (let i = 1; i <= 50; i++) {
          writer.send({ type: "publish", room: "r", data: i, echo: false });
        }
        let last = await reader.next("message");
        while (last.data !== 50) last = await reader.next("message");
        position = { offset: last.offset, epoch: last.epoch };
        await reader.close();
        for (let i = 51; i <= 80; i++) {
          writer.send({
            type: "publish",
            room: "r",
            data: i,
            echo: false,
            id: i,
          });
        }
        while ((await writer.next("ack", { skip: true })).id !== 80);
        // Back on the other node.
        const back = await TestClient.open(pair.b.wsUrl);
        back.send({ type: "join", room: "r", since: position });
        assert.equal((await back.next("joined")).recovered, true);
        for (let i = 51; i <= 80; i++) {
          assert.equal((await back.next("message")).data, i);
        }
        position = { offset: position.offset + 30, epoch: position.epoch };
        await back.close();
        await writer.close();
      } // both nodes shut down; the engine's state stays
      await using again = await nodes(shared.env);
      const late = await TestClient.open(again.b.wsUrl);
      late.send({
        type: "join",
        room: "r",
        since: { offset: 40, epoch: position.epoch },
      });
      const joined = await late.next("joined");
      assert.equal(joined.recovered, true);
      for (let i = 41; i <= 80; i++) {
        assert.equal((await late.next("message")).data, i);
      }
      await late.close();
    },
  });

  Deno.test({
    name: `${engine.name}: presence and the HTTP publish API span the nodes`,
    ignore: engine.ignore,
    async fn() {
      await using shared = await engine.open();
      await using pair = await nodes(shared.env, { API_KEY: "engines-key" });
      const ann = await TestClient.open(`${pair.a.wsUrl}?user=ann`);
      const bob = await TestClient.open(`${pair.b.wsUrl}?user=bob`);
      await joinAll("team", [ann, bob]);
      await seesMembers(ann, ["bob"]);
      const res = await fetch(`${pair.b.url}/api/rooms/team/messages`, {
        method: "POST",
        headers: {
          authorization: "Bearer engines-key",
          "content-type": "application/json",
        },
        body: JSON.stringify({ data: { from: "backend" } }),
      });
      assert.equal(res.status, 201);
      const { offset } = await res.json();
      for (const client of [ann, bob]) {
        const m = await client.next("message");
        assert.deepEqual([m.data, m.offset, m.from], [
          { from: "backend" },
          offset,
          "api",
        ]);
      }
      await bob.close();
      while (true) {
        const p = await ann.next("presence");
        if (p.event === "leave" && p.member.id === "bob") break;
      }
      await ann.close();
    },
  });
}

for (const engine of ENGINES) {
  Deno.test({
    name:
      `${engine.name}: terminating a member closes its connections on every node (4500), nobody else's`,
    ignore: engine.ignore,
    async fn() {
      await using shared = await engine.open();
      await using pair = await nodes(shared.env, { API_KEY: "engines-key" });
      const annA = await TestClient.open(`${pair.a.wsUrl}?user=ann`);
      const annB = await TestClient.open(`${pair.b.wsUrl}?user=ann`);
      await using bob = await TestClient.open(`${pair.b.wsUrl}?user=bob`);
      await joinAll("team", [annA, annB, bob]);
      const res = await fetch(`${pair.a.url}/api/members/ann/terminate`, {
        method: "POST",
        headers: { authorization: "Bearer engines-key" },
      });
      assert.equal(res.status, 202);
      assert.deepEqual(await res.json(), { member: "ann", closedHere: 1 });
      const [closeA, closeB] = await Promise.all([annA.closed, annB.closed]);
      assert.equal(closeA.code, 4500);
      assert.equal(closeB.code, 4500);
      // Bob stays, and sees ann leave.
      while (true) {
        const p = await bob.next("presence");
        if (p.event === "leave" && p.member.id === "ann") break;
      }
      bob.send({ type: "ping", id: "still here" });
      assert.equal((await bob.next("pong")).id, "still here");
      report(
        `${engine.name}: terminate ann → 2 connections on 2 nodes closed with 4500; bob unaffected`,
      );
    },
  });
}

Deno.test("an unreachable Redis: /readyz says 503 and upgrades are refused with 503 until it comes up", async () => {
  // A port nobody listens on: connect attempts fail at once and are retried.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const config = parseConfig(
    new Map(Object.entries({
      ...TEST_ENV,
      PORT: "0",
      REDIS_URL: `redis://127.0.0.1:${port}`,
    })),
  );
  const server = await startServer(config, { log: silentLogger });
  try {
    const ready = await fetch(`http://127.0.0.1:${server.addr.port}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal((await ready.json()).status, "not ready");
    const health = await fetch(`http://127.0.0.1:${server.addr.port}/healthz`);
    assert.equal(health.status, 200); // alive, just not ready
    await health.body?.cancel();
    assert.equal(await upgradeStatus(server.addr.port), 503);
    assert.equal(server.metrics.get("upgrades_refused_total", "not_ready"), 1);
  } finally {
    await server.shutdown();
  }
});
