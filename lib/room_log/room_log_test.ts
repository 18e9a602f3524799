/** One behavioural suite, run against every RoomLog backend. */
import assert from "node:assert/strict";
import type { NewMessage } from "./room_log.ts";
import { RemoteLog, serveLog } from "./remote.ts";
import { MemoryLog } from "./memory.ts";
import { BACKENDS, inspectStore } from "./_test_utils.ts";

function msg(i: number, ts = 1_000): NewMessage {
  return { data: { i }, ts, from: "c1" };
}

for (const backend of BACKENDS) {
  Deno.test(`${backend.name}: offsets start at 1 and grow by one per message`, async () => {
    const log = await backend.open({
      maxMessages: 100,
      ttlMs: 60_000,
      now: () => 1_000,
    });
    const head = await log.head("r");
    assert.equal(head.offset, 0);
    const a = await log.append("r", [msg(1), msg(2)]);
    const b = await log.append("r", [msg(3)]);
    assert.deepEqual([...a, ...b].map((m) => m.offset), [1, 2, 3]);
    assert.ok([...a, ...b].every((m) => m.epoch === head.epoch));
    assert.deepEqual(await log.head("r"), { offset: 3, epoch: head.epoch });
    assert.equal((await log.head("other")).offset, 0);
    const frame = JSON.parse(b[0]!.frame);
    assert.deepEqual(frame, {
      type: "message",
      room: "r",
      data: { i: 3 },
      offset: 3,
      epoch: head.epoch,
      ts: 1_000,
      from: "c1",
    });
    await log.close();
  });

  Deno.test(`${backend.name}: since() replays the whole gap, in order`, async () => {
    const log = await backend.open({
      maxMessages: 100,
      ttlMs: 60_000,
      now: () => 1_000,
    });
    const { epoch } = await log.head("r");
    await log.append("r", [1, 2, 3, 4, 5].map((i) => msg(i)));
    const result = await log.since("r", { offset: 2, epoch });
    assert.equal(result.recovered, true);
    assert.ok(result.recovered);
    assert.deepEqual(result.messages.map((m) => m.offset), [3, 4, 5]);
    assert.deepEqual(result.head, { offset: 5, epoch });
    const upToDate = await log.since("r", { offset: 5, epoch });
    assert.ok(upToDate.recovered);
    assert.deepEqual(upToDate.messages, []);
    await log.close();
  });

  Deno.test(`${backend.name}: since() says recovered:false for a foreign epoch, a future offset or a trimmed gap`, async () => {
    const log = await backend.open({
      maxMessages: 3,
      ttlMs: 60_000,
      now: () => 1_000,
    });
    const { epoch } = await log.head("r");
    await log.append("r", [1, 2, 3, 4, 5].map((i) => msg(i)));
    for (
      const position of [
        { offset: 2, epoch: "someone-else" },
        { offset: 9, epoch },
        { offset: 1, epoch }, // offsets 2..5 needed, only 3..5 kept
      ]
    ) {
      const result = await log.since("r", position);
      assert.equal(result.recovered, false, JSON.stringify(position));
      assert.deepEqual(result.head, { offset: 5, epoch });
    }
    const kept = await log.since("r", { offset: 2, epoch });
    assert.ok(kept.recovered);
    assert.deepEqual(kept.messages.map((m) => m.offset), [3, 4, 5]);
    await log.close();
  });

  Deno.test(`${backend.name}: since() says recovered:false once the gap is older than the window`, async () => {
    let now = 1_000;
    const log = await backend.open({
      maxMessages: 100,
      ttlMs: 5_000,
      now: () => now,
    });
    const { epoch } = await log.head("r");
    await log.append("r", [msg(1, 1_000), msg(2, 1_000)]);
    await log.append("r", [msg(3, 4_000)]);
    now = 7_000; // 1 and 2 are older than 5 s, 3 is not
    assert.equal((await log.since("r", { offset: 0, epoch })).recovered, false);
    const recent = await log.since("r", { offset: 2, epoch });
    assert.ok(recent.recovered);
    assert.deepEqual(recent.messages.map((m) => m.offset), [3]);
    await log.close();
  });

  Deno.test(`${backend.name}: large frames and big batches round-trip`, async () => {
    const log = await backend.open({
      maxMessages: 2_000,
      ttlMs: 60_000,
      now: () => 1_000,
    });
    const { epoch } = await log.head("r");
    const big = "é".repeat(40_000);
    const items = Array.from({ length: 600 }, (_, i) => msg(i));
    items[10] = { data: big, ts: 1_000, from: "c1" };
    const stored = await log.append("r", items);
    assert.equal(stored.length, 600);
    const result = await log.since("r", { offset: 0, epoch });
    assert.ok(result.recovered);
    assert.equal(result.messages.length, 600);
    assert.equal(JSON.parse(result.messages[10]!.frame).data, big);
    assert.deepEqual(
      result.messages.map((m) => m.frame),
      stored.map((m) => m.frame),
    );
    await log.close();
  });

  Deno.test(`${backend.name}: since() says recovered:false for a gap over maxRoomBytes, never a partial replay`, async () => {
    const log = await backend.open({
      maxMessages: 1_000,
      ttlMs: 60_000,
      now: () => 1_000,
      maxRoomBytes: 20_000,
    });
    const stored = [];
    for (let i = 0; i < 8; i++) {
      stored.push(
        ...await log.append("r", [{
          data: "x".repeat(4_000),
          ts: 1_000,
          from: "c1",
        }]),
      );
    }
    const head = await log.head("r");
    // Four frames of ~4.1 KB fit in 20,000 bytes; five do not.
    const four = await log.since("r", { ...head, offset: 4 });
    assert.ok(four.recovered);
    assert.deepEqual(
      four.messages.map((m) => m.frame),
      stored.slice(4).map((m) => m.frame),
    );
    assert.deepEqual(await log.since("r", { ...head, offset: 3 }), {
      recovered: false,
      head,
    });
    assert.deepEqual(await log.since("r", { ...head, offset: 0 }), {
      recovered: false,
      head,
    });
    await log.close();
  });

  Deno.test(`${backend.name}: data nested 1,000 deep (the most MAX_JSON_DEPTH allows) is stored like any other`, async () => {
    const log = await backend.open({
      maxMessages: 100,
      ttlMs: 60_000,
      now: () => 1_000,
    });
    const deep = JSON.parse("[".repeat(1_000) + "]".repeat(1_000));
    const [stored] = await log.append("r", [{
      data: deep,
      ts: 1_000,
      from: "c1",
    }]);
    const head = await log.head("r");
    const result = await log.since("r", { ...head, offset: 0 });
    assert.ok(result.recovered);
    assert.equal(result.messages[0]!.frame, stored!.frame);
    await log.close();
  });

  Deno.test(`${backend.name}: dropHistory() deletes every stored message (chunked frames too), keeps offset and epoch, and appends go on`, async () => {
    const log = await backend.open({
      maxMessages: 100,
      ttlMs: 60_000,
      now: () => 1_000,
    });
    assert.ok(log.dropHistory, "every backend drops history");
    const { epoch } = await log.head("r");
    // A frame over 16,000 characters is stored in parts in Deno KV.
    const big = { data: "x".repeat(40_000), ts: 1_000, from: "c1" };
    await log.append("r", [msg(1), big, msg(3)]);
    await log.append("other", [msg(1)]);
    await log.committed?.();
    const before = await inspectStore(log, "r");
    if (before !== undefined) assert.equal(before.messages, 3);
    if (before?.parts !== undefined) assert.ok(before.parts >= 3);
    assert.equal(await log.dropHistory("r"), 3);
    const gone = await inspectStore(log, "r");
    assert.equal(gone?.messages, before && 0);
    assert.equal(gone?.parts, before?.parts && 0);
    const head = { offset: 3, epoch };
    assert.deepEqual(await log.head("r"), head);
    assert.deepEqual(await log.since("r", { offset: 0, epoch }), {
      recovered: false,
      head,
    });
    assert.deepEqual(await log.since("r", head), {
      recovered: true,
      messages: [],
      head,
    });
    const [next] = await log.append("r", [msg(4)]);
    assert.deepEqual([next!.offset, next!.epoch], [4, epoch]);
    const after = await log.since("r", head);
    assert.ok(after.recovered);
    assert.deepEqual(after.messages.map((m) => m.frame), [next!.frame]);
    assert.equal((await log.since("r", { offset: 2, epoch })).recovered, false);
    await log.committed?.();
    const left = await inspectStore(log, "r");
    if (left !== undefined) assert.equal(left.messages, 1);
    // Other rooms keep theirs; a room with nothing stored drops nothing.
    const other = await log.since("other", {
      ...(await log.head("other")),
      offset: 0,
    });
    assert.equal(other.recovered && other.messages.length, 1);
    assert.equal(await log.dropHistory("r"), 1);
    assert.equal(await log.dropHistory("empty"), 0);
    await log.close();
  });
}

Deno.test("RemoteLog: data the structured clone refuses is appended, beside a bystander's, and nothing is left waiting", async () => {
  const served = new MemoryLog({ maxMessages: 100, ttlMs: 60_000 });
  const channel = new MessageChannel();
  serveLog(served, channel.port1);
  const remote = new RemoteLog(channel.port2);
  // Nested deeper than a structured clone goes (~5,000), as JSON.stringify
  // still takes it here.
  const deep = JSON.parse("[".repeat(6_000) + "]".repeat(6_000));
  const results = await Promise.allSettled([
    remote.append("r", [msg(1), { data: deep, ts: 1_000, from: "c2" }]),
    remote.append("r", [msg(2)]),
  ]);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "fulfilled"]);
  assert.equal(remote.waiting, 0);
  const head = await remote.head("r");
  assert.equal(head.offset, 3);
  assert.equal(remote.waiting, 0);
  await remote.close();
  channel.port1.close();
  await served.close();
});

Deno.test("serveLog() answers a request it cannot parse, so no call waits for ever", async () => {
  const channel = new MessageChannel();
  const served = new MemoryLog({ maxMessages: 100, ttlMs: 60_000 });
  serveLog(served, channel.port1);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reply = new Promise<unknown>((resolve, reject) => {
    channel.port2.onmessage = (event) => resolve(event.data);
    // A safety net: without an answer the call would wait for ever.
    timer = setTimeout(() => reject(new Error("No answer")), 5_000);
  }).finally(() => clearTimeout(timer));
  channel.port2.postMessage({ id: 5, op: "head", room: 7 });
  assert.deepEqual(await reply, {
    id: 5,
    ok: false,
    error: "Invalid room log request",
  });
  channel.port1.close();
  channel.port2.close();
  await served.close();
});
