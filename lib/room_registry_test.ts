import assert from "node:assert/strict";
import { FakeSocket } from "./_fake_socket.ts";
import { Connection } from "./connection.ts";
import { Metrics } from "./metrics.ts";
import { RoomRegistry } from "./room_registry.ts";

function conn(id: string, socket = new FakeSocket(), maxBufferedBytes = 1024) {
  return new Connection(id, socket, {
    maxBufferedBytes,
    metrics: new Metrics(),
  });
}

Deno.test("RoomRegistry joins, leaves and frees empty rooms", () => {
  const rooms = new RoomRegistry();
  const a = conn("a");
  const b = conn("b");
  assert.equal(rooms.join("x", a), true);
  assert.equal(rooms.join("x", a), false);
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

Deno.test("RoomRegistry.broadcast() sends one frame to members except one", () => {
  const rooms = new RoomRegistry();
  const sockets = [new FakeSocket(), new FakeSocket(), new FakeSocket()];
  const [a, b, c] = sockets.map((s, i) => conn(String(i), s));
  rooms.join("x", a!);
  rooms.join("x", b!);
  rooms.join("y", c!);
  assert.equal(rooms.broadcast("x", "F", a), 1);
  assert.deepEqual(sockets.map((s) => s.sent), [[], ["F"], []]);
  assert.equal(rooms.broadcast("none", "F"), 0);
});

Deno.test("RoomRegistry.broadcast() goes on past failing and slow members", () => {
  const rooms = new RoomRegistry();
  const failing = new FakeSocket();
  failing.failWith = new Error("broken pipe");
  const slow = new FakeSocket();
  slow.bufferedAmount = 10_000;
  const healthy = new FakeSocket();
  const members = [conn("f", failing), conn("s", slow), conn("h", healthy)];
  for (const m of members) rooms.join("x", m);
  assert.equal(rooms.broadcast("x", "F"), 1);
  assert.deepEqual(healthy.sent, ["F"]);
  assert.equal(failing.closedWith?.code, 1011);
  assert.equal(slow.closedWith?.code, 1013);
});
