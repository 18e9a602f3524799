/**
 * Faults on a real 3-master Redis Cluster (`REDIS_CLUSTER=1`): the master
 * that holds a room's slot killed and restarted mid-stream (append-only with
 * fsync, so its data comes back), and a roomcast process killed (its members
 * leave presence within `PRESENCE_TIMEOUT_MS`). Order, resume and presence
 * across nodes on the cluster are in `engines_test.ts` and
 * `redis_multiprocess_test.ts`.
 */
import assert from "node:assert/strict";
import type { RoomMessage } from "../../lib/protocol/mod.ts";
import { roomKeys } from "../../lib/redis/keys.ts";
import { report, TestClient } from "../_support/harness.ts";
import { spawnServer } from "../_support/process.ts";
import { skipWithoutRedis, startRedisNode } from "../_support/redis.ts";
import { ownerOf, startRedisCluster } from "../_support/redis_cluster.ts";

const ignore = skipWithoutRedis();

Deno.test({
  name:
    "Redis Cluster: the room's master restarted mid-stream: 0 lost, 0 duplicated among acknowledged messages",
  ignore,
  async fn() {
    await using cluster = await startRedisCluster();
    const prefix = `t${crypto.randomUUID().slice(0, 8)}`;
    const env = { REDIS_CLUSTER: "1", REDIS_PREFIX: prefix };
    await using a = await startRedisNode(cluster.url, env);
    await using b = await startRedisNode(cluster.url, env);
    await using publisher = await TestClient.open(`${a.wsUrl}?user=pub`);
    await using watcher = await TestClient.open(`${b.wsUrl}?user=watch`);
    await publisher.join("stream");
    await watcher.join("stream");
    const owner = await ownerOf(cluster.ports, roomKeys(prefix, "stream").head);
    const acked: number[] = [];
    const errors = { count: 0 };
    let restart: Promise<void> | undefined;
    for (let i = 1; i <= 300; i++) {
      // Mid-stream: the shard goes away with publishes in flight.
      if (i === 101) restart = cluster.restart(owner);
      await publishWithErrors(publisher, "stream", i, errors);
      acked.push(i);
    }
    await restart;
    const got: RoomMessage[] = [];
    let told = false;
    while (Number(got.at(-1)?.data ?? 0) < 300) {
      try {
        got.push(await watcher.next("message", { timeoutMs: 20_000 }));
      } catch (error) {
        // A loss must be told: a `joined` with recovered:false.
        if (!String(error).includes('"recovered":false')) throw error;
        told = true;
      }
    }
    const seen = got.map((m) => Number(m.data));
    const lost = acked.filter((n) => !seen.includes(n)).length;
    const duplicated = seen.length - new Set(seen).size;
    report(
      `cluster master restart: acked ${acked.length}, received ${seen.length}, lost ${lost}, duplicated ${duplicated}, publish errors during the outage ${errors.count}, loss told ${told}`,
    );
    assert.equal(duplicated, 0);
    for (let i = 1; i < got.length; i++) {
      assert.ok(got[i]!.offset > got[i - 1]!.offset, "in order");
    }
    if (!told) assert.equal(lost, 0);
  },
});

/** Publishes until acknowledged, counting the error frames of the outage. */
async function publishWithErrors(
  client: TestClient,
  room: string,
  data: number,
  errors: { count: number },
): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const id = `p${data}-${attempt}`;
    client.send({ type: "publish", room, data, id, echo: false });
    try {
      const ack = await client.next("ack");
      assert.equal(ack.id, id);
      return;
    } catch (error) {
      if (!String(error).includes('"type":"error"')) throw error;
      errors.count += 1;
      // The shard is restarting: try again in a moment.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`Publish ${data} never acknowledged`);
}

Deno.test({
  name:
    "Redis Cluster: a roomcast process killed loses its members on the other node; the room goes on",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using cluster = await startRedisCluster();
    const env = {
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: "1",
      PRESENCE_INTERVAL_MS: "200",
      PRESENCE_TIMEOUT_MS: "2000",
    };
    const victim = await spawnServer(env);
    await using survivor = await spawnServer(env);
    await using watcher = await TestClient.open(`${survivor.wsUrl}?user=w`);
    watcher.send({ type: "join", room: "team", meta: {} });
    await watcher.next("joined");
    const gone = await TestClient.open(`${victim.wsUrl}?user=doomed`);
    gone.send({ type: "join", room: "team", meta: {} });
    await gone.next("joined");
    const join = await watcher.next("presence");
    assert.deepEqual([join.event, join.member.id], ["join", "doomed"]);
    await victim[Symbol.asyncDispose](); // SIGKILL: no node-down is posted
    const leave = await watcher.next("presence");
    assert.deepEqual([leave.event, leave.member.id], ["leave", "doomed"]);
    // The room goes on through the cluster.
    await using late = await TestClient.open(`${survivor.wsUrl}?user=l`);
    await late.join("team");
    late.send({ type: "publish", room: "team", data: "still here" });
    const m = await watcher.next("message");
    assert.equal(m.data, "still here");
    gone.socket.close();
  },
});
