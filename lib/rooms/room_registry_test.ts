import assert from "node:assert/strict";
import { FakeSocket } from "../../tests/_support/fake_socket.ts";
import { Connection } from "./connection.ts";
import { Metrics } from "../support/metrics.ts";
import { RoomRegistry } from "./room_registry.ts";
import type { StreamMessage } from "./room_stream.ts";

function conn(
  id: string,
  socket = new FakeSocket(),
  maxBufferedBytes = 1024,
  batch = false,
) {
  return new Connection(id, socket, {
    maxBufferedBytes,
    metrics: new Metrics(),
    batch,
  });
}

function msg(offset: number, except?: string): StreamMessage {
  const m: StreamMessage = { offset, epoch: "e", frame: `F${offset}` };
  if (except !== undefined) m.except = except;
  return m;
}

/** Joins and makes the member live at once. */
function joinLive(rooms: RoomRegistry, room: string, c: Connection, after = 0) {
  const member = rooms.join(room, c);
  assert.ok(member);
  rooms.release(c, member, { offset: after, epoch: "e" });
}

Deno.test("RoomRegistry joins, leaves and frees empty rooms", () => {
  const rooms = new RoomRegistry();
  const a = conn("a");
  const b = conn("b");
  assert.ok(rooms.join("x", a));
  assert.equal(rooms.join("x", a), undefined);
  rooms.join("x", b);
  rooms.join("y", a);
  assert.equal(rooms.count("x"), 2);
  assert.deepEqual([...a.rooms].sort(), ["x", "y"]);
  assert.equal(rooms.leave("x", b), true);
  assert.equal(rooms.leave("x", b), false);
  assert.deepEqual(rooms.leaveAll(a).sort(), ["x", "y"]);
  assert.equal(rooms.size, 0);
  assert.equal(a.rooms.size, 0);
});

Deno.test("RoomRegistry.broadcast() sends one frame to live members except one", () => {
  const rooms = new RoomRegistry();
  const sockets = [new FakeSocket(), new FakeSocket(), new FakeSocket()];
  const [a, b, c] = sockets.map((s, i) => conn(String(i), s));
  joinLive(rooms, "x", a!);
  joinLive(rooms, "x", b!);
  joinLive(rooms, "y", c!);
  rooms.broadcast("x", msg(1, a!.id));
  assert.deepEqual(sockets.map((s) => s.sent), [[], ["F1"], []]);
  rooms.broadcast("none", msg(1));
});

Deno.test("RoomRegistry never sends an offset twice to a member", () => {
  const rooms = new RoomRegistry();
  const socket = new FakeSocket();
  const a = conn("a", socket);
  joinLive(rooms, "x", a, 5);
  for (const offset of [4, 5, 6, 6, 7]) rooms.broadcast("x", msg(offset));
  assert.deepEqual(socket.sent, ["F6", "F7"]);
});

Deno.test("RoomRegistry holds a pending member's messages until release, then replays in order", () => {
  const rooms = new RoomRegistry();
  const socket = new FakeSocket();
  const a = conn("a", socket);
  const member = rooms.join("x", a);
  assert.ok(member);
  rooms.broadcast("x", msg(4));
  rooms.broadcast("x", msg(5));
  assert.deepEqual(socket.sent, []);
  // Replay 2..4 from history, then the held 4 (duplicate) and 5.
  rooms.release(a, member, { offset: 1, epoch: "e" }, [msg(2), msg(3), msg(4)]);
  rooms.broadcast("x", msg(6));
  assert.deepEqual(socket.sent, ["F2", "F3", "F4", "F5", "F6"]);
});

Deno.test("RoomRegistry.broadcast() goes on past failing and slow members", () => {
  const rooms = new RoomRegistry();
  const failing = new FakeSocket();
  failing.failWith = new Error("broken pipe");
  const slow = new FakeSocket();
  slow.bufferedAmount = 10_000;
  const healthy = new FakeSocket();
  const members = [conn("f", failing), conn("s", slow), conn("h", healthy)];
  for (const m of members) joinLive(rooms, "x", m);
  rooms.broadcast("x", msg(1));
  assert.deepEqual(healthy.sent, ["F1"]);
  assert.equal(failing.closedWith?.code, 1011);
  assert.equal(slow.closedWith?.code, 1013);
});

Deno.test("RoomRegistry coalesces messages into one frame for batch members only", async () => {
  // A bound no run can reach, so a slow machine cannot flush mid-loop.
  const rooms = new RoomRegistry({ coalesceMs: 60_000 });
  const batchSocket = new FakeSocket();
  const plainSocket = new FakeSocket();
  const excluded = new FakeSocket();
  joinLive(rooms, "x", conn("b", batchSocket, 1024, true));
  joinLive(rooms, "x", conn("p", plainSocket));
  joinLive(rooms, "x", conn("e", excluded, 1024, true));
  for (const m of [msg(1), msg(2), msg(3, "e"), msg(4)]) {
    rooms.broadcast("x", m);
  }
  assert.deepEqual(plainSocket.sent, ["F1", "F2", "F3", "F4"]); // never waits
  assert.deepEqual(batchSocket.sent, []); // held until the turn ends
  await batchSocket.waitForFrames(1);
  assert.deepEqual(batchSocket.sent, ["[F1,F2,F3,F4]"]);
  // The excluded member gets its messages one by one, without its own.
  assert.deepEqual(excluded.sent, ["F1", "F2", "F4"]);
  rooms.close();
});

Deno.test("RoomRegistry with coalescing off sends batch members each message at once", () => {
  const rooms = new RoomRegistry({ coalesceMs: 0 });
  const socket = new FakeSocket();
  joinLive(rooms, "x", conn("b", socket, 1024, true));
  rooms.broadcast("x", msg(1));
  rooms.broadcast("x", msg(2));
  assert.deepEqual(socket.sent, ["F1", "F2"]);
});

Deno.test("RoomRegistry starts over when a room's epoch changes (history lost)", () => {
  const rooms = new RoomRegistry();
  const socket = new FakeSocket();
  joinLive(rooms, "x", conn("a", socket), 7);
  rooms.broadcast("x", msg(8));
  // The sequence was recreated: offsets restart at 1 under a new epoch.
  rooms.broadcast("x", { offset: 1, epoch: "e2", frame: "N1" });
  rooms.broadcast("x", { offset: 2, epoch: "e2", frame: "N2" });
  assert.deepEqual(socket.sent, ["F8", "N1", "N2"]);
});

Deno.test("RoomRegistry closes a pending member over its count or byte bound with 1013", () => {
  const metrics = new Metrics();
  const rooms = new RoomRegistry({
    metrics,
    maxPendingMessages: 3,
    maxPendingBytes: 10,
  });
  const byCount = new FakeSocket();
  const byBytes = new FakeSocket();
  const live = new FakeSocket();
  const counted = conn("count", byCount);
  rooms.join("x", counted);
  rooms.join("y", conn("bytes", byBytes));
  joinLive(rooms, "x", conn("live", live));
  for (let offset = 1; offset <= 4; offset++) rooms.broadcast("x", msg(offset));
  assert.equal(byCount.closedWith?.code, 1013);
  assert.deepEqual(live.sent, ["F1", "F2", "F3", "F4"]);
  rooms.broadcast("y", { offset: 1, epoch: "e", frame: "x".repeat(6) });
  assert.equal(byBytes.readyState, 1, "within the bounds");
  assert.equal(rooms.pendingMessages, 1);
  rooms.broadcast("y", { offset: 2, epoch: "e", frame: "x".repeat(6) });
  assert.equal(byBytes.closedWith?.code, 1013);
  assert.equal(rooms.pendingMessages, 0, "what they held is freed");
  assert.equal(metrics.get("pending_overflows_total"), 2);
  assert.equal(metrics.get("slow_consumers_total"), 2);
  assert.equal(metrics.get("pending_messages"), 0);
  // Closed, it holds nothing more (the hub then takes it out of its rooms).
  rooms.broadcast("x", msg(5));
  assert.equal(rooms.pendingMessages, 0);
  assert.equal(rooms.leave("x", counted), true);
});

Deno.test("RoomRegistry counts held messages until release or leave", () => {
  const rooms = new RoomRegistry();
  const a = conn("a");
  const b = conn("b");
  const member = rooms.join("x", a)!;
  rooms.join("x", b);
  rooms.broadcast("x", msg(1));
  rooms.broadcast("x", msg(2));
  assert.equal(rooms.pendingMessages, 4);
  rooms.release(a, member, { offset: 0, epoch: "e" });
  assert.equal(rooms.pendingMessages, 2);
  rooms.leave("x", b);
  assert.equal(rooms.pendingMessages, 0);
});
