/**
 * Issue #13's isolation figure, at suite size: 4 main.ts processes on one
 * Redis, each hosting members of its own rooms only. A node receives 0
 * messages and 0 presence events of rooms it has no member in (its
 * `/metrics`; every member is in presence, heartbeats every 200 ms); then a
 * member of such a room joins it and it receives that room from the head
 * on, in order, and sees its presence. Full size:
 * `tests/probes/bus_isolation.ts`.
 */
import assert from "node:assert/strict";
import { report } from "../_support/harness.ts";
import { runIsolation } from "../_support/isolation.ts";
import { skipWithoutRedis, startRedis } from "../_support/redis.ts";

Deno.test({
  name:
    "Redis engine, 4 processes with disjoint rooms: a node receives no message and no presence of rooms it has no member in, then a room from its head (and its presence) once a member joins",
  ignore: skipWithoutRedis(),
  sanitizeResources: false,
  async fn() {
    await using redis = await startRedis();
    const perRoom = 1_000;
    const f = await runIsolation({ redisUrl: redis.url, perRoom, after: 100 });
    for (const [n, node] of f.perNode.entries()) {
      report(
        `isolation: node ${n}: bus messages received ${node.messagesReceived}, presence events received ${node.presenceReceived}, posts received ${node.postsReceived} (${node.bytesReceived} bytes, node channel only), unwanted ${node.postsUnwanted}, posts sent ${node.postsSent} (${node.bytesSent} bytes), room subscriptions ${node.subscriptions}`,
      );
      // Its own rooms' messages come back from Redis only as its own echo,
      // which is dropped before decoding: nothing of any other room arrives.
      assert.equal(node.messagesReceived, 0);
      assert.equal(node.presenceReceived, 0);
      assert.equal(node.postsUnwanted, 0);
      assert.equal(node.subscriptions, f.roomsPerNode);
    }
    assert.equal(f.late.joinedOffset, perRoom);
    assert.equal(f.late.offsets[0], perRoom + 1);
    assert.equal(f.late.node.messagesReceived, 100);
    assert.ok(f.late.node.presenceReceived > 0, "node 1 hears x's presence");
    assert.deepEqual(f.late.present, ["late", "m-n0-r0", "p-n0-r0"]);
    report(
      `isolation: late joiner on node 1 joined at offset ${f.late.joinedOffset}, received ${f.late.offsets.length} in order; node 1 bus messages received now ${f.late.node.messagesReceived}`,
    );
  },
});
