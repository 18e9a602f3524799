/**
 * Rooms span isolates: members on one isolate receive what is published on
 * another, in order, over the real BroadcastChannel bus.
 */
import assert from "node:assert/strict";
import { broadcastChannelTransport } from "../../lib/bus/broadcast_channel.ts";
import { MemoryLog } from "../../lib/room_log/memory.ts";
import {
  openAcrossIsolates,
  report,
  startTestServer,
  startTestWorkers,
  TestClient,
} from "../_support/harness.ts";
import { KvLog } from "../../lib/room_log/kv.ts";
import { KvBehindLog } from "../../lib/room_log/kv_behind.ts";
import { LeaseHeldError } from "../../lib/room_log/kv_lease.ts";

/** Reads `count` messages and checks each publisher's sequence arrives in order. */
async function receiveAll(client: TestClient, count: number) {
  const bySender = new Map<string, number[]>();
  for (let i = 0; i < count; i++) {
    const message = await client.next("message");
    const seq = bySender.get(message.from) ?? [];
    seq.push(Number(message.data));
    bySender.set(message.from, seq);
  }
  for (const seq of bySender.values()) {
    assert.deepEqual(seq, [...seq].sort((a, b) => a - b), "in order");
  }
  return bySender;
}

Deno.test("two isolates on one BroadcastChannel share rooms, in order", async () => {
  const channel = `test-${crypto.randomUUID()}`;
  // One log for both, as isolates sharing a KV database have.
  const history = new MemoryLog({ maxMessages: 5_000, ttlMs: 60_000 });
  await using a = await startTestServer({
    transport: broadcastChannelTransport(channel),
    history,
  });
  await using b = await startTestServer({
    transport: broadcastChannelTransport(channel),
    history,
  });
  const clients = await Promise.all(
    [a, a, b, b].map((server) => TestClient.open(server.wsUrl)),
  );
  for (const client of clients) await client.join("lobby");
  const [onA, , onB] = clients;
  const perPublisher = 500;
  for (let i = 1; i <= perPublisher; i++) {
    onA!.send({ type: "publish", room: "lobby", data: i });
    onB!.send({ type: "publish", room: "lobby", data: i });
  }
  for (const client of clients) {
    const bySender = await receiveAll(client, 2 * perPublisher);
    assert.equal(bySender.size, 2);
    for (const seq of bySender.values()) assert.equal(seq.length, perPublisher);
  }
  const stats = [a.bus.stats(), b.bus.stats()];
  report(
    `cross-isolate: ${
      2 * perPublisher
    } published, ${clients.length} clients; ` +
      `posts a→b ${stats[0]!.postsSent}, b→a ${stats[1]!.postsSent}; ` +
      `gaps ${stats[0]!.gaps + stats[1]!.gaps}`,
  );
  assert.equal(stats[0]!.gaps + stats[1]!.gaps, 0);
  await Promise.all(clients.map((c) => c.close()));
});

Deno.test("Workers sharing one port (SO_REUSEPORT) deliver to every member and drain with 1012", async () => {
  await using workers = await startTestWorkers();
  const clients = [
    ...(await openAcrossIsolates(workers.wsUrl, { perIsolate: 3 })).values(),
  ].flat();
  for (const client of clients) await client.join("lobby");
  const publisher = clients[0]!;
  for (let i = 1; i <= 300; i++) {
    publisher.send({ type: "publish", room: "lobby", data: i });
  }
  for (const client of clients) {
    const bySender = await receiveAll(client, 300);
    assert.equal(bySender.size, 1);
  }
  const closes = clients.map((c) => c.closed);
  await workers.shutdown();
  for (const close of await Promise.all(closes)) {
    assert.equal(close.code, 1012);
  }
});

Deno.test("Workers share the supervisor's write-behind log: one sequence for every isolate, the file held while running, flushed at shutdown", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/roomcast.kv`;
  const limits = { maxMessages: 1_000, ttlMs: 600_000 };
  const sent = 100;
  let epoch: string;
  {
    await using workers = await startTestWorkers({ KV_PATH: path });
    const byNode = await openAcrossIsolates(workers.wsUrl, { perIsolate: 1 });
    const [a, b] = [...byNode.values()].map((clients) => clients[0]!);
    epoch = (await a!.join("r")).epoch;
    assert.equal((await b!.join("r")).epoch, epoch, "one sequence");
    // Both isolates publish at once: offsets 1..2×sent, each once.
    for (let i = 0; i < sent; i++) {
      a!.send({ type: "publish", room: "r", data: `a${i}`, echo: false });
      b!.send({ type: "publish", room: "r", data: `b${i}`, echo: false });
    }
    const offsets = new Set<number>();
    for (const client of [a!, b!]) {
      for (let i = 0; i < sent; i++) {
        offsets.add((await client.next("message")).offset);
      }
    }
    assert.equal(offsets.size, 2 * sent);
    // The supervisor holds the database while it runs.
    const intruder = await KvLog.open(path, limits);
    await assert.rejects(intruder.head("r"), LeaseHeldError);
    await intruder.close();
    await a!.close();
    await b!.close();
    await workers.shutdown();
  }
  // Everything reached the file before the group stopped.
  const after = await KvBehindLog.open(await Deno.openKv(path), limits);
  const replay = await after.since("r", { offset: 0, epoch });
  assert.ok(replay.recovered);
  assert.deepEqual(
    replay.messages.map((m) => m.offset),
    Array.from({ length: 2 * sent }, (_, i) => i + 1),
  );
  await after.close();
  await Deno.remove(dir, { recursive: true });
});
