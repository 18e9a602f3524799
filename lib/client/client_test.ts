import assert from "node:assert/strict";
import { rig } from "./_test_utils.ts";
import { RoomcastError } from "./errors.ts";
import { createClient } from "./mod.ts";

const msg = (offset: number, extra: Record<string, unknown> = {}) => ({
  type: "message",
  room: "lobby",
  data: { text: `m${offset}` },
  offset,
  epoch: "e1",
  ts: 1_000 + offset,
  from: "x",
  ...extra,
});

Deno.test("RoomcastClient offers roomcast.v1.batch then roomcast.v1 by default and is connected after welcome", () => {
  using t = rig();
  assert.equal(t.socket.url, "ws://roomcast.test/ws");
  assert.deepEqual(t.socket.protocols, ["roomcast.v1.batch", "roomcast.v1"]);
  assert.equal(t.client.state, "connecting");
  t.socket.welcome();
  assert.equal(t.client.state, "connected");
  assert.equal(t.client.connectionId, "c1");
  assert.deepEqual(t.events, [
    ["state", { oldState: "connecting", newState: "connected" }],
  ]);
});

Deno.test("RoomcastClient with batch: false offers only roomcast.v1", () => {
  using t = rig({ batch: false });
  assert.deepEqual(t.socket.protocols, ["roomcast.v1"]);
});

Deno.test("createClient() rejects bad URLs and options", () => {
  assert.throws(() => createClient("ftp://x/ws"), TypeError);
  assert.throws(() => createClient("not a url"), TypeError);
  assert.throws(
    () => createClient("ws://x/ws", { timeoutMs: -1 }),
    RangeError,
  );
  assert.throws(
    () =>
      createClient("ws://x/ws", {
        minReconnectDelayMs: 5_000,
        maxReconnectDelayMs: 1_000,
      }),
    RangeError,
  );
});

Deno.test("join() sends join once welcomed and emits joined", () => {
  using t = rig();
  t.client.join("lobby");
  assert.deepEqual(t.socket.sent, []);
  t.socket.welcome();
  assert.deepEqual(t.socket.sent, [{ type: "join", room: "lobby", id: "j1" }]);
  t.client.join("lobby"); // Already in: no second frame.
  t.client.join("other");
  assert.deepEqual(t.socket.sentOf("join").length, 2);
  t.socket.joined("lobby", 3);
  assert.deepEqual(t.events.at(-1), [
    "joined",
    { room: "lobby", offset: 3, epoch: "e1", resumed: false },
  ]);
  assert.deepEqual(t.client.rooms, ["lobby", "other"]);
  assert.throws(() => t.client.join("no spaces"), TypeError);
});

Deno.test("RoomcastClient drops duplicates and messages of rooms it left", () => {
  using t = rig();
  const offsets: number[] = [];
  t.client.on("message", (message) => offsets.push(message.offset));
  t.client.join("lobby");
  t.socket.welcome();
  t.socket.joined("lobby", 0);
  for (const offset of [1, 2, 2, 1, 3]) t.socket.receive(msg(offset));
  t.socket.receive(msg(4, { room: "elsewhere" }));
  assert.deepEqual(offsets, [1, 2, 3]);
  t.client.leave("lobby");
  assert.deepEqual(t.socket.sent.at(-1), { type: "leave", room: "lobby" });
  t.socket.receive(msg(5));
  assert.deepEqual(offsets, [1, 2, 3]);
});

Deno.test("publish() resolves with the ack's offset", async () => {
  using t = rig();
  t.client.join("lobby");
  t.socket.welcome();
  const result = t.client.publish("lobby", { text: "hi" }, { echo: false });
  const frame = t.socket.sentOf("publish")[0];
  assert.deepEqual(frame, {
    type: "publish",
    room: "lobby",
    data: { text: "hi" },
    id: 1,
    echo: false,
  });
  t.socket.receive({ type: "ack", id: 1, offset: 7 });
  assert.deepEqual(await result, { offset: 7 });
});

Deno.test("publish() with durable asks for the ack after the commit; overloaded rejects with its code", async () => {
  using t = rig();
  t.client.join("lobby");
  t.socket.welcome();
  const result = t.client.publish("lobby", "keep", { durable: true });
  assert.deepEqual(t.socket.sentOf("publish")[0], {
    type: "publish",
    room: "lobby",
    data: "keep",
    id: 1,
    durable: true,
  });
  t.socket.receive({ type: "ack", id: 1, offset: 3 });
  assert.deepEqual(await result, { offset: 3 });
  const refused = t.client.publish("lobby", "later");
  t.socket.receive({
    type: "error",
    code: "overloaded",
    message: "History backlog full",
    ref: 2,
  });
  await assert.rejects(refused, { code: "overloaded" });
});

Deno.test("publish() rejects on its error frame, on timeout and when not joined", async () => {
  using t = rig({ timeoutMs: 1_000 });
  t.client.join("lobby");
  t.socket.welcome();
  const refused = t.client.publish("lobby", "a");
  t.socket.receive({
    type: "error",
    code: "not_joined",
    message: "Join first",
    ref: 1,
  });
  await assert.rejects(refused, { name: "RoomcastError", code: "not_joined" });
  const late = t.client.publish("lobby", "b");
  t.tick(999);
  t.socket.receive({ type: "pong", ts: 1 }); // Unrelated traffic.
  t.tick(1);
  await assert.rejects(late, { code: "timeout" });
  t.socket.receive({ type: "ack", id: 2, offset: 1 }); // Too late: ignored.
  await assert.rejects(t.client.publish("nowhere", 1), { code: "not_joined" });
  // An error frame answering nothing of ours is an event.
  t.socket.receive({ type: "error", code: "bad_room", message: "Bad" });
  assert.deepEqual(t.events.at(-1), [
    "error",
    { type: "error", code: "bad_room", message: "Bad" },
  ]);
});

Deno.test("publish() queues while connecting and flushes after the rejoin", async () => {
  using t = rig({ maxQueueSize: 2 });
  t.client.join("lobby");
  const first = t.client.publish("lobby", 1);
  const second = t.client.publish("lobby", 2);
  await assert.rejects(t.client.publish("lobby", 3), (error) => {
    assert.ok(error instanceof RoomcastError);
    assert.equal(error.code, "queue_full");
    assert.match(error.message, /^Send queue is full: 2 messages/);
    return true;
  });
  t.socket.welcome();
  assert.deepEqual(t.socket.sent.map((f) => JSON.stringify(f)), [
    '{"type":"join","room":"lobby","id":"j1"}',
    '{"type":"publish","room":"lobby","data":1,"id":1}',
    '{"type":"publish","room":"lobby","data":2,"id":2}',
  ]);
  t.socket.receive({ type: "ack", id: 2, offset: 2 });
  t.socket.receive({ type: "ack", id: 1, offset: 1 });
  assert.deepEqual(await Promise.all([first, second]), [{ offset: 1 }, {
    offset: 2,
  }]);
});

Deno.test("leave() rejects the queued publishes to that room", async () => {
  using t = rig();
  t.client.join("lobby");
  const queued = t.client.publish("lobby", 1);
  t.client.leave("lobby");
  await assert.rejects(queued, { code: "not_joined" });
  t.socket.welcome();
  assert.deepEqual(t.socket.sent, []);
});

Deno.test("ping() resolves with the round-trip time", async () => {
  using t = rig();
  await assert.rejects(t.client.ping(), { code: "disconnected" });
  t.socket.welcome();
  const rtt = t.client.ping();
  assert.deepEqual(t.socket.sent, [{ type: "ping", id: 1 }]);
  t.tick(42);
  t.socket.receive({ type: "pong", id: 1, ts: 5 });
  assert.equal(await rtt, 42);
});

Deno.test("RoomcastClient pings every heartbeatMs and replaces a silent link", () => {
  using t = rig({ heartbeatGraceMs: 500 });
  t.socket.welcome(1_000);
  t.tick(1_000);
  assert.deepEqual(t.socket.sent, [{ type: "ping" }]);
  t.socket.receive({ type: "pong", ts: 1 }); // Alive: the watchdog restarts.
  t.tick(1_499);
  assert.equal(t.sockets.length, 1);
  assert.equal(t.socket.closedWith, undefined);
  t.tick(1);
  assert.equal(t.sockets[0]?.closedWith, 3002);
  assert.deepEqual(t.events.slice(-2), [
    ["close", {
      code: 3002,
      reason: "No frame from the server for 1500 ms",
      willReconnect: true,
    }],
    ["state", { oldState: "connected", newState: "connecting" }],
  ]);
  t.tick(750); // backoff(0) with random 0.5: 500 + 0.5 * 500.
  assert.equal(t.sockets.length, 2);
});

Deno.test("RoomcastClient gives up a connection without welcome after connectTimeoutMs", () => {
  using t = rig({ connectTimeoutMs: 2_000 });
  t.tick(1_999);
  assert.equal(t.socket.closedWith, undefined);
  t.tick(1);
  assert.equal(t.socket.closedWith, 3001);
  assert.deepEqual(t.events[0], ["close", {
    code: 3001,
    reason: "No welcome from the server within 2000 ms",
    willReconnect: true,
  }]);
});

Deno.test("RoomcastClient skips unknown frame types and reconnects on invalid ones", () => {
  using t = rig();
  t.socket.welcome();
  t.socket.receive({ type: "from_the_future", room: "lobby" });
  assert.equal(t.client.state, "connected");
  t.socket.receive({ type: "ack", id: 1 }); // No offset.
  assert.equal(t.client.state, "connecting");
  assert.equal(t.sockets[0]?.closedWith, 3003);
  assert.deepEqual(t.events.at(-2), ["close", {
    code: 3003,
    reason:
      'Invalid frame from the server: Server message "ack" has a bad "offset"',
    willReconnect: true,
  }]);
});

Deno.test("on() returns a working unsubscribe", () => {
  using t = rig();
  const states: string[] = [];
  const off = t.client.on("state", ({ newState }) => states.push(newState));
  t.socket.welcome();
  off();
  t.client.close();
  assert.deepEqual(states, ["connected"]);
});
