/** The memory log: its byte limits (the per-room cap and the server-wide budget) and its sweep of idle rooms. */
import assert from "node:assert/strict";
import type { NewMessage } from "./room_log.ts";
import { storedBytes } from "./room_log.ts";
import { type EvictReason, MemoryLog } from "./memory.ts";

/** A message whose frame is about `chars` long. */
function big(chars: number, ts = 1_000): NewMessage {
  return { data: "x".repeat(chars), ts, from: "c1" };
}

function counting() {
  const evicted: Record<EvictReason, number> = { "room_bytes": 0, budget: 0 };
  const gauge = { value: 0 };
  return {
    evicted,
    gauge,
    onEvict: (reason: EvictReason, n: number) => void (evicted[reason] += n),
  };
}

Deno.test("MemoryLog: the per-room byte cap drops the room's oldest messages and counts them", async () => {
  const seen = counting();
  const log = new MemoryLog({
    maxMessages: 1_000,
    ttlMs: 60_000,
    now: () => 1_000,
    maxRoomBytes: 10_000,
    onEvict: seen.onEvict,
    bytesGauge: seen.gauge,
  });
  const stored = [];
  for (let i = 0; i < 10; i++) {
    stored.push(...await log.append("r", [big(2_000)]));
  }
  // The longest tail that fits (frames grow by a digit at offset 10).
  let kept = 0;
  let bytes = 0;
  while (bytes + storedBytes(stored[9 - kept]!) <= 10_000) {
    bytes += storedBytes(stored[9 - kept]!);
    kept += 1;
  }
  assert.equal(seen.evicted.room_bytes, 10 - kept);
  assert.equal(log.bytes, bytes);
  assert.equal(seen.gauge.value, log.bytes);
  assert.ok(log.bytes <= 10_000);
  const head = await log.head("r");
  // The kept tail replays; a position before it does not, not even in part.
  const tail = await log.since("r", { ...head, offset: 10 - kept });
  assert.equal(tail.recovered, true);
  assert.equal(tail.recovered && tail.messages.length, kept);
  const evicted = await log.since("r", { ...head, offset: 10 - kept - 1 });
  assert.deepEqual(evicted, { recovered: false, head });
  await log.close();
});

Deno.test("MemoryLog: the budget evicts the oldest messages across rooms first", async () => {
  const seen = counting();
  const log = new MemoryLog({
    maxMessages: 1_000,
    ttlMs: 60_000,
    now: () => 1_000,
    maxMemoryBytes: 30_000,
    onEvict: seen.onEvict,
    bytesGauge: seen.gauge,
  });
  // Interleaved: a1 b1 c1 a2 b2 c2 ... each ~2.1 KB: 14 fit in 30,000.
  for (let round = 1; round <= 6; round++) {
    for (const room of ["a", "b", "c"]) await log.append(room, [big(2_000)]);
    assert.ok(log.bytes <= 30_000, `bytes ${log.bytes} after round ${round}`);
  }
  assert.equal(seen.gauge.value, log.bytes);
  const size = storedBytes((await log.append("d", [big(2_000)]))[0]!);
  const fit = Math.floor(30_000 / size);
  assert.equal(seen.evicted.budget, 19 - fit);
  assert.equal(seen.evicted.room_bytes, 0);
  // The oldest 19 - fit went, in append order: a1 b1 c1 a2 b2 ...
  const order = ["a", "b", "c"];
  const firstKept = new Map<string, number>();
  for (let i = 19 - fit; i < 18; i++) {
    const room = order[i % 3]!;
    if (!firstKept.has(room)) firstKept.set(room, Math.floor(i / 3) + 1);
  }
  for (const room of order) {
    const head = await log.head(room);
    const kept = firstKept.get(room)!;
    const all = await log.since(room, { ...head, offset: kept - 1 });
    assert.equal(all.recovered, true, `room ${room} from ${kept - 1}`);
    assert.equal(all.recovered && all.messages[0]!.offset, kept);
    const before = await log.since(room, { ...head, offset: kept - 2 });
    assert.deepEqual(before, { recovered: false, head }, `room ${room}`);
  }
  // Room d, the newest, is whole.
  const d = await log.since("d", { ...(await log.head("d")), offset: 0 });
  assert.equal(d.recovered, true);
  await log.close();
});

Deno.test("MemoryLog: a room evicted whole by the budget answers recovered:false, and at its head recovered:true", async () => {
  const log = new MemoryLog({
    maxMessages: 1_000,
    ttlMs: 60_000,
    now: () => 1_000,
    maxMemoryBytes: 5_000,
  });
  await log.append("old", [big(1_000), big(1_000)]);
  const head = await log.head("old");
  await log.append("new", [big(2_000), big(2_000)]);
  assert.ok(log.bytes <= 5_000);
  assert.deepEqual(await log.since("old", { ...head, offset: 0 }), {
    recovered: false,
    head,
  });
  assert.deepEqual(await log.since("old", head), {
    recovered: true,
    messages: [],
    head,
  });
  // Offsets go on from the head: eviction never reuses a position.
  const [next] = await log.append("old", [big(10)]);
  assert.deepEqual([next!.offset, next!.epoch], [3, head.epoch]);
  await log.close();
});

Deno.test("MemoryLog: the eviction queue stays bounded when rooms trim by count", async () => {
  const log = new MemoryLog({
    maxMessages: 2,
    ttlMs: 60_000,
    now: () => 1_000,
    maxMemoryBytes: 1_000_000,
  });
  await log.append("quiet", [big(10)]);
  for (let i = 0; i < 20_000; i++) await log.append("busy", [big(10)]);
  // 3 live entries: a queue of every append would hold 20,001 slots.
  assert.ok(log.queued <= 2 * 3 + 1_024, `queued ${log.queued}`);
  // The quiet room's message, the oldest, is still the first to go.
  const head = await log.head("quiet");
  assert.equal(
    (await log.since("quiet", { ...head, offset: 0 })).recovered,
    true,
  );
  await log.close();
});

function msg(i: number, ts = 1_000): NewMessage {
  return { data: { i }, ts, from: "c1" };
}

Deno.test("MemoryLog.sweep() forgets idle rooms whose messages expired", async () => {
  let now = 0;
  const log = new MemoryLog({ maxMessages: 10, ttlMs: 1_000, now: () => now });
  await log.append("r", [msg(1, 0)]);
  await log.head("quiet");
  now = 500;
  log.sweep();
  assert.equal(log.size, 2);
  now = 2_000;
  log.sweep();
  assert.equal(log.size, 0);
});

Deno.test("MemoryLog: historySize() counts a room's messages and bytes; dropHistory() empties it, keeps its position, and a resume across it is not recovered", async () => {
  const log = new MemoryLog({ maxMessages: 10, ttlMs: 60_000 });
  assert.deepEqual(await log.historySize("r"), { messages: 0, bytes: 0 });
  const stored = await log.append("r", [
    { data: 1, ts: Date.now(), from: "a" },
    { data: 2, ts: Date.now(), from: "a" },
  ]);
  const size = await log.historySize("r");
  assert.equal(size.messages, 2);
  assert.equal(size.bytes, stored.reduce((n, m) => n + storedBytes(m), 0));
  assert.equal(log.bytes, size.bytes);
  assert.equal(await log.dropHistory("r"), 2);
  assert.equal(await log.dropHistory("none"), 0);
  assert.deepEqual(await log.historySize("r"), { messages: 0, bytes: 0 });
  assert.equal(log.bytes, 0);
  const head = await log.head("r");
  assert.equal(head.offset, 2);
  const resume = await log.since("r", { epoch: head.epoch, offset: 0 });
  assert.equal(resume.recovered, false);
  const [next] = await log.append("r", [{
    data: 3,
    ts: Date.now(),
    from: "a",
  }]);
  assert.equal(next?.offset, 3);
});
