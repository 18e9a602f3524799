/** The write-through Deno KV log beyond the shared contract: reopening, several handles, combined commits. */
import assert from "node:assert/strict";
import type { NewMessage } from "./room_log.ts";
import { KvLog } from "./kv.ts";

function msg(i: number, ts = 1_000): NewMessage {
  return { data: { i }, ts, from: "c1" };
}

Deno.test("KvLog: a reopened database keeps offsets, epoch and history", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/log.kv`;
  const limits = { maxMessages: 100, ttlMs: 60_000 };
  const first = await KvLog.open(path, limits);
  const { epoch } = await first.head("r");
  await first.append("r", [msg(1, Date.now()), msg(2, Date.now())]);
  await first.close();
  const second = await KvLog.open(path, limits);
  const result = await second.since("r", { offset: 0, epoch });
  assert.ok(result.recovered);
  assert.deepEqual(result.messages.map((m) => m.offset), [1, 2]);
  assert.equal((await second.append("r", [msg(3, Date.now())]))[0]!.offset, 3);
  await second.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("KvLog: two handles appending to one room never share an offset", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/log.kv`;
  const limits = { maxMessages: 1_000, ttlMs: 60_000 };
  const a = await KvLog.open(path, limits);
  const b = await KvLog.open(path, limits);
  const appends = [];
  for (let i = 0; i < 50; i++) {
    appends.push(a.append("r", [msg(i)]), b.append("r", [msg(i), msg(i)]));
  }
  const offsets = (await Promise.all(appends)).flat().map((m) => m.offset);
  assert.deepEqual(
    offsets.sort((x, y) => x - y),
    Array.from({ length: 150 }, (_, i) => i + 1),
  );
  await a.close();
  await b.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("KvLog: appends to many rooms in one tick share commits and stay exact, even against another writer", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/log.kv`;
  const limits = { maxMessages: 1_000, ttlMs: 60_000 };
  const a = await KvLog.open(path, limits);
  const b = await KvLog.open(path, limits);
  const rooms = Array.from({ length: 150 }, (_, i) => `room-${i}`);
  const appends: Array<Promise<{ room: string; offsets: number[] }>> = [];
  for (let round = 0; round < 3; round++) {
    for (const room of rooms) {
      for (const log of [a, b]) {
        appends.push(
          log.append(room, [msg(round, Date.now()), msg(round, Date.now())])
            .then((stored) => ({
              room,
              offsets: stored.map((m) => m.offset),
            })),
        );
      }
    }
  }
  const byRoom = new Map<string, number[]>();
  for (const { room, offsets } of await Promise.all(appends)) {
    byRoom.set(room, [...(byRoom.get(room) ?? []), ...offsets]);
  }
  for (const room of rooms) {
    // 3 rounds × 2 writers × 2 messages: offsets 1..12, each once.
    const offsets = byRoom.get(room)!.sort((x, y) => x - y);
    assert.deepEqual(
      offsets,
      Array.from({ length: 12 }, (_, i) => i + 1),
      room,
    );
    const { epoch } = await a.head(room);
    const replay = await a.since(room, { offset: 0, epoch });
    assert.ok(replay.recovered);
    assert.equal(replay.messages.length, 12);
  }
  await a.close();
  await b.close();
  await Deno.remove(dir, { recursive: true });
});
