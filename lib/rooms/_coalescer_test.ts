import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { FakeSocket } from "../../tests/_support/fake_socket.ts";
import { Connection } from "./connection.ts";
import { Metrics } from "../support/metrics.ts";
import { RoomRegistry } from "./room_registry.ts";
import { FakeLoop } from "../../tests/_support/fake_loop.ts";
import type { StreamMessage } from "./room_stream.ts";

function setup(coalesceMs = 1, maxMessages = 256) {
  const loop = new FakeLoop();
  const metrics = new Metrics();
  const rooms = new RoomRegistry({
    coalesceMs,
    coalesceMaxMessages: maxMessages,
    clock: loop,
    metrics,
  });
  const member = (id: string, batch: boolean, live = true, after = 0) => {
    const socket = new FakeSocket();
    const c = new Connection(id, socket, {
      maxBufferedBytes: 1 << 20,
      metrics,
      batch,
    });
    const state = rooms.join("x", c);
    assert.ok(state);
    if (live) rooms.release(c, state, { offset: after, epoch: "e" });
    return { socket, c, state };
  };
  return { loop, rooms, member, metrics };
}

function msg(offset: number, except?: string, epoch = "e"): StreamMessage {
  const m: StreamMessage = { offset, epoch, frame: `F${offset}${epoch}` };
  if (except !== undefined) m.except = except;
  return m;
}

/** The messages in `sent`, batch frames unpacked. */
function unpacked(sent: readonly string[]): string[] {
  return sent.flatMap((f) => f.startsWith("[") ? f.slice(1, -1).split(",") : f);
}

Deno.test("Coalescing: idle, the first message goes out when its turn ends, with no timer", () => {
  const { loop, rooms, member } = setup(50);
  const a = member("a", true);
  rooms.broadcast("x", msg(1));
  assert.deepEqual(a.socket.sent, []); // held for the rest of the turn
  loop.endTurn(); // no time passes
  assert.deepEqual(a.socket.sent, ["F1e"]);
  loop.drain(); // nothing else came
  // Moments after a send, a message is taken for the rest of a burst: it
  // waits for a turn that brings no more.
  rooms.broadcast("x", msg(2));
  loop.endTurn(); // the turn that brought it
  assert.deepEqual(a.socket.sent, ["F1e"]);
  loop.endTurn(); // a turn that brought nothing more
  assert.deepEqual(a.socket.sent, ["F1e", "F2e"]);
  loop.drain();
  // Nothing sent for coalesceMs: idle again, out when the turn ends.
  loop.time += 50;
  rooms.broadcast("x", msg(3));
  loop.endTurn();
  assert.deepEqual(a.socket.sent, ["F1e", "F2e", "F3e"]);
});

Deno.test("Coalescing: a burst within one turn goes out as one frame, even to an idle room", () => {
  const { loop, rooms, member, metrics } = setup();
  const a = member("a", true);
  const b = member("b", true);
  // Three tasks of one turn (a publisher's frames that arrived together).
  for (const offset of [1, 2, 3]) rooms.broadcast("x", msg(offset));
  assert.deepEqual(a.socket.sent, []);
  loop.endTurn();
  assert.deepEqual(a.socket.sent, ["[F1e,F2e,F3e]"]);
  assert.deepEqual(b.socket.sent, ["[F1e,F2e,F3e]"]);
  // Built once for both members: the very same string.
  assert.equal(a.socket.sent[0], b.socket.sent[0]);
  assert.equal(metrics.get("batch_frames_total"), 2);
});

Deno.test("Coalescing: arrivals while the room is corked gather until a turn brings no more", () => {
  const { loop, rooms, member } = setup(50);
  const a = member("a", true);
  const plain = member("p", false);
  rooms.broadcast("x", msg(1));
  loop.endTurn();
  rooms.broadcast("x", msg(2)); // tasks of the next turn
  rooms.broadcast("x", msg(3));
  assert.deepEqual(a.socket.sent, ["F1e"]);
  assert.deepEqual(plain.socket.sent, ["F1e", "F2e", "F3e"]); // never held
  loop.endTurn(); // that turn brought messages: more may follow
  rooms.broadcast("x", msg(4));
  loop.endTurn();
  assert.deepEqual(a.socket.sent, ["F1e"]);
  loop.endTurn(); // a turn without arrivals: out they go, together
  assert.deepEqual(a.socket.sent, ["F1e", "[F2e,F3e,F4e]"]);
  // The room is still corked: the next arrival is held too.
  rooms.broadcast("x", msg(5));
  assert.deepEqual(a.socket.sent, ["F1e", "[F2e,F3e,F4e]"]);
  loop.endTurn();
  loop.endTurn();
  assert.deepEqual(a.socket.sent, ["F1e", "[F2e,F3e,F4e]", "F5e"]);
  loop.endTurn(); // it just sent a batch: still corked
  loop.endTurn(); // a turn with nothing held and nothing sent: idle
  loop.time += 50; // and nothing sent for coalesceMs
  rooms.broadcast("x", msg(6));
  loop.endTurn();
  assert.deepEqual(a.socket.sent.at(-1), "F6e");
  // Turns that keep bringing messages do not hold them past coalesceMs.
  loop.drain();
  loop.time += 50;
  rooms.broadcast("x", msg(7));
  loop.endTurn();
  for (let offset = 8; offset <= 12; offset++) {
    loop.time += 20;
    rooms.broadcast("x", msg(offset));
    loop.endTurn();
  }
  // The arrival that found F8 held 50 ms or more sent the batch; the room
  // stays corked, so F12 waits for the next batch.
  assert.deepEqual(a.socket.sent.slice(-2), ["F7e", "[F8e,F9e,F10e,F11e]"]);
  loop.drain();
  assert.deepEqual(a.socket.sent.at(-1), "F12e");
});

Deno.test("Coalescing: under sustained load no message waits longer than COALESCE_MS, nor past a full batch", () => {
  const coalesceMs = 4;
  const { loop, rooms, member } = setup(coalesceMs, 3);
  const a = member("a", true);
  const arrived = new Map<string, number>();
  let worst = 0;
  const seen = () => {
    for (const frame of unpacked(a.socket.sent)) {
      const at = arrived.get(frame);
      assert.ok(at !== undefined);
      worst = Math.max(worst, loop.time - at);
      arrived.delete(frame);
    }
    a.socket.sent.length = 0;
  };
  // One long turn: a message every ms, each in its own task.
  for (let offset = 1; offset <= 40; offset++) {
    loop.time = offset;
    const m = msg(offset);
    arrived.set(m.frame, loop.time);
    rooms.broadcast("x", m);
    seen();
  }
  loop.drain();
  seen();
  assert.equal(arrived.size, 0, "every message was sent");
  assert.ok(worst <= coalesceMs, `waited ${worst} ms`);

  const { loop: loop2, rooms: rooms2, member: member2 } = setup(1000, 3);
  const b = member2("b", true);
  rooms2.broadcast("x", msg(1));
  loop2.endTurn();
  for (let offset = 2; offset <= 8; offset++) {
    rooms2.broadcast("x", msg(offset));
  }
  // Full batches of 3 went out at once; the rest waits for the turn's end.
  assert.deepEqual(b.socket.sent, ["F1e", "[F2e,F3e,F4e]", "[F5e,F6e,F7e]"]);
  loop2.drain();
  assert.deepEqual(b.socket.sent.at(-1), "F8e");
});

Deno.test("Coalescing: order and exactly once per member across joins mid-batch, except, epochs and pending members", () => {
  const { loop, rooms, member } = setup(50);
  const a = member("a", true);
  const b = member("b", true);
  const plain = member("p", false);
  rooms.broadcast("x", msg(1));
  loop.endTurn();
  rooms.broadcast("x", msg(2));
  const pending = member("c", true, false); // joins mid-batch, pending
  const late = member("d", true, true, 2); // joins mid-batch, live after 2
  rooms.broadcast("x", msg(3, "a"));
  rooms.broadcast("x", msg(4));
  loop.endTurn();
  rooms.broadcast("x", msg(1, undefined, "e2")); // history lost: a new epoch
  rooms.broadcast("x", msg(2, undefined, "e2"));
  loop.drain();
  rooms.release(pending.c, pending.state, { offset: 0, epoch: "e" }, [
    msg(1),
    msg(2),
  ]);
  rooms.broadcast("x", msg(3, undefined, "e2"));
  rooms.broadcast("x", msg(4, undefined, "e2"));
  loop.drain();
  const all = ["F1e", "F2e", "F3e", "F4e", "F1e2", "F2e2", "F3e2", "F4e2"];
  assert.deepEqual(unpacked(plain.socket.sent), all);
  assert.deepEqual(unpacked(b.socket.sent), all);
  assert.deepEqual(unpacked(a.socket.sent), all.filter((f) => f !== "F3e"));
  assert.deepEqual(unpacked(late.socket.sent), all.slice(2));
  assert.deepEqual(unpacked(pending.socket.sent), all);
  // Batch members got batch frames for the clean runs.
  assert.ok(b.socket.sent.includes("[F3e2,F4e2]"), b.socket.sent.join(" "));
});

Deno.test("Coalescing: close() sends what is held and a room emptied mid-batch sends nothing", () => {
  const { loop, rooms, member } = setup(50);
  const a = member("a", true);
  rooms.broadcast("x", msg(1));
  rooms.broadcast("x", msg(2));
  rooms.close();
  assert.deepEqual(a.socket.sent, ["[F1e,F2e]"]);
  loop.endTurn();
  assert.deepEqual(a.socket.sent, ["[F1e,F2e]"]);
  rooms.broadcast("x", msg(3));
  rooms.leave("x", a.c);
  loop.endTurn();
  assert.deepEqual(a.socket.sent, ["[F1e,F2e]"]);
});

Deno.test("Coalescing: a room is busy for coalesceMs after its last send ended, however long the flush took", () => {
  const { loop, rooms, member } = setup(2);
  const members = [member("a", true), member("b", true), member("c", true)];
  // Every send takes 1 ms: flushing to three members takes 3 ms.
  for (const { socket } of members) {
    const send = socket.send.bind(socket);
    socket.send = (data: string) => {
      loop.time += 1;
      send(data);
    };
  }
  rooms.broadcast("x", msg(1));
  loop.endTurn(); // t = 3 when the last send ends
  loop.drain();
  rooms.broadcast("x", msg(2)); // 0 ms after the sends ended: busy
  rooms.broadcast("x", msg(3));
  assert.deepEqual(members[2]!.socket.sent, ["F1e"]);
  loop.drain();
  assert.deepEqual(members[2]!.socket.sent, ["F1e", "[F2e,F3e]"]);
});

Deno.test("Coalescing on the event loop: publishes of separate tasks of one turn share a frame, even in an idle room", async () => {
  const metrics = new Metrics();
  const rooms = new RoomRegistry({ coalesceMs: 60_000, metrics });
  const socket = new FakeSocket();
  const c = new Connection("a", socket, {
    maxBufferedBytes: 1 << 20,
    metrics,
    batch: true,
  });
  const state = rooms.join("x", c);
  assert.ok(state);
  rooms.release(c, state, { offset: 0, epoch: "e" });
  rooms.broadcast("x", msg(1)); // the room was idle
  await Promise.resolve(); // that task ended: its microtasks ran
  rooms.broadcast("x", msg(2)); // a later task of the same turn
  assert.deepEqual(socket.sent, []);
  await new Promise((resolve) => setImmediate(resolve)); // the turn ended
  assert.deepEqual(socket.sent, ["[F1e,F2e]"]);
  rooms.close();
});
