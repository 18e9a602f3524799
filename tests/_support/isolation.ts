/**
 * The isolation scenario of issue #13, shared by its test and its probe:
 * `nodes` main.ts processes on one Redis (or Redis Cluster), each hosting
 * members of its own rooms only; `perRoom` messages are published to each
 * room by a publisher on its own node. Each node's `/metrics` then shows
 * what the bus brought it. Every member is in presence and the nodes beat
 * every 200 ms, so presence flows all along: a node must hear none of the
 * other nodes' rooms' presence either. Afterwards one member of a room of
 * node 0 joins node 1, which starts hearing that room (messages from the
 * head on, and its presence) from then on.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { RoomMessage } from "../../lib/protocol/mod.ts";
import { TestClient } from "./harness.ts";
import { type Spawned, spawnServer } from "./process.ts";

const TOKEN = "isolation-metrics";

/** What one node's bus did during the flood, from its `/metrics`. */
export interface NodeBusFigures {
  /** Room messages received from the bus (all of them of other nodes' rooms). */
  messagesReceived: number;
  /** Presence events about rooms received from the bus (updates, heartbeats, syncs). */
  presenceReceived: number;
  postsReceived: number;
  bytesReceived: number;
  postsUnwanted: number;
  postsSent: number;
  bytesSent: number;
  subscriptions: number;
  redisCommands: number;
  redisCommandMs: number;
}

/** The scenario's figures. */
export interface IsolationFigures {
  nodes: number;
  roomsPerNode: number;
  perRoom: number;
  /** Milliseconds from the first publish until every member had every message. */
  floodMs: number;
  /** Per node, after the flood. */
  perNode: NodeBusFigures[];
  /** CPU seconds (user + system) the roomcast processes spent during the flood, each. */
  nodeCpuS: number[];
  /** CPU seconds of the Redis process(es) during the flood, when their pids were given. */
  redisCpuS: number;
  /**
   * Node 1 after a member of a room of node 0 joined it and `after` more
   * messages went out; `present`: the members the joiner saw in presence.
   */
  late: {
    joinedOffset: number;
    offsets: number[];
    node: NodeBusFigures;
    present: string[];
  };
}

/** Reads one metric (label-free series) from Prometheus text. */
function metric(text: string, name: string): number {
  const match = text.match(
    new RegExp(`^roomcast_${name}(?:\\{[^}]*\\})? (\\S+)$`, "m"),
  );
  return match ? Number(match[1]) : 0;
}

async function figures(node: Spawned): Promise<NodeBusFigures> {
  const res = await fetch(`http://127.0.0.1:${node.port}/metrics`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const text = await res.text();
  return {
    messagesReceived: metric(text, "bus_messages_received_total"),
    presenceReceived: metric(text, "bus_presence_received_total"),
    postsReceived: metric(text, "bus_posts_received_total"),
    bytesReceived: metric(text, "bus_bytes_received_total"),
    postsUnwanted: metric(text, "bus_posts_unwanted_total"),
    postsSent: metric(text, "bus_posts_sent_total"),
    bytesSent: metric(text, "bus_bytes_sent_total"),
    subscriptions: metric(text, "bus_subscriptions"),
    redisCommands: metric(text, "redis_commands_total"),
    redisCommandMs: metric(text, "redis_command_ms_total"),
  };
}

/** CPU seconds (user + system) of process `pid` so far, from /proc (Linux). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 (1-based) of the whole line.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Publishes `count` messages with `echo:false`, waiting for the last ack. */
async function flood(client: TestClient, room: string, count: number) {
  for (let i = 1; i <= count; i++) {
    client.send({ type: "publish", room, data: i, echo: false, id: String(i) });
    if (i % 500 === 0 || i === count) {
      let ack = await client.next("ack");
      while (ack.id !== String(i)) ack = await client.next("ack");
    }
  }
}

/** Joins `room` in presence and waits for `joined`. */
async function visibleJoin(client: TestClient, room: string) {
  client.send({ type: "join", room, presence: true });
  return await client.next("joined");
}

/** Reads `count` messages; offsets must follow `after` with no gap. */
async function readRun(client: TestClient, after: number, count: number) {
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) {
    const m: RoomMessage = await client.next("message", { timeoutMs: 60_000 });
    offsets.push(m.offset);
  }
  assert.deepEqual(
    offsets,
    Array.from({ length: count }, (_, i) => after + i + 1),
  );
  return offsets;
}

/** Runs the scenario against `redisUrl` (`cluster`: a Redis Cluster seed). */
export async function runIsolation(options: {
  redisUrl: string;
  cluster?: boolean;
  nodes?: number;
  roomsPerNode?: number;
  perRoom: number;
  after?: number;
  /** Redis server pids, to measure their CPU. */
  redisPids?: number[];
}): Promise<IsolationFigures> {
  const count = options.nodes ?? 4;
  const roomsPerNode = options.roomsPerNode ?? 2;
  const after = options.after ?? 100;
  const env = {
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: `i${crypto.randomUUID().slice(0, 8)}`,
    METRICS_TOKEN: TOKEN,
    PRESENCE_INTERVAL_MS: "200",
    ...(options.cluster ? { REDIS_CLUSTER: "1" } : {}),
  };
  const nodes = await Promise.all(
    Array.from({ length: count }, () => spawnServer(env)),
  );
  const clients: TestClient[] = [];
  try {
    const rooms = nodes.map((_, n) =>
      Array.from({ length: roomsPerNode }, (_, r) => `n${n}-r${r}`)
    );
    const members: TestClient[] = [];
    const publishers: TestClient[] = [];
    for (const [n, node] of nodes.entries()) {
      for (const room of rooms[n]!) {
        const member = await TestClient.open(`${node.wsUrl}?user=m-${room}`);
        const publisher = await TestClient.open(`${node.wsUrl}?user=p-${room}`);
        clients.push(member, publisher);
        await visibleJoin(member, room);
        await visibleJoin(publisher, room);
        members.push(member);
        publishers.push(publisher);
      }
    }
    const all = rooms.flat();
    const pids = nodes.map((node) => node.process.pid);
    const redisPids = options.redisPids ?? [];
    const cpu0 = await Promise.all(pids.map(cpuSeconds));
    const redis0 = await Promise.all(redisPids.map(cpuSeconds));
    const started = performance.now();
    await Promise.all([
      ...publishers.map((p, i) => flood(p, all[i]!, options.perRoom)),
      ...members.map((m) => readRun(m, 0, options.perRoom)),
    ]);
    const floodMs = performance.now() - started;
    const cpu1 = await Promise.all(pids.map(cpuSeconds));
    const redis1 = await Promise.all(redisPids.map(cpuSeconds));
    const nodeCpuS = cpu1.map((c, i) => c - cpu0[i]!);
    const redisCpuS = redis1.reduce((sum, c, i) => sum + c - redis0[i]!, 0);
    const perNode = await Promise.all(nodes.map(figures));

    // A member of node 0's first room joins node 1: node 1 hears it from now.
    const x = all[0]!;
    const late = await TestClient.open(`${nodes[1]!.wsUrl}?user=late`);
    clients.push(late);
    const joined = await visibleJoin(late, x);
    // Node 0's two members of x reach the joiner: in `joined`, or as presence.
    const present = new Set((joined.members ?? []).map((m) => m.id));
    while (!present.has(`m-${x}`) || !present.has(`p-${x}`)) {
      const p = await late.next("presence", { timeoutMs: 10_000 });
      if (p.event === "join") present.add(p.member.id);
    }
    await flood(publishers[0]!, x, after);
    const offsets = await readRun(late, joined.offset, after);
    return {
      nodes: count,
      roomsPerNode,
      perRoom: options.perRoom,
      floodMs,
      perNode,
      nodeCpuS,
      redisCpuS,
      late: {
        joinedOffset: joined.offset,
        offsets,
        node: await figures(nodes[1]!),
        present: [...present].sort(),
      },
    };
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    for (const node of nodes) await node[Symbol.asyncDispose]();
  }
}
