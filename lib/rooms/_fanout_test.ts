import assert from "node:assert/strict";
import { FakeSocket } from "../../tests/_support/fake_socket.ts";
import { Connection } from "./connection.ts";
import { Metrics } from "../support/metrics.ts";
import { RoomRegistry, type RoomRegistryOptions } from "./room_registry.ts";
import type { StreamMessage } from "./room_stream.ts";

/** A registry whose turn ends run only when the test says so. */
function setup(options: RoomRegistryOptions = {}) {
  const turns: (() => void)[] = [];
  const metrics = new Metrics();
  const rooms = new RoomRegistry({
    metrics,
    clock: { now: () => 0, afterTurn: (fn) => void turns.push(fn) },
    ...options,
  });
  /** Runs the turn ends queued now; returns how many ran. */
  const step = () => {
    const now = turns.splice(0);
    for (const fn of now) fn();
    return now.length;
  };
  const drain = () => {
    let n = 0;
    while (step() > 0) n += 1;
    return n;
  };
  return { rooms, turns, step, drain, metrics };
}

function member(rooms: RoomRegistry, id: string, after = 0, batch = false) {
  const socket = new FakeSocket();
  const c = new Connection(id, socket, {
    maxBufferedBytes: 1 << 20,
    metrics: new Metrics(),
    batch,
  });
  const m = rooms.join("x", c);
  assert.ok(m);
  rooms.release(c, m, { offset: after, epoch: "e" });
  return { c, socket };
}

function msg(offset: number): StreamMessage {
  return { offset, epoch: "e", frame: `F${offset}` };
}

/** The offsets a socket received, batch frames unpacked. */
function offsets(socket: FakeSocket): number[] {
  return socket.sent.flatMap((f) => f.replace(/^\[|\]$/g, "").split(","))
    .map((f) => Number(f.slice(1)));
}

Deno.test("fan-out: a room at or under the slice is sent in one loop, no task", () => {
  const { rooms, turns, metrics } = setup({ fanoutSlice: 3 });
  const all = ["a", "b", "c"].map((id) => member(rooms, id));
  rooms.broadcast("x", msg(1));
  assert.deepEqual(all.map((m) => m.socket.sent), [["F1"], ["F1"], ["F1"]]);
  assert.equal(turns.length, 0);
  assert.equal(metrics.get("fanout_sliced_messages_total"), 0);
});

Deno.test("fan-out: a bigger room gets a slice per turn, messages in order behind each other", () => {
  const { rooms, step, drain, metrics } = setup({ fanoutSlice: 2 });
  const all = ["a", "b", "c", "d", "e"].map((id) => member(rooms, id));
  rooms.broadcast("x", msg(1));
  rooms.broadcast("x", msg(2));
  assert.deepEqual(all.map((m) => m.socket.sent.length), [1, 1, 0, 0, 0]);
  step();
  assert.deepEqual(all.map((m) => m.socket.sent.length), [1, 1, 1, 1, 0]);
  drain();
  for (const m of all) assert.deepEqual(m.socket.sent, ["F1", "F2"]);
  assert.equal(metrics.get("fanout_sliced_messages_total"), 2);
  // 10 sends ÷ 2, and a turn may find its iterator just done.
  const slices = metrics.get("fanout_slices_total") ?? 0;
  assert.ok(slices >= 5 && slices <= 6, `${slices} slices`);
  // Done: the next message starts a new delivery.
  rooms.broadcast("x", msg(3));
  assert.deepEqual(all[0]!.socket.sent, ["F1", "F2", "F3"]);
});

Deno.test("fan-out: a room that shrinks under the slice still waits behind its delivery", () => {
  const { rooms, drain } = setup({ fanoutSlice: 2 });
  const [a, b, c] = ["a", "b", "c"].map((id) => member(rooms, id));
  rooms.broadcast("x", msg(1)); // a, b now; c next turn
  rooms.leave("x", b!.c);
  rooms.broadcast("x", msg(2)); // 2 members: would be one loop, but 1 is not done
  assert.deepEqual(c!.socket.sent, []);
  drain();
  assert.deepEqual(a!.socket.sent, ["F1", "F2"]);
  assert.deepEqual(b!.socket.sent, ["F1"]);
  assert.deepEqual(c!.socket.sent, ["F1", "F2"]);
});

Deno.test("fan-out: members joining or leaving mid-delivery get each offset once, without a gap", () => {
  const { rooms, step, drain } = setup({ fanoutSlice: 2 });
  const all = ["a", "b", "c", "d"].map((id) => member(rooms, id));
  rooms.broadcast("x", msg(1));
  rooms.broadcast("x", msg(2));
  // Joins while 1 is half delivered: live at 0 (no replay) before the
  // delivery reaches it, it gets 1 and 2 from the fan-out.
  const early = member(rooms, "early", 0);
  // Joins pending, is visited (holds 1), then released with a replay of 1.
  const socket = new FakeSocket();
  const late = new Connection("late", socket, {
    maxBufferedBytes: 1 << 20,
    metrics: new Metrics(),
  });
  const lateMember = rooms.join("x", late)!;
  rooms.leave("x", all[3]!.c); // leaves before its turn
  step();
  step(); // 1 reached early and late (pending: held)
  assert.equal(rooms.pendingMessages, 1);
  rooms.release(late, lateMember, { offset: 0, epoch: "e" }, [msg(1)]);
  assert.equal(rooms.pendingMessages, 0);
  drain();
  for (const m of all.slice(0, 3)) {
    assert.deepEqual(m.socket.sent, ["F1", "F2"]);
  }
  assert.deepEqual(all[3]!.socket.sent, []);
  assert.deepEqual(early.socket.sent, ["F1", "F2"]);
  assert.deepEqual(socket.sent, ["F1", "F2"]);
  // Released past what is queued (a replay covering it): nothing twice.
  rooms.broadcast("x", msg(3));
  const ahead = member(rooms, "ahead", 3);
  drain();
  assert.deepEqual(ahead.socket.sent, []);
});

Deno.test("fan-out: batch members are queued for the coalescer, in order, once", () => {
  const { rooms, drain, metrics } = setup({
    fanoutSlice: 2,
    coalesceMs: 60_000,
  });
  const batch = ["a", "b", "c", "d", "e"].map((id) =>
    member(rooms, id, 0, true)
  );
  const plain = member(rooms, "p");
  for (let i = 1; i <= 4; i++) rooms.broadcast("x", msg(i));
  drain();
  for (const m of batch) assert.deepEqual(offsets(m.socket), [1, 2, 3, 4]);
  assert.deepEqual(plain.socket.sent, ["F1", "F2", "F3", "F4"]);
  assert.ok((metrics.get("batch_frames_total") ?? 0) > 0, "batch frames sent");
});

Deno.test("fan-out: close() delivers what is queued, then turns do nothing", () => {
  const { rooms, drain } = setup({ fanoutSlice: 2 });
  const all = ["a", "b", "c", "d", "e"].map((id) => member(rooms, id));
  for (let i = 1; i <= 3; i++) rooms.broadcast("x", msg(i));
  rooms.close();
  for (const m of all) assert.deepEqual(m.socket.sent, ["F1", "F2", "F3"]);
  drain();
  for (const m of all) assert.equal(m.socket.sent.length, 3);
});

Deno.test("fan-out: a full room queue delivers its oldest message at once, counted", () => {
  const { rooms, drain, metrics } = setup({
    fanoutSlice: 2,
    fanoutMaxQueued: 2,
  });
  const all = ["a", "b", "c", "d", "e"].map((id) => member(rooms, id));
  for (let i = 1; i <= 3; i++) rooms.broadcast("x", msg(i));
  // The third finds two waiting: the first is finished now.
  assert.equal(metrics.get("fanout_overruns_total"), 1);
  for (const m of all) assert.equal(m.socket.sent[0], "F1");
  drain();
  for (const m of all) assert.deepEqual(m.socket.sent, ["F1", "F2", "F3"]);
});

Deno.test("fan-out: 0 disables slicing", () => {
  const { rooms, turns } = setup({ fanoutSlice: 0 });
  const all = ["a", "b", "c"].map((id) => member(rooms, id));
  rooms.broadcast("x", msg(1));
  assert.deepEqual(all.map((m) => m.socket.sent), [["F1"], ["F1"], ["F1"]]);
  assert.equal(turns.length, 0);
});
