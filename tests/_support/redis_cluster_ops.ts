/**
 * Operations on a test Redis Cluster ({@linkcode startRedisCluster}) that a
 * fault test performs while roomcast runs: reading the topology, moving one
 * slot from its master to another live (`CLUSTER SETSLOT … IMPORTING` /
 * `MIGRATING`, `MIGRATE` of its keys, `SETSLOT … NODE`: clients meet `ASK`
 * and then `MOVED`), and waiting for the cluster to settle after a failover.
 *
 * @module
 */

import { cli, type startRedisCluster } from "./redis_cluster.ts";

/** One line of `CLUSTER NODES`. */
export interface ClusterNode {
  id: string;
  port: number;
  master: boolean;
  /** For a replica, its master's id. */
  masterId: string;
  /** Failed or not connected. */
  failed: boolean;
  /** Slot ranges served, as `[first, last]`. */
  slots: Array<[number, number]>;
}

/** The topology as node `port` sees it. */
export async function clusterNodes(port: number): Promise<ClusterNode[]> {
  const text = await cli(["-p", String(port), "cluster", "nodes"]);
  return text.split("\n").filter((l) => l.trim() !== "").map((line) => {
    const [id, addr, flags, masterId, , , , link, ...slots] = line.split(" ");
    return {
      id: id!,
      port: Number(addr!.split("@")[0]!.split(":")[1]),
      master: flags!.includes("master"),
      masterId: masterId!,
      failed: flags!.includes("fail") || link !== "connected",
      slots: slots.filter((s) => !s.startsWith("[")).map((s) => {
        const [a, b] = s.split("-");
        return [Number(a), Number(b ?? a)];
      }),
    };
  });
}

/** The hash slot of `key`. */
export async function keySlot(port: number, key: string): Promise<number> {
  return Number(await cli(["-p", String(port), "cluster", "keyslot", key]));
}

/** The live master serving `slot`, as node `port` sees it. */
export async function ownerOfSlot(
  port: number,
  slot: number,
): Promise<ClusterNode> {
  const nodes = await clusterNodes(port);
  const owner = nodes.find((n) =>
    n.master && !n.failed && n.slots.some(([a, b]) => slot >= a && slot <= b)
  );
  if (owner === undefined) throw new Error(`No live master serves ${slot}`);
  return owner;
}

/**
 * Moves `slot` from its master to `to` while clients use it, in the steps
 * `redis-cli --cluster reshard` takes: the target imports, the source
 * migrates, the keys move in batches (`pauseMs` between batches keeps the
 * slot half-moved for a while), then every master learns the new owner.
 * Returns the number of keys moved.
 */
export async function migrateSlot(
  ports: readonly number[],
  slot: number,
  to: ClusterNode,
  pauseMs = 0,
): Promise<number> {
  const run = (port: number, ...args: string[]) =>
    cli(["-p", String(port), ...args]);
  const from = await ownerOfSlot(to.port, slot);
  await run(to.port, "cluster", "setslot", String(slot), "importing", from.id);
  await run(from.port, "cluster", "setslot", String(slot), "migrating", to.id);
  let moved = 0;
  for (;;) {
    const keys = (await run(
      from.port,
      "cluster",
      "getkeysinslot",
      String(slot),
      "1",
    )).split("\n").filter((k) => k !== "");
    if (keys.length === 0) break;
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    const out = await run(
      from.port,
      "migrate",
      "127.0.0.1",
      String(to.port),
      "",
      "0",
      "5000",
      "KEYS",
      ...keys,
    );
    if (!out.includes("OK") && !out.includes("NOKEY")) {
      throw new Error(`MIGRATE failed: ${out}`);
    }
    moved += keys.length;
  }
  const masters = (await clusterNodes(to.port)).filter((n) =>
    n.master && !n.failed && ports.includes(n.port)
  );
  // The target first, then the source, then the others (as redis-cli does).
  const order = [
    to,
    from,
    ...masters.filter((m) => m.id !== to.id && m.id !== from.id),
  ];
  for (const node of order) {
    await run(node.port, "cluster", "setslot", String(slot), "node", to.id);
  }
  return moved;
}

/**
 * Waits until every node in `live` reports `cluster_state:ok` and sees the
 * same live master of `slot`, other than `dead` (the killed master's id);
 * returns it (30 s at most).
 */
export async function settled(
  cluster: Awaited<ReturnType<typeof startRedisCluster>>,
  live: readonly number[],
  slot: number,
  dead: string,
): Promise<ClusterNode> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const owners = new Set<string>();
      let owner: ClusterNode | undefined;
      for (const port of live) {
        const info = await cli(["-p", String(port), "cluster", "info"]);
        if (!info.includes("cluster_state:ok")) owners.add("not ok");
        owner = await ownerOfSlot(port, slot);
        owners.add(owner.id);
      }
      if (owners.size === 1 && owner !== undefined && owner.id !== dead) {
        return owner;
      }
    } catch {
      // Not there yet.
    }
    if (Date.now() > deadline) {
      throw new Error(`Cluster not settled (ports ${cluster.ports.join()})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
