/**
 * Faults between isolates: a Worker killed mid-stream, and bursts large
 * enough that BroadcastChannel drops posts. Members end with every message
 * once, in order; presence forgets the dead isolate's members.
 */
import assert from "node:assert/strict";
import { broadcastChannelTransport } from "../../lib/bus/broadcast_channel.ts";
import type { BusTransport } from "../../lib/bus/bus.ts";
import { KvLog } from "../../lib/room_log/kv.ts";
import type { RoomMessage, StreamPosition } from "../../lib/protocol/mod.ts";
import {
  openAcrossIsolates,
  report,
  startTestServer,
  startTestWorkers,
  TestClient,
} from "../_support/harness.ts";

interface Tally {
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
}

/** Counts a consumer's messages (data = 1..sent) against what was sent. */
function tally(sent: number, messages: RoomMessage[]): Tally {
  const seen = new Set<number>();
  let duplicated = 0;
  let previous = 0;
  for (const m of messages) {
    const n = Number(m.data);
    if (seen.has(n)) duplicated += 1;
    assert.ok(n > previous, `out of order: ${n} after ${previous}`);
    previous = n;
    seen.add(n);
  }
  return {
    sent,
    received: messages.length,
    lost: sent - seen.size,
    duplicated,
  };
}

/** Reads messages until the one carrying `last`. */
async function until(client: TestClient, last: number, into: RoomMessage[]) {
  while (into.length === 0 || Number(into.at(-1)!.data) < last) {
    into.push(await client.next("message"));
  }
}

Deno.test("a Worker killed mid-stream: its clients resume elsewhere, the others see no gap, presence drops its members", async () => {
  await using workers = await startTestWorkers({
    HISTORY_SIZE: "10000",
    PRESENCE_INTERVAL_MS: "100",
    PRESENCE_TIMEOUT_MS: "600",
  });
  const { group } = workers;
  const base = workers.wsUrl;
  const byNode = await openAcrossIsolates(base, {
    perIsolate: 3,
    user: (i) => `u${i}`,
  });
  const [survivorNode, victimNode] = group.nodes.map((id) => id.slice(0, 8));
  const survivors = byNode.get(survivorNode!)!;
  const victims = byNode.get(victimNode!)!;
  const [publisher, watcher] = survivors;
  const ghost = victims.at(-1)!; // never comes back
  const epochs = new Map<TestClient, StreamPosition>();
  for (const client of [...survivors, ...victims]) {
    client.send({ type: "join", room: "feed", presence: true });
    const joined = await client.next("joined");
    epochs.set(client, { offset: joined.offset, epoch: joined.epoch });
  }
  const total = 2_000;
  const received = new Map<TestClient, RoomMessage[]>();
  for (const c of [...survivors, ...victims]) received.set(c, []);
  for (let i = 1; i <= 1_000; i++) {
    publisher!.send({ type: "publish", room: "feed", data: i, echo: false });
  }
  for (const c of victims) await until(c, 500, received.get(c)!);

  const killedAt = performance.now();
  group.kill(group.nodes.findIndex((id) => id.startsWith(victimNode!)));
  for (let i = 1_001; i <= total; i++) {
    publisher!.send({ type: "publish", room: "feed", data: i, echo: false });
  }
  // The ghost's leave reaches the watcher once the dead isolate times out.
  while (true) {
    const p = await watcher!.next("presence");
    if (p.event === "leave" && p.member.id === ghost.memberId) break;
  }
  const presenceMs = Math.round(performance.now() - killedAt);

  // The dead isolate's clients see their sockets drop, then come back.
  const reconnected: TestClient[] = [];
  for (const victim of victims.slice(0, -1)) {
    const closed = await victim.closed;
    assert.notEqual(closed.code, 1000);
    const got = received.get(victim)!;
    const position = {
      offset: got.at(-1)!.offset,
      epoch: epochs.get(victim)!.epoch,
    };
    const back = await TestClient.open(`${base}?user=${victim.memberId}`);
    back.send({ type: "join", room: "feed", since: position, presence: true });
    assert.equal((await back.next("joined")).recovered, true);
    await until(back, total, got);
    reconnected.push(back);
  }
  for (const survivor of survivors.slice(1)) {
    await until(survivor, total, received.get(survivor)!);
  }
  const figures = [...received.entries()]
    .filter(([c]) => c !== ghost && c !== publisher)
    .map(([, messages]) => tally(total, messages));
  const sum = (k: keyof Tally) => figures.reduce((s, f) => s + f[k], 0);
  report(
    `isolate killed: ${figures.length} clients, sent ${total} each, ` +
      `received ${sum("received")}, lost ${sum("lost")}, duplicated ${
        sum("duplicated")
      }; ` +
      `ghost member left after ${presenceMs} ms (bound: timeout 600 + heartbeat 100 ms)`,
  );
  assert.equal(sum("lost"), 0);
  assert.equal(sum("duplicated"), 0);
  for (const c of [...survivors, ...reconnected]) await c.close();
});

/** Publishes 1..total from `publisher` and reads them all at each subscriber. */
async function burst(
  publisher: TestClient,
  subscribers: TestClient[],
  total: number,
): Promise<Tally[]> {
  for (let i = 1; i <= total; i++) {
    publisher.send({ type: "publish", room: "burst", data: i, echo: false });
  }
  return await Promise.all(subscribers.map(async (s) => {
    const got: RoomMessage[] = [];
    await until(s, total, got);
    return tally(total, got);
  }));
}

Deno.test("a 20,000-message burst across Worker isolates: zero loss at the clients", async () => {
  await using workers = await startTestWorkers({
    HISTORY_SIZE: "30000",
    // The burst outruns a JS test client: let it queue instead of being
    // closed as a slow consumer (that policy has its own tests).
    MAX_BUFFERED_BYTES: "100000000",
  });
  const clients = [
    ...(await openAcrossIsolates(workers.wsUrl, { perIsolate: 2 })).values(),
  ].flat();
  for (const c of clients) await c.join("burst");
  const publisher = clients[0]!;
  const remote = clients.filter((c) =>
    !c.connectionId.startsWith(publisher.connectionId.split("-")[0]!)
  );
  const local = clients.filter((c) => c !== publisher && !remote.includes(c));
  const total = 20_000;
  const started = performance.now();
  const figures = await burst(publisher, [...remote, ...local], total);
  const ms = Math.round(performance.now() - started);
  for (const [i, f] of figures.entries()) {
    report(
      `burst (Workers, ${i < remote.length ? "other" : "same"} isolate): ` +
        `sent ${f.sent}, received ${f.received}, lost ${f.lost}, duplicated ${f.duplicated} (${ms} ms)`,
    );
    assert.equal(f.lost, 0);
    assert.equal(f.duplicated, 0);
  }
  for (const c of clients) await c.close();
});

/** A BroadcastChannel transport that loses a share of the posts it receives. */
function lossy(transport: BusTransport, share: number): BusTransport {
  let n = 0;
  return {
    post: (topic, text) => transport.post(topic, text),
    onPost: (handler) =>
      transport.onPost((topic, text) => {
        // Deterministic: every k-th post is lost.
        if (++n % Math.round(1 / share) !== 0) handler(topic, text);
      }),
    close: () => transport.close(),
  };
}

Deno.test("a 20,000-message burst over a BroadcastChannel losing a third of its posts: holes repaired from history", async () => {
  const channel = `test-${crypto.randomUUID()}`;
  const history = await KvLog.open(":memory:", {
    maxMessages: 30_000,
    ttlMs: 60_000,
  });
  await using a = await startTestServer({
    transport: broadcastChannelTransport(channel),
    history,
    env: { MAX_BUFFERED_BYTES: "100000000" },
  });
  await using b = await startTestServer({
    transport: lossy(broadcastChannelTransport(channel), 1 / 3),
    history,
    env: { REPAIR_DELAY_MS: "20", MAX_BUFFERED_BYTES: "100000000" },
  });
  await using publisher = await TestClient.open(a.wsUrl);
  await using subscriber = await TestClient.open(b.wsUrl);
  await publisher.join("burst");
  await subscriber.join("burst");
  const [figures] = await burst(publisher, [subscriber], 20_000);
  const gaps = b.bus.stats().gaps;
  const repaired = b.metrics.get("history_repaired_total");
  report(
    `burst (lossy bus): sent ${figures!.sent}, received ${
      figures!.received
    }, ` +
      `lost ${figures!.lost}, duplicated ${figures!.duplicated}; ` +
      `bus posts lost ${gaps}, messages repaired from history ${repaired}`,
  );
  assert.equal(figures!.lost, 0);
  assert.equal(figures!.duplicated, 0);
  assert.ok(gaps > 0, "the lossy bus lost nothing: the test proves nothing");
  assert.ok(repaired > 0);
  assert.equal(b.metrics.get("messages_lost_total"), 0);
  await history.close();
});
