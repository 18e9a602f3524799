import assert from "node:assert/strict";
import type { RoomMessage } from "../protocol/mod.ts";
import { RoomTracker } from "./_room_tracker.ts";

function message(offset: number, epoch = "e1", room = "lobby"): RoomMessage {
  return { type: "message", room, data: null, offset, epoch, ts: 0, from: "x" };
}

Deno.test("RoomTracker.accept() drops offsets at or below the last one of the same epoch", () => {
  const rooms = new RoomTracker();
  rooms.add("lobby");
  rooms.joined({ room: "lobby", offset: 10, epoch: "e1" });
  assert.equal(rooms.accept(message(10)), false);
  assert.equal(rooms.accept(message(11)), true);
  assert.equal(rooms.accept(message(11)), false);
  assert.equal(rooms.accept(message(3, "e2")), true); // A new epoch restarts.
  assert.deepEqual(rooms.position("lobby"), { offset: 3, epoch: "e2" });
  assert.equal(rooms.accept(message(1, "e1", "other")), false);
});

Deno.test("RoomTracker.joinFrame() asks to resume once a position is known", () => {
  const rooms = new RoomTracker();
  rooms.add("lobby");
  assert.deepEqual(rooms.joinFrame("lobby"), {
    type: "join",
    room: "lobby",
    id: "j1",
  });
  rooms.joined({ room: "lobby", offset: 2, epoch: "e1" });
  assert.equal(rooms.accept(message(3)), true);
  assert.deepEqual(rooms.joinFrame("lobby"), {
    type: "join",
    room: "lobby",
    id: "j2",
    since: { offset: 3, epoch: "e1" },
  });
  rooms.delete("lobby");
  rooms.add("lobby", { name: "Ann" });
  assert.deepEqual(rooms.joinFrame("lobby"), {
    type: "join",
    room: "lobby",
    id: "j3",
    meta: { name: "Ann" },
  });
});

Deno.test("RoomTracker.joined() infers recovery when the server does not say", () => {
  const rooms = new RoomTracker();
  rooms.add("lobby");
  assert.deepEqual(
    rooms.joined({ room: "lobby", offset: 5, epoch: "e1" }),
    { resumed: false, recovered: true },
  );
  // Same epoch, nothing new: nothing missed.
  assert.deepEqual(
    rooms.joined({ room: "lobby", offset: 5, epoch: "e1" }),
    { resumed: true, recovered: true },
  );
  // The room moved on: messages 6 and 7 were missed; the position jumps.
  assert.deepEqual(
    rooms.joined({ room: "lobby", offset: 7, epoch: "e1" }),
    { resumed: true, recovered: false },
  );
  assert.deepEqual(rooms.position("lobby"), { offset: 7, epoch: "e1" });
  assert.equal(
    rooms.joined({ room: "gone", offset: 1, epoch: "e1" }),
    undefined,
  );
});

Deno.test("RoomTracker.joined() trusts recovered from a newer server", () => {
  const rooms = new RoomTracker();
  rooms.add("lobby");
  rooms.joined({ room: "lobby", offset: 5, epoch: "e1" });
  // recovered: true: the missed messages 6..9 are replayed, so keep 5.
  assert.deepEqual(
    rooms.joined({
      room: "lobby",
      offset: 9,
      epoch: "e1",
      recovered: true,
    }),
    { resumed: true, recovered: true },
  );
  assert.deepEqual(rooms.position("lobby"), { offset: 5, epoch: "e1" });
  assert.equal(rooms.accept(message(6)), true);
  // recovered: false even in the same epoch: start from the join point.
  assert.deepEqual(
    rooms.joined({
      room: "lobby",
      offset: 6,
      epoch: "e1",
      recovered: false,
    }),
    { resumed: true, recovered: false },
  );
  assert.deepEqual(rooms.position("lobby"), { offset: 6, epoch: "e1" });
});
