/**
 * Issue #13, the isolation figure at full size: 4 main.ts processes on one
 * redis-server started here (or a 3-master Redis Cluster with `--cluster`),
 * each hosting members of 2 rooms of its own; `PER_ROOM` messages per room.
 * Prints one JSON line: per node, the room messages, posts and bytes its
 * bus received (0 messages of rooms it has no member in is the claim), what
 * it sent, its Redis command count and mean latency, and the CPU of the
 * roomcast and Redis processes per message (one publish + one delivery); then a member of one
 * room of node 0 joins node 1, which receives that room from the head on.
 * Loopback only, bounded, stops by itself. Runs this checkout.
 *
 *     deno run --allow-all tests/probes/bus_isolation.ts [PER_ROOM=10000] [--cluster]
 *
 * @module
 */

import { runIsolation } from "../_support/isolation.ts";
import { startRedis } from "../_support/redis.ts";
import { startRedisCluster } from "../_support/redis_cluster.ts";
import { numberArg, probeArgs, report } from "./_probe.ts";

const args = probeArgs();
const perRoom = numberArg(args, 0, 10_000);
const cluster = args.flags.has("cluster");
await using redis = cluster ? await startRedisCluster() : await startRedis();
const redisPids = "pids" in redis ? redis.pids : [redis.pid];
const f = await runIsolation({
  redisUrl: redis.url,
  cluster,
  perRoom,
  redisPids,
});
const messages = f.nodes * f.roomsPerNode * perRoom;
const nodeCpu = f.nodeCpuS.reduce((a, b) => a + b, 0);
report({
  probe: "bus_isolation",
  engine: cluster ? "redis-cluster" : "redis",
  nodes: f.nodes,
  roomsPerNode: f.roomsPerNode,
  perRoom,
  floodMs: Math.round(f.floodMs),
  messagesPerS: Math.round(
    (f.nodes * f.roomsPerNode * perRoom) / (f.floodMs / 1000),
  ),
  // Each message: one publish (frame in, Lua append, bus post) and one delivery.
  roomcastCpuUsPerMessage: Math.round((nodeCpu / messages) * 1e7) / 10,
  redisCpuUsPerMessage: Math.round((f.redisCpuS / messages) * 1e7) / 10,
  nodeCpuS: f.nodeCpuS,
  perNode: f.perNode.map((n) => ({
    ...n,
    redisMeanMs: n.redisCommands === 0
      ? 0
      : Math.round((n.redisCommandMs / n.redisCommands) * 1000) / 1000,
  })),
  late: {
    joinedOffset: f.late.joinedOffset,
    first: f.late.offsets[0],
    received: f.late.offsets.length,
    node1MessagesReceived: f.late.node.messagesReceived,
    node1PresenceReceived: f.late.node.presenceReceived,
    present: f.late.present,
  },
});
