/**
 * The dashboard on a two-process Redis deployment: each process sees both
 * nodes, a session made on one is accepted by the other, terminate from one
 * closes the member on the other, and a logout on one is honoured by both.
 */
import assert from "node:assert/strict";
import { TestClient } from "../_support/harness.ts";
import { spawnServer } from "../_support/process.ts";
import { skipWithoutRedis, startRedis } from "../_support/redis.ts";
import { adminLogin, until } from "../_support/admin.ts";

const ignore = skipWithoutRedis();
const TOKEN = "admin-token-redis-1234";

Deno.test({
  name:
    "admin on two main.ts processes over Redis: both nodes, shared sessions, terminate and logout span processes",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using redis = await startRedis();
    const env = {
      REDIS_URL: redis.url,
      ADMIN_TOKEN: TOKEN,
      ADMIN_STATS_INTERVAL_MS: "200",
      PRESENCE_INTERVAL_MS: "200",
    };
    const nodes = await Promise.all([spawnServer(env), spawnServer(env)]);
    try {
      const [a, b] = nodes.map((n) => `http://127.0.0.1:${n.port}`) as [
        string,
        string,
      ];
      const admin = await adminLogin(a, TOKEN);
      const rows = await until(
        async () => (await (await admin.get("/nodes")).json()).nodes,
        (n) => n.length === 2,
        "both nodes",
      );
      const pids = rows.map((r: { label: string }) => r.label);
      assert.equal(new Set(pids).size, 2, pids.join());
      for (const row of rows) {
        assert.equal(row.engine, "redis");
        assert.match(row.label, /^pid \d+ main$/);
      }
      // The cookie from A opens B's API too (signed, not stored); B counts
      // both nodes once it has heard A's stats.
      const overviewOnB = await until(
        async () => {
          const response = await fetch(`${b}/admin/api/overview`, {
            headers: { cookie: admin.cookie },
          });
          return { status: response.status, body: await response.json() };
        },
        (r) => r.status !== 200 || r.body.nodes === 2,
        "B to count both nodes",
      );
      assert.equal(overviewOnB.status, 200);
      assert.equal(overviewOnB.body.nodes, 2);
      // A member connected to B only, terminated from A's dashboard.
      const dan = await TestClient.open(`${nodes[1]!.wsUrl}?user=dan`);
      dan.send({ type: "join", room: "ops", presence: true });
      await dan.next("joined");
      const room = await until(
        async () => await (await admin.get("/rooms/ops")).json(),
        (r) => r.members.length === 1 && r.subscribers === 1,
        "dan in room ops, seen from A",
      );
      assert.equal(room.members[0].id, "dan");
      const res = await admin.post("/members/dan/terminate");
      assert.equal(res.status, 202);
      assert.equal((await res.json()).closedHere, 0);
      assert.equal((await dan.closed).code, 4500);
      // Logout on A: B refuses the cookie once the revocation arrives.
      const out = await fetch(`${a}/admin/logout`, {
        method: "POST",
        headers: { cookie: admin.cookie, origin: a },
      });
      assert.equal(out.status, 204);
      await until(
        async () =>
          (await fetch(`${b}/admin/api/overview`, {
            headers: { cookie: admin.cookie },
          })).status,
        (status) => status === 401,
        "B to refuse the revoked session",
      );
    } finally {
      for (const node of nodes) await node[Symbol.asyncDispose]();
    }
  },
});
