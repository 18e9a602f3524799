import assert from "node:assert/strict";
import { FakeSocket } from "../../tests/_support/fake_socket.ts";
import { FakeLoop } from "../../tests/_support/fake_loop.ts";
import { Connection } from "./connection.ts";
import { Metrics } from "../support/metrics.ts";
import { RoomRegistry } from "./room_registry.ts";
import type { StreamMessage } from "./room_stream.ts";

/** A registry whose turns the test ends, `framesPerTurn` frames each. */
function setup(framesPerTurn: number, maxWaitingMessages = 10_000) {
  const loop = new FakeLoop();
  const metrics = new Metrics();
  const rooms = new RoomRegistry({
    coalesceMs: 1,
    framesPerTurn,
    maxWaitingMessages,
    clock: loop,
    metrics,
  });
  let n = 0;
  const member = (batch = false, live = true) => {
    const socket = new FakeSocket();
    const c = new Connection(`c${n++}`, socket, {
      maxBufferedBytes: 1 << 20,
      metrics,
      batch,
      budget: rooms.budget,
    });
    const state = rooms.join("x", c);
    assert.ok(state);
    if (live) rooms.release(c, state, { offset: 0, epoch: "e" });
    return { socket, c, state };
  };
  return { loop, rooms, member, metrics };
}

function msg(offset: number): StreamMessage {
  return { offset, epoch: "e", frame: `F${offset}` };
}

/** The messages in `sent`, batch frames unpacked. */
function unpacked(sent: readonly string[]): string[] {
  return sent.flatMap((f) => f.startsWith("[") ? f.slice(1, -1).split(",") : f);
}

const ALL = ["F1", "F2", "F3"];

Deno.test("Fan-out: past the turn's frame budget the rest goes out next turns, every member gets every message once, in order", () => {
  const { loop, rooms, member, metrics } = setup(4);
  const members = Array.from({ length: 10 }, () => member());
  for (const offset of [1, 2, 3]) rooms.broadcast("x", msg(offset));
  // The first turn wrote 4 frames: the first message to the first 4.
  assert.equal(members.filter((m) => m.socket.sent.length > 0).length, 4);
  assert.equal(rooms.waiting("x"), 3); // all three, the first under way
  assert.equal(metrics.get("fanout_deferred_total"), 3);
  loop.endTurn();
  const sent = members.reduce((n, m) => n + m.socket.sent.length, 0);
  assert.equal(sent, 8); // one more turn's worth
  loop.drain();
  for (const m of members) assert.deepEqual(m.socket.sent, ALL);
  assert.equal(rooms.waiting("x"), 0);
});

Deno.test("Fan-out: a member joining during a paced walk gets each message once after its replay; one leaving is skipped", () => {
  const { loop, rooms, member } = setup(2);
  const a = member(), b = member(), c = member();
  rooms.broadcast("x", msg(1));
  rooms.broadcast("x", msg(2));
  // Mid-walk: c leaves, d joins (pending), then goes live with a replay up to 1.
  rooms.leave("x", c.c);
  const d = member(false, false);
  rooms.broadcast("x", msg(3));
  loop.endTurn();
  rooms.release(d.c, d.state, { offset: 0, epoch: "e" }, [msg(1)]);
  loop.drain();
  assert.deepEqual(a.socket.sent, ALL);
  assert.deepEqual(b.socket.sent, ALL);
  assert.deepEqual(c.socket.sent, []); // the budget stopped at it, then it left
  assert.deepEqual(d.socket.sent, ALL);
});

Deno.test("Fan-out: a room over FANOUT_MAX_WAITING delivers its oldest message in full at once (counted), losing nothing", () => {
  const { loop, rooms, member, metrics } = setup(1, 2);
  const members = Array.from({ length: 3 }, () => member());
  for (const offset of [1, 2, 3]) rooms.broadcast("x", msg(offset));
  // The third found two waiting: the first went to everyone now.
  assert.equal(metrics.get("fanout_overruns_total"), 1);
  for (const m of members) assert.equal(m.socket.sent[0], "F1");
  loop.drain();
  for (const m of members) assert.deepEqual(m.socket.sent, ALL);
});

Deno.test("Fan-out: batch members cost nothing to queue; a flush past the budget resumes next turn, and what arrives meanwhile is neither lost nor doubled", () => {
  const { loop, rooms, member } = setup(3);
  const members = Array.from({ length: 8 }, () => member(true));
  rooms.broadcast("x", msg(1));
  rooms.broadcast("x", msg(2));
  assert.ok(members.every((m) => m.socket.sent.length === 0)); // queued
  loop.endTurn(); // the flush starts: 3 members get [F1,F2]
  assert.equal(members.filter((m) => m.socket.sent.length > 0).length, 3);
  rooms.broadcast("x", msg(3)); // arrives while the flush is under way
  loop.drain();
  for (const m of members) assert.deepEqual(unpacked(m.socket.sent), ALL);
  // Those reached after the arrival got it in the same frame.
  assert.ok(members.some((m) => m.socket.sent.length === 1));
});

Deno.test("Fan-out: a mixed room under a spent budget keeps each member's order; close() sends everything at once", () => {
  const { rooms, member } = setup(2);
  const plain = Array.from({ length: 5 }, () => member(false));
  const batch = Array.from({ length: 5 }, () => member(true));
  for (const offset of [1, 2, 3]) rooms.broadcast("x", msg(offset));
  rooms.close();
  for (const m of plain) assert.deepEqual(m.socket.sent, ALL);
  for (const m of batch) assert.deepEqual(unpacked(m.socket.sent), ALL);
});

Deno.test("Fan-out: a paced batch flush with COALESCE_MAX_MESSAGES arrivals behind it is finished at once (counted): the queue stays bounded", () => {
  const loop = new FakeLoop();
  const metrics = new Metrics();
  const rooms = new RoomRegistry({
    coalesceMs: 1,
    coalesceMaxMessages: 2,
    framesPerTurn: 1,
    clock: loop,
    metrics,
  });
  const members = Array.from({ length: 4 }, (_, i) => {
    const socket = new FakeSocket();
    const c = new Connection(`b${i}`, socket, {
      maxBufferedBytes: 1 << 20,
      metrics,
      batch: true,
      budget: rooms.budget,
    });
    const state = rooms.join("x", c)!;
    rooms.release(c, state, { offset: 0, epoch: "e" });
    return socket;
  });
  rooms.broadcast("x", msg(1));
  loop.endTurn(); // the flush starts and the budget stops it after one member
  assert.equal(members.filter((s) => s.sent.length > 0).length, 1);
  rooms.broadcast("x", msg(2));
  assert.equal(metrics.get("fanout_overruns_total"), 0);
  rooms.broadcast("x", msg(3)); // the second arrival behind it: finish it now
  assert.equal(metrics.get("fanout_overruns_total"), 1);
  assert.ok(members.every((s) => unpacked(s.sent)[0] === "F1"));
  loop.drain();
  for (const s of members) assert.deepEqual(unpacked(s.sent), ALL);
});

Deno.test("Fan-out: a room that stays behind for thousands of messages keeps each member's order (its backlog is compacted as it goes)", () => {
  const { loop, rooms, member } = setup(1);
  const a = member(), b = member();
  const offsets = Array.from({ length: 3000 }, (_, i) => i + 1);
  for (const offset of offsets) {
    rooms.broadcast("x", msg(offset));
    if (offset % 2 === 0) loop.endTurn(); // one turn per two arrivals: it falls behind
  }
  assert.ok(rooms.waiting("x") > 1024);
  for (let i = 0; i < 10_000 && loop.waiting > 0; i++) loop.endTurn();
  const want = offsets.map((o) => `F${o}`);
  assert.deepEqual(a.socket.sent, want);
  assert.deepEqual(b.socket.sent, want);
});
