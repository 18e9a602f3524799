/**
 * Cluster faults on a real Redis Cluster, with roomcast publishing all along
 * (`REDIS_CLUSTER=1`): the slot of a busy room moved to another master live
 * (`ASK` while it migrates, `MOVED` after; the sharded subscriptions follow
 * the slot), and on a cluster with a replica per master a graceful
 * `CLUSTER FAILOVER` and then the new master killed (its replica takes over
 * after `cluster-node-timeout`, 1 s here). Each time: 0 lost and 0 duplicated
 * among acknowledged messages, or `recovered:false` told, and order kept, for
 * a watcher on the publishing node and one on another node; messages
 * published after the fault arrive live. After a killed master the other
 * node, connected through the fault (it only listens to the room), must hear
 * the room again with the gap filled from the log, even when every post after
 * the fault went out before its subscription moved to the promoted master
 * (the bus tells the room streams to read what they missed), and a join on it
 * must work.
 */
import assert from "node:assert/strict";
import type { RoomMessage } from "../../lib/protocol/mod.ts";
import { busChannel, roomKeys } from "../../lib/redis/keys.ts";
import { report, TestClient } from "../_support/harness.ts";
import { skipWithoutRedis, startRedisNode } from "../_support/redis.ts";
import {
  cli,
  startRedisCluster,
  type TestRedisCluster,
} from "../_support/redis_cluster.ts";
import {
  clusterNodes,
  keySlot,
  migrateSlot,
  ownerOfSlot,
  settled,
} from "../_support/redis_cluster_ops.ts";

const ignore = skipWithoutRedis();

/**
 * A key prefix whose node channel lives on the same master as room "busy"
 * (the harder case: a master's death takes both subscriptions of a node).
 */
async function sharedShardPrefix(port: number, tag: string): Promise<string> {
  const masters = (await clusterNodes(port)).filter((n) => n.master);
  const shard = (slot: number) =>
    masters.findIndex((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
  for (;;) {
    const prefix = `${tag}${crypto.randomUUID().slice(0, 8)}`;
    const room = await keySlot(port, roomKeys(prefix, "busy").head);
    if (shard(room) === shard(await keySlot(port, busChannel(prefix)))) {
      return prefix;
    }
  }
}

/** Publishes until acknowledged, counting the error frames of the fault. */
async function publish(
  client: TestClient,
  data: number,
  errors: { count: number },
): Promise<void> {
  for (let attempt = 0; attempt < 1_000; attempt++) {
    const id = `p${data}-${attempt}`;
    client.send({ type: "publish", room: "busy", data, id, echo: false });
    try {
      const ack = await client.next("ack");
      assert.equal(ack.id, id);
      return;
    } catch (error) {
      if (!String(error).includes('"type":"error"')) throw error;
      errors.count += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`Publish ${data} never acknowledged`);
}

/**
 * Reads until data `last` arrived; checks order, no duplicate, no untold
 * loss. A loss is told by `recovered:false` or by a new epoch (the room's
 * sequence was recreated).
 */
async function verify(
  name: string,
  watcher: TestClient,
  acked: readonly number[],
  last: number,
): Promise<string> {
  const got: RoomMessage[] = [];
  let told = false;
  while (Number(got.at(-1)?.data ?? 0) < last) {
    try {
      got.push(await watcher.next("message", { timeoutMs: 20_000 }));
    } catch (error) {
      if (!String(error).includes('"recovered":false')) {
        throw new Error(
          `${name}: ${error} after ${got.length} (last data ${
            got.at(-1)?.data
          })`,
        );
      }
      told = true; // a loss, told
    }
  }
  const seen = got.map((m) => Number(m.data));
  const lost = acked.filter((n) => !seen.includes(n)).length;
  const duplicated = seen.length - new Set(seen).size;
  assert.equal(duplicated, 0, `${name}: duplicated`);
  let epochs = 1;
  for (let i = 1; i < got.length; i++) {
    const [before, now] = [got[i - 1]!, got[i]!];
    if (now.epoch !== before.epoch) {
      epochs += 1;
      told = true;
      assert.ok(Number(now.data) > Number(before.data), `${name}: in order`);
      continue;
    }
    assert.ok(now.offset > before.offset, `${name}: in order`);
  }
  if (!told) assert.equal(lost, 0, `${name}: lost without being told`);
  return `${name}: received ${seen.length}, lost ${lost}, duplicated ${duplicated}, epochs ${epochs}, loss told ${told}`;
}

/**
 * The node that was connected during the fault (`far`'s, which only
 * subscribes to the room and sends no command to its shard): its live
 * delivery resumes after the failover with the gap filled from history (or
 * the loss told), and a fresh join on it works and is followed live.
 */
async function verifyConnected(
  url: string,
  far: TestClient,
  acked: readonly number[],
  last: number,
  publisher: TestClient,
  errors: { count: number },
): Promise<string> {
  const line = await verify("far", far, acked, last);
  await using late = await TestClient.open(`${url}?user=late`);
  await late.join("busy");
  await publish(publisher, last + 1, errors);
  const got = await late.next("message", { timeoutMs: 20_000 });
  assert.equal(got.data, last + 1, "a join on far's node follows live");
  assert.equal(
    (await far.next("message", { timeoutMs: 20_000 })).data,
    last + 1,
  );
  return `${line}; a join on its node works and is live`;
}

/**
 * Room "busy" on a cluster with replicas: the master serving its slot, that
 * master's replica, a seed master that stays up, two roomcast nodes on the
 * seed, and a publisher and a watcher on the first node and a watcher on the
 * second, all joined. The whole run stays in history, so a resume can
 * replay all of it.
 */
async function busyRoom(cluster: TestRedisCluster, tag: string) {
  const prefix = await sharedShardPrefix(cluster.ports[0]!, tag);
  const slot = await keySlot(cluster.ports[0]!, roomKeys(prefix, "busy").head);
  const master = await ownerOfSlot(cluster.ports[0]!, slot);
  const nodes = await clusterNodes(master.port);
  const replica = nodes.find((n) => n.masterId === master.id)!;
  const seed = nodes.find((n) => n.master && n.id !== master.id)!;
  const env = {
    REDIS_CLUSTER: "1",
    REDIS_PREFIX: prefix,
    HISTORY_SIZE: "1000",
  };
  const url = `redis://127.0.0.1:${seed.port}`;
  const stack = new AsyncDisposableStack();
  try {
    const a = stack.use(await startRedisNode(url, env));
    const b = stack.use(await startRedisNode(url, env));
    const publisher = stack.use(await TestClient.open(`${a.wsUrl}?user=pub`));
    const near = stack.use(await TestClient.open(`${a.wsUrl}?user=near`));
    const far = stack.use(await TestClient.open(`${b.wsUrl}?user=far`));
    for (const c of [publisher, near, far]) await c.join("busy");
    const moved = stack.move();
    return {
      slot,
      master,
      replica,
      seed,
      b,
      publisher,
      near,
      far,
      /** The far watcher's node, connected through a killed master (see the module doc). */
      verifyFar: (acked: number[], total: number, errors: { count: number }) =>
        verifyConnected(b.wsUrl, far, acked, total, publisher, errors),
      [Symbol.asyncDispose]: () => moved.disposeAsync(),
    };
  } catch (error) {
    await stack.disposeAsync();
    throw error;
  }
}

Deno.test({
  name:
    "Redis Cluster: a busy room's slot migrated to another master while publishing (ASK, then MOVED): 0 lost, 0 duplicated, in order; live delivery follows the slot",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startRedisCluster();
    const prefix = `m${crypto.randomUUID().slice(0, 8)}`;
    const env = { REDIS_CLUSTER: "1", REDIS_PREFIX: prefix };
    await using a = await startRedisNode(cluster.url, env);
    await using b = await startRedisNode(cluster.url, env);
    await using publisher = await TestClient.open(`${a.wsUrl}?user=pub`);
    await using near = await TestClient.open(`${a.wsUrl}?user=near`);
    await using far = await TestClient.open(`${b.wsUrl}?user=far`);
    for (const c of [publisher, near, far]) await c.join("busy");
    const slot = await keySlot(
      cluster.ports[0]!,
      roomKeys(prefix, "busy").head,
    );
    const from = await ownerOfSlot(cluster.ports[0]!, slot);
    const to = (await clusterNodes(from.port)).find((n) =>
      n.master && n.id !== from.id
    )!;
    const acked: number[] = [];
    const errors = { count: 0 };
    let migration: Promise<number> | undefined;
    for (let i = 1; i <= 300; i++) {
      // Keys move one at a time, 50 ms apart: appends meet ASK and TRYAGAIN.
      if (i === 100) migration = migrateSlot(cluster.ports, slot, to, 50);
      await publish(publisher, i, errors);
      acked.push(i);
    }
    const moved = await migration!;
    assert.equal(moved, 2, "the room's head and log moved");
    assert.equal((await ownerOfSlot(cluster.ports[0]!, slot)).id, to.id);
    // After the move: live, over the subscriptions that followed the slot.
    for (let i = 301; i <= 350; i++) {
      await publish(publisher, i, errors);
      acked.push(i);
    }
    const lines = [
      await verify("near", near, acked, 350),
      await verify("far", far, acked, 350),
    ];
    report(
      `cluster slot migration (${from.port} → ${to.port}, slot ${slot}): acked ${acked.length}, publish errors during it ${errors.count}; ${
        lines.join("; ")
      }`,
    );
  },
});

Deno.test({
  name:
    "Redis Cluster with replicas: CLUSTER FAILOVER, then the new master killed, while publishing: 0 lost, 0 duplicated among acknowledged messages (or recovered:false told), in order",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startRedisCluster({
      replicas: 1,
      nodeTimeoutMs: 1_000,
    });
    await using room = await busyRoom(cluster, "f");
    const { slot, master: first, replica, seed, publisher, near } = room;
    const acked: number[] = [];
    const errors = { count: 0 };
    let fault: Promise<void> | undefined;
    const live = cluster.ports.filter((p) => p !== replica.port);
    for (let i = 1; i <= 300; i++) {
      if (i === 100) {
        // Graceful: the replica catches up with its master, then takes over.
        fault = (async () => {
          await new Deno.Command("redis-cli", {
            args: ["-p", String(replica.port), "cluster", "failover"],
            stdout: "null",
          }).output();
          for (;;) {
            const owner = await ownerOfSlot(seed.port, slot);
            if (owner.id === replica.id) return;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })();
      }
      if (i === 200) {
        await fault;
        // A crash: the new master dies, the old one (its replica now) takes over.
        await cluster.kill(cluster.ports.indexOf(replica.port));
      }
      await publish(publisher, i, errors);
      acked.push(i);
    }
    const owner = await settled(cluster, live, slot, replica.id);
    assert.equal(owner.id, first.id, "the first master serves the slot again");
    for (let i = 301; i <= 350; i++) {
      await publish(publisher, i, errors);
      acked.push(i);
    }
    const lines = [await verify("near", near, acked, 350)];
    lines.push(await room.verifyFar(acked, 350, errors));
    report(
      `cluster failover then master killed: acked ${acked.length}, publish errors during the faults ${errors.count}; ${
        lines.join("; ")
      }`,
    );
  },
});

Deno.test({
  name:
    "Redis Cluster: a master killed with acknowledged writes its replica never got: the promoted replica's room starts a new epoch (the loss is told), no later message is taken for a duplicate",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startRedisCluster({
      replicas: 1,
      nodeTimeoutMs: 1_000,
    });
    await using room = await busyRoom(cluster, "s");
    const { slot, master, replica, publisher, near } = room;
    const acked: number[] = [];
    const errors = { count: 0 };
    for (let i = 1; i <= 50; i++) {
      await publish(publisher, i, errors);
      acked.push(i);
    }
    // The replication link is cut (the replica's next AUTH fails): 51..80
    // are acknowledged by the master alone (replication is asynchronous),
    // then the master dies.
    await cli([
      "-p",
      String(replica.port),
      "config",
      "set",
      "masteruser",
      "nobody",
      "masterauth",
      "wrong",
    ]);
    await cli(["-p", String(master.port), "client", "kill", "type", "replica"]);
    for (let i = 51; i <= 80; i++) {
      await publish(publisher, i, errors);
      acked.push(i);
    }
    await cluster.kill(cluster.ports.indexOf(master.port));
    const live = cluster.ports.filter((p) => p !== master.port);
    const owner = await settled(cluster, live, slot, master.id);
    assert.equal(owner.id, replica.id, "the replica took over");
    for (let i = 81; i <= 130; i++) {
      await publish(publisher, i, errors);
      acked.push(i);
    }
    const lines = [await verify("near", near, acked, 130)];
    lines.push(await room.verifyFar(acked, 130, errors));
    report(
      `cluster master killed ahead of its replica: acked ${acked.length}, publish errors ${errors.count}; ${
        lines.join("; ")
      }`,
    );
  },
});
