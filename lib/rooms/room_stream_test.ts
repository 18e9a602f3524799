import assert from "node:assert/strict";
import type { RoomLog, SinceResult } from "../room_log/room_log.ts";
import { MemoryLog } from "../room_log/memory.ts";
import type { StreamPosition } from "../protocol/mod.ts";
import { RoomStream, type StreamMessage } from "./room_stream.ts";

function msg(offset: number, epoch = "e"): StreamMessage {
  return { offset, epoch, frame: `F${offset}` };
}

/** A log whose head is fixed and which has lost everything. */
function amnesicLog(head: StreamPosition): RoomLog {
  return {
    append: () => Promise.reject(new Error("read-only")),
    head: () => Promise.resolve(head),
    since: (): Promise<SinceResult> =>
      Promise.resolve({ recovered: false, head }),
    close: () => Promise.resolve(),
  };
}

Deno.test("RoomStream delivers in offset order, once, whatever the arrival order", async () => {
  const delivered: number[] = [];
  const stream = new RoomStream({
    room: "r",
    log: amnesicLog({ offset: 0, epoch: "e" }),
    repairDelayMs: 1_000,
    deliver: (m) => delivered.push(m.offset),
  });
  await stream.ready;
  for (const offset of [2, 1, 1, 3, 2, 4]) stream.offer(msg(offset));
  assert.deepEqual(delivered, [1, 2, 3, 4]);
  stream.close();
});

Deno.test("RoomStream fills a hole from the log", async () => {
  const log = new MemoryLog({ maxMessages: 100, ttlMs: 60_000 });
  const delivered: number[] = [];
  let repaired = 0;
  const done = Promise.withResolvers<void>();
  const stream = new RoomStream({
    room: "r",
    log,
    repairDelayMs: 1,
    deliver: (m) => {
      delivered.push(m.offset);
      if (m.offset === 3) done.resolve();
    },
    onRepair: (count) => (repaired += count),
  });
  await stream.ready; // starts at offset 0
  const stored = await log.append(
    "r",
    [1, 2, 3].map((i) => ({ data: i, ts: Date.now(), from: "x" })),
  );
  stream.offer(stored[2]!); // 1 and 2 were lost on the bus
  await done.promise;
  assert.deepEqual(delivered, [1, 2, 3]);
  assert.equal(repaired, 2);
  stream.close();
});

Deno.test("RoomStream.resync reads what the bus lost at the end of a burst (no later message reveals the hole)", async () => {
  const log = new MemoryLog({ maxMessages: 100, ttlMs: 60_000 });
  const delivered: number[] = [];
  let repaired = 0;
  const done = Promise.withResolvers<void>();
  const stream = new RoomStream({
    room: "r",
    log,
    repairDelayMs: 60_000, // no hole repair: only resync can find them
    deliver: (m) => {
      delivered.push(m.offset);
      if (m.offset === 3) done.resolve();
    },
    onRepair: (count) => (repaired += count),
  });
  await stream.ready;
  const stored = await log.append(
    "r",
    [1, 2, 3].map((i) => ({ data: i, ts: Date.now(), from: "x" })),
  );
  stream.offer(stored[0]!); // 2 and 3 were lost on the bus, nothing follows
  assert.deepEqual(delivered, [1]);
  await stream.resync(); // the bus resumed
  await done.promise;
  assert.deepEqual(delivered, [1, 2, 3]);
  assert.equal(repaired, 2);
  await stream.resync(); // nothing new: nothing delivered twice
  assert.deepEqual(delivered, [1, 2, 3]);
  stream.close();
});

Deno.test("RoomStream.resync follows a sequence the room started while the bus was cut off (the epoch change tells the loss)", async () => {
  const head = { offset: 2, epoch: "e2" };
  const stored = [1, 2].map((offset) => ({ ...msg(offset, "e2"), ts: 0 }));
  const log: RoomLog = {
    ...amnesicLog({ offset: 0, epoch: "e" }),
    since: (_room, position): Promise<SinceResult> =>
      Promise.resolve(
        position.epoch === "e2"
          ? { recovered: true, messages: stored, head }
          : { recovered: false, head },
      ),
  };
  const delivered: string[] = [];
  const stream = new RoomStream({
    room: "r",
    log,
    repairDelayMs: 60_000,
    deliver: (m) => delivered.push(`${m.epoch}:${m.offset}`),
  });
  await stream.ready;
  stream.offer(msg(1)); // then the failover: e's tail gone, e2 begun
  await stream.resync();
  assert.deepEqual(delivered, ["e:1", "e2:1", "e2:2"]);
  assert.deepEqual(stream.position, head);
  stream.close();
});

Deno.test("RoomStream waits for a hole the log cannot fill, then skips it and says so", async () => {
  const delivered: number[] = [];
  const losses: Array<[number, number]> = [];
  const done = Promise.withResolvers<void>();
  const stream = new RoomStream({
    room: "r",
    log: amnesicLog({ offset: 10, epoch: "e" }),
    repairDelayMs: 1,
    giveUpMs: 30,
    deliver: (m) => {
      delivered.push(m.offset);
      if (m.offset === 15) done.resolve();
    },
    onLoss: (count, position) => losses.push([count, position.offset]),
  });
  await stream.ready;
  stream.offer(msg(11));
  stream.offer(msg(15)); // 12..14 never come and are not in the log
  await done.promise;
  assert.deepEqual(delivered, [11, 15]);
  assert.deepEqual(losses, [[3, 11]]);
  stream.close();
});

Deno.test("RoomStream follows a new epoch and ignores the retired one", async () => {
  const delivered: string[] = [];
  const stream = new RoomStream({
    room: "r",
    log: amnesicLog({ offset: 5, epoch: "old" }),
    repairDelayMs: 1_000,
    deliver: (m) => delivered.push(`${m.epoch}:${m.offset}`),
  });
  await stream.ready;
  stream.offer(msg(6, "old"));
  stream.offer(msg(1, "new"));
  stream.offer(msg(7, "old")); // late post of the retired sequence
  stream.offer(msg(2, "new"));
  assert.deepEqual(delivered, ["old:6", "new:1", "new:2"]);
  stream.close();
});
