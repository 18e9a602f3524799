/**
 * The Deno KV window is bounded by `HISTORY_SIZE` whatever the message size:
 * a trimmed message loses its head and every part of a chunked frame, in the
 * write-through log (per room and combined commits) and the write-behind
 * flush alike.
 */
import assert from "node:assert/strict";
import { PART_CHARS, roomKey } from "./_kv_layout.ts";
import type { NewMessage, RoomLog } from "./room_log.ts";
import { KvLog } from "./kv.ts";
import { KvBehindLog } from "./kv_behind.ts";

const LIMITS = { maxMessages: 5, ttlMs: 600_000 };
/** About 60 KB of data: four parts per frame. */
const BIG = "x".repeat(60_000);

function big(i: number): NewMessage {
  return { data: { i, text: BIG }, ts: Date.now(), from: "c1" };
}

/** Counts the KV entries of `room` by kind (`m` heads, `c` parts). */
async function entries(kv: Deno.Kv, room: string) {
  const counts = { m: 0, c: 0, other: 0 };
  for await (const entry of kv.list({ prefix: roomKey(room) })) {
    const kind = entry.key[3];
    if (kind === "m") counts.m += 1;
    else if (kind === "c") counts.c += 1;
    else counts.other += 1;
  }
  return counts;
}

/** At most `LIMITS.maxMessages` messages' worth of entries: heads and parts. */
function assertBounded(counts: { m: number; c: number }, label: string) {
  const parts = Math.ceil((BIG.length + 200) / PART_CHARS);
  assert.ok(counts.m <= LIMITS.maxMessages, `${label}: ${counts.m} heads`);
  assert.ok(
    counts.c <= LIMITS.maxMessages * parts,
    `${label}: ${counts.c} parts left for ${counts.m} messages (at most ${
      LIMITS.maxMessages * parts
    })`,
  );
}

async function publishAll(log: RoomLog, room: string, count: number) {
  for (let i = 0; i < count; i++) await log.append(room, [big(i)]);
}

Deno.test("KvLog: trimming a chunked message deletes its parts (50 × 60 KB, HISTORY_SIZE 5)", async () => {
  const kv = await Deno.openKv(":memory:");
  const log = new KvLog(kv, LIMITS);
  await publishAll(log, "one", 50);
  // Combined commits: several rooms appended in the same tick.
  for (let i = 0; i < 50; i++) {
    await Promise.all(
      ["a", "b", "c"].map((room) => log.append(room, [big(i)])),
    );
  }
  for (const room of ["one", "a", "b", "c"]) {
    const counts = await entries(kv, room);
    assertBounded(counts, room);
    const replay = await log.since(room, {
      ...(await log.head(room)),
      offset: 45,
    });
    assert.ok(replay.recovered, `${room}: the window still replays`);
    assert.equal(replay.messages.length, 5);
  }
  await log.close();
});

Deno.test("KvBehindLog: the flush deletes every part of a trimmed message (50 × 60 KB, HISTORY_SIZE 5)", async () => {
  const kv = await Deno.openKv(":memory:");
  const log = await KvBehindLog.open(kv, { ...LIMITS, flushMs: 60_000 });
  // One message per flush, then many per flush (trimmed within one batch).
  for (let i = 0; i < 25; i++) {
    await log.append("r", [big(i)]);
    await log.flush();
  }
  await publishAll(log, "r", 25);
  await log.flush();
  assertBounded(await entries(kv, "r"), "r");
  await log.close();
});

Deno.test("KvBehindLog: a room loaded from the database trims what an earlier run wrote", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/log.kv`;
  const first = await KvBehindLog.open(await Deno.openKv(path), LIMITS);
  await publishAll(first, "r", 5);
  await first.close();
  const kv = await Deno.openKv(path);
  const second = await KvBehindLog.open(kv, LIMITS);
  await publishAll(second, "r", 5);
  await second.flush();
  assertBounded(await entries(kv, "r"), "after restart");
  const replay = await second.since("r", {
    ...(await second.head("r")),
    offset: 5,
  });
  assert.ok(replay.recovered);
  assert.equal(replay.messages.length, 5);
  await second.close();
  await Deno.remove(dir, { recursive: true });
});
