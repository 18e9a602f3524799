/** The write-behind log's own promises: restart, crash, lease, fencing, limits. */
import assert from "node:assert/strict";
import type { NewMessage } from "./room_log.ts";
import { KvLog } from "./kv.ts";
import { KvBehindLog, type KvBehindLogOptions } from "./kv_behind.ts";
import { LeaseHeldError } from "./kv_lease.ts";
import { countKv } from "./_test_utils.ts";

function msg(i: number, ts: number): NewMessage {
  return { data: { i }, ts, from: "c1" };
}

/** A temporary database path, a settable clock and options using both. */
async function setup(extra: Partial<KvBehindLogOptions> = {}) {
  const dir = await Deno.makeTempDir();
  const clock = { now: Date.now() };
  const options: KvBehindLogOptions = {
    maxMessages: 100,
    ttlMs: 600_000,
    flushMs: 60_000, // tests flush explicitly
    leaseMs: 10_000,
    now: () => clock.now,
    ...extra,
  };
  return {
    path: `${dir}/log.kv`,
    clock,
    options,
    open: async () =>
      KvBehindLog.open(await Deno.openKv(`${dir}/log.kv`), options),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("KvBehindLog: a clean stop flushes everything; the restart keeps epoch, offsets and history", async () => {
  const t = await setup();
  const first = await t.open();
  const { epoch } = await first.head("r");
  await first.append("r", [1, 2, 3].map((i) => msg(i, t.clock.now)));
  assert.equal(first.stats.backlog, 3);
  await first.close();
  const second = await t.open();
  const replay = await second.since("r", { offset: 0, epoch });
  assert.ok(replay.recovered);
  assert.deepEqual(replay.messages.map((m) => m.offset), [1, 2, 3]);
  const [next] = await second.append("r", [msg(4, t.clock.now)]);
  assert.deepEqual([next!.offset, next!.epoch], [4, epoch]);
  await second.close();
  await t.cleanup();
});

Deno.test("KvBehindLog: after an unclean stop, rooms it wrote start a new epoch at the flushed head; others keep theirs", async () => {
  const t = await setup();
  const clean = await t.open();
  const quiet = await clean.head("quiet");
  await clean.append("quiet", [msg(1, t.clock.now)]);
  await clean.close();

  const crashed = await t.open();
  const { epoch } = await crashed.head("r");
  await crashed.append("r", [1, 2].map((i) => msg(i, t.clock.now)));
  await crashed.flush(); // offsets 1–2 reach the database
  await crashed.append("r", [3, 4].map((i) => msg(i, t.clock.now))); // 3–4 delivered, never flushed
  crashed.abandon();

  // The holder is gone (same host, not running): no need to wait for expiry.
  const next = await t.open();
  const head = await next.head("r");
  assert.notEqual(head.epoch, epoch, "a new epoch: offsets 3–4 were lost");
  assert.equal(head.offset, 2);
  const resumed = await next.since("r", { offset: 4, epoch });
  assert.equal(resumed.recovered, false, "a client that saw 4 must learn it");
  const [m] = await next.append("r", [msg(5, t.clock.now)]);
  assert.deepEqual([m!.offset, m!.epoch], [3, head.epoch]);
  assert.equal((await next.head("quiet")).epoch, quiet.epoch);
  const kept = await next.since("quiet", { offset: 0, epoch: quiet.epoch });
  assert.ok(kept.recovered);
  assert.equal(kept.messages.length, 1);
  await next.close();
  await t.cleanup();
});

Deno.test("KvBehindLog: a live lease keeps a second writer and the write-through log out; a clean release lets them in", async () => {
  const t = await setup();
  const owner = await t.open();
  const { epoch } = await owner.head("r");
  await owner.append("r", [msg(1, t.clock.now)]);
  await owner.flush();
  await assert.rejects(t.open(), LeaseHeldError);
  const through = await KvLog.open(t.path, t.options);
  await assert.rejects(
    through.append("r", [msg(2, t.clock.now)]),
    (error: unknown) =>
      error instanceof LeaseHeldError && /KV_PATH/.test(error.message),
  );
  await assert.rejects(through.head("other"), LeaseHeldError);
  // The owner is unaffected.
  assert.equal((await owner.append("r", [msg(2, t.clock.now)]))[0]!.offset, 2);
  await owner.close();
  const [m] = await through.append("r", [msg(3, t.clock.now)]);
  assert.deepEqual([m!.offset, m!.epoch], [3, epoch]);
  await through.close();
  await t.cleanup();
});

Deno.test("KvBehindLog: a writer whose lease was taken is fenced: its flush fails and it refuses appends", async () => {
  const t = await setup();
  const stale = await t.open();
  const { epoch } = await stale.head("r");
  await stale.append("r", [msg(1, t.clock.now)]);
  await stale.flush();
  // The stale writer stalls past its lease; another one takes over.
  t.clock.now += 10_001;
  const taker = await t.open();
  await stale.append("r", [msg(2, t.clock.now)]);
  await stale.flush();
  assert.equal(stale.stats.fenced, true);
  await assert.rejects(
    stale.append("r", [msg(3, t.clock.now)]),
    /Lost the Deno KV writer lease/,
  );
  const head = await taker.head("r");
  assert.notEqual(head.epoch, epoch);
  assert.equal(
    head.offset,
    1,
    "the stale writer's unflushed message never landed",
  );
  await taker.close();
  stale.abandon();
  await t.cleanup();
});

Deno.test("KvBehindLog: a drop racing a flush in progress and pending appends keeps every append after its head and nothing before, on disk, after trims and after a restart", async () => {
  const t = await setup({ maxMessages: 4 });
  const log = await t.open();
  const { epoch } = await log.head("r");
  const big = (i: number) => ({
    data: { i, text: "x".repeat(40_000) }, // three KV parts
    ts: t.clock.now,
    from: "c1",
  });
  await log.append("r", [msg(1, t.clock.now), msg(2, t.clock.now)]);
  await log.append("r", [msg(3, t.clock.now), big(4)]);
  const flushing = log.flush(); // takes 1..4 and commits them meanwhile
  const pending = log.append("r", [msg(5, t.clock.now), big(6)]);
  const dropping = log.dropHistory("r"); // up to 6, nothing flushed yet
  const later = log.append("r", [msg(7, t.clock.now), big(8)]);
  const [, , dropped, kept] = await Promise.all([
    flushing,
    pending,
    dropping,
    later,
  ]);
  assert.equal(dropped, 6, "1..4 committed, 5..6 pending");
  assert.deepEqual(kept.map((m) => m.offset), [7, 8]);
  await log.committed();
  // On disk: 7 and 8 only (8 in three parts); 5 and 6 were never written.
  const disk = await Deno.openKv(t.path);
  assert.deepEqual(await countKv(disk, "r"), { messages: 2, parts: 3 });
  disk.close();
  const head = { offset: 8, epoch };
  const after = await log.since("r", { offset: 6, epoch });
  assert.ok(after.recovered);
  assert.deepEqual(
    after.messages.map((m) => m.frame),
    kept.map((m) => m.frame),
  );
  assert.equal((await log.since("r", { offset: 5, epoch })).recovered, false);
  // Four more push 7 and 8 out: the chunked 8 goes with its parts.
  await log.append("r", [9, 10, 11, 12].map((i) => msg(i, t.clock.now)));
  await log.close();
  const kv = await Deno.openKv(t.path);
  assert.deepEqual(await countKv(kv, "r"), { messages: 4, parts: 0 });
  kv.close();
  const reopened = await t.open();
  assert.deepEqual(await reopened.head("r"), { ...head, offset: 12 });
  const resumed = await reopened.since("r", head);
  assert.ok(resumed.recovered);
  assert.deepEqual(resumed.messages.map((m) => m.offset), [9, 10, 11, 12]);
  assert.equal(
    (await reopened.since("r", { offset: 7, epoch })).recovered,
    false,
  );
  await reopened.close();
  await t.cleanup();
});

Deno.test("KvBehindLog: a writer whose lease was taken drops nothing on disk: its drop is refused", async () => {
  const t = await setup();
  const stale = await t.open();
  await stale.append("r", [msg(1, t.clock.now), msg(2, t.clock.now)]);
  await stale.flush();
  t.clock.now += 10_001;
  const taker = await t.open();
  // The stale writer learns it lost the lease from the drop's own commit.
  await assert.rejects(stale.dropHistory("r"), /Lost the Deno KV writer lease/);
  assert.equal(stale.stats.fenced, true);
  await assert.rejects(stale.dropHistory("r"), /Lost the Deno KV writer lease/);
  await taker.close();
  const kv = await Deno.openKv(t.path);
  assert.deepEqual(await countKv(kv, "r"), { messages: 2, parts: 0 });
  kv.close();
  stale.abandon();
  await t.cleanup();
});

Deno.test("KvBehindLog: many rooms and large frames flush in several commits and all come back", async () => {
  const t = await setup({ maxMessages: 1_000 });
  const first = await t.open();
  const rooms = Array.from({ length: 300 }, (_, i) => `room-${i}`);
  const epochs = new Map<string, string>();
  for (const room of rooms) {
    epochs.set(room, (await first.head(room)).epoch);
    await first.append(room, [1, 2, 3].map((i) => msg(i, t.clock.now)));
  }
  const big = { data: "x".repeat(100_000), ts: t.clock.now, from: "c1" };
  await first.append("big", [big, big, big]);
  const before = first.stats.commits;
  await first.flush();
  assert.ok(first.stats.commits - before > 1, "split over several commits");
  assert.equal(first.stats.backlog, 0);
  await first.close();
  const second = await t.open();
  for (const room of rooms) {
    const replay = await second.since(room, {
      offset: 0,
      epoch: epochs.get(room)!,
    });
    assert.ok(replay.recovered, room);
    assert.deepEqual(replay.messages.map((m) => m.offset), [1, 2, 3]);
  }
  const head = await second.head("big");
  const replay = await second.since("big", { offset: 0, epoch: head.epoch });
  assert.ok(replay.recovered);
  assert.equal(replay.messages.length, 3);
  assert.equal(JSON.parse(replay.messages[2]!.frame).data.length, 100_000);
  await second.close();
  await t.cleanup();
});

Deno.test("KvBehindLog: appends beyond the backlog limit are refused until a flush", async () => {
  const t = await setup({ maxBacklog: 3 });
  const log = await t.open();
  await log.append("r", [1, 2, 3].map((i) => msg(i, t.clock.now)));
  await assert.rejects(log.append("r", [msg(4, t.clock.now)]), /backlog full/);
  await log.flush();
  assert.equal((await log.append("r", [msg(4, t.clock.now)]))[0]!.offset, 4);
  await log.close();
  await t.cleanup();
});

Deno.test("KvBehindLog: the timer flushes within flushMs without being asked", async () => {
  const t = await setup({ flushMs: 5 });
  const log = await t.open();
  const commits = log.stats.commits;
  await log.append("r", [msg(1, t.clock.now)]);
  while (log.stats.backlog > 0) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok(log.stats.commits > commits);
  await log.close();
  await t.cleanup();
});

Deno.test("KvBehindLog: a long room name with a large batch flushes (commits bounded by key bytes too)", async () => {
  const t = await setup({ maxMessages: 1_000 });
  const log = await t.open();
  const room = "r".repeat(200); // the longest room name
  await log.append(
    room,
    Array.from({ length: 500 }, (_, i) => msg(i, t.clock.now)),
  );
  await log.flush();
  assert.equal(log.stats.failures, 0);
  assert.equal(log.stats.backlog, 0);
  await log.close();
  const reread = await KvLog.open(t.path, {
    maxMessages: 1_000,
    ttlMs: 600_000,
  });
  const head = await reread.head(room);
  assert.equal(head.offset, 500);
  const since = await reread.since(room, { offset: 0, epoch: head.epoch });
  assert.equal(since.recovered, true);
  await reread.close();
  await t.cleanup();
});
