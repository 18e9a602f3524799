import assert from "node:assert/strict";
import { rig } from "./_test_utils.ts";

Deno.test("RoomcastClient reconnects after 1012 and rejoins with the last position", async () => {
  using t = rig();
  t.client.join("lobby");
  t.socket.welcome();
  t.socket.joined("lobby", 4);
  t.socket.receive({
    type: "message",
    room: "lobby",
    data: "hi",
    offset: 5,
    epoch: "e1",
    ts: 1,
    from: "x",
  });
  const inFlight = t.client.publish("lobby", "sent before the drop");
  t.socket.serverClose(1012, "Server restart");
  await assert.rejects(inFlight, { code: "disconnected" });
  assert.deepEqual(t.events.slice(-2), [
    ["close", { code: 1012, reason: "Server restart", willReconnect: true }],
    ["state", { oldState: "connected", newState: "connecting" }],
  ]);
  const queued = t.client.publish("lobby", "sent after the rejoin");
  t.tick(749);
  assert.equal(t.sockets.length, 1);
  t.tick(1); // backoff(0) with random 0.5 = 750 ms.
  assert.equal(t.sockets.length, 2);
  t.socket.welcome(25_000, "c2");
  assert.deepEqual(t.socket.sent, [
    {
      type: "join",
      room: "lobby",
      id: "j2",
      since: { offset: 5, epoch: "e1" },
    },
    { type: "publish", room: "lobby", data: "sent after the rejoin", id: 2 },
  ]);
  t.socket.joined("lobby", 5);
  assert.deepEqual(t.events.at(-1), [
    "joined",
    { room: "lobby", offset: 5, epoch: "e1", resumed: true },
  ]);
  t.socket.receive({ type: "ack", id: 2, offset: 6 });
  assert.deepEqual(await queued, { offset: 6 });
});

Deno.test("RoomcastClient reports a rejoin that missed messages as recovery false", () => {
  using t = rig();
  t.client.join("lobby");
  t.client.join("quiet");
  t.socket.welcome();
  t.socket.joined("lobby", 4);
  t.socket.joined("quiet", 9);
  t.socket.serverClose(1001);
  t.tick(750);
  t.socket.welcome();
  // The server moved on in "lobby" (new epoch after a restart); "quiet" did not.
  t.socket.joined("lobby", 2, "e2");
  t.socket.joined("quiet", 9);
  const recoveries = t.events.filter(([name]) => name === "recovery");
  assert.deepEqual(recoveries, [
    ["recovery", { room: "lobby", recovered: false }],
  ]);
});

Deno.test("RoomcastClient follows the server's recovered flag on a rejoin", () => {
  using t = rig();
  t.client.join("a");
  t.client.join("b");
  t.socket.welcome();
  t.socket.joined("a", 4);
  t.socket.joined("b", 4);
  t.socket.serverClose(1012);
  t.tick(750);
  t.socket.welcome();
  assert.deepEqual(t.socket.sentOf("join"), [
    { type: "join", room: "a", id: "j3", since: { offset: 4, epoch: "e1" } },
    { type: "join", room: "b", id: "j4", since: { offset: 4, epoch: "e1" } },
  ]);
  const joined = (room: string, offset: number, recovered: boolean) =>
    t.socket.receive({
      type: "joined",
      room,
      offset,
      epoch: "e1",
      recovered,
      members: [],
    });
  const seen: unknown[] = [];
  t.client.on("message", (message) => seen.push(message.offset));
  t.client.on("recovery", (recovery) => seen.push(recovery));
  // "a": the missed messages 5 and 6 follow the joined frame.
  joined("a", 4, true);
  for (const offset of [5, 6, 6]) {
    t.socket.receive({
      type: "message",
      room: "a",
      data: offset,
      offset,
      epoch: "e1",
      ts: 1,
      from: "x",
    });
  }
  // "b": the server could not replay; the position jumps to 9.
  joined("b", 9, false);
  assert.deepEqual(seen, [5, 6, { room: "b", recovered: false }]);
  t.socket.serverClose(1012);
  t.tick(1_000); // Second attempt in a row: 500 + 0.5 * 1000.
  assert.equal(t.sockets.length, 3);
  t.socket.welcome();
  assert.deepEqual(t.socket.sentOf("join"), [
    { type: "join", room: "a", id: "j5", since: { offset: 6, epoch: "e1" } },
    { type: "join", room: "b", id: "j6", since: { offset: 9, epoch: "e1" } },
  ]);
});

Deno.test("RoomcastClient stops for good on terminal close codes", async () => {
  for (const code of [1008, 1009, 4501]) {
    using t = rig();
    t.client.join("lobby");
    const queued = t.client.publish("lobby", 1);
    t.socket.welcome();
    const sent = t.client.publish("lobby", 2);
    t.socket.serverClose(code, "Go away");
    await assert.rejects(queued, { code: "closed" });
    await assert.rejects(sent, {
      code: "closed",
      message: `The server closed the connection for good: ${code} Go away`,
    });
    assert.equal(t.client.state, "disconnected");
    assert.deepEqual(t.events.slice(-2), [
      ["close", { code, reason: "Go away", willReconnect: false }],
      ["state", { oldState: "connected", newState: "disconnected" }],
    ]);
    t.tick(60_000);
    assert.equal(t.sockets.length, 1);
    await assert.rejects(t.client.publish("lobby", 3), {
      code: "closed",
      message: "The client is disconnected: call connect() first",
    });
    // connect() starts over.
    t.client.connect();
    assert.equal(t.sockets.length, 2);
    t.socket.welcome();
    assert.deepEqual(t.socket.sent, [{
      type: "join",
      room: "lobby",
      id: "j2",
    }]);
  }
});

Deno.test("RoomcastClient backs off exponentially until a connection lasts minUptimeMs", () => {
  using t = rig({ minUptimeMs: 5_000 });
  // random 0.5: backoff(n) = 500 + 0.5 * min(20000, 500 * 2 ** n).
  const expected = [750, 1_000, 1_500, 2_500];
  for (const delay of expected) {
    t.socket.welcome();
    t.tick(100); // Up for less than minUptimeMs.
    const count = t.sockets.length;
    t.socket.serverClose(1006);
    t.tick(delay - 1);
    assert.equal(t.sockets.length, count, `no retry before ${delay} ms`);
    t.tick(1);
    assert.equal(t.sockets.length, count + 1, `retry at ${delay} ms`);
  }
  t.socket.welcome();
  t.tick(5_000); // Stayed up: the counter goes back to 0.
  t.socket.receive({ type: "pong", ts: 1 });
  t.socket.serverClose(1006);
  const count = t.sockets.length;
  t.tick(750);
  assert.equal(t.sockets.length, count + 1);
});

Deno.test("RoomcastClient caps the backoff at maxReconnectDelayMs", () => {
  using t = rig({ random: () => 0.999, maxReconnectDelayMs: 3_000 });
  for (let i = 0; i < 6; i++) {
    const count = t.sockets.length;
    t.socket.serverClose(1006); // Never welcomed: no reset.
    t.tick(3_000);
    assert.equal(t.sockets.length, count + 1);
  }
});

Deno.test("close() stops for good and rejects what is pending", async () => {
  using t = rig();
  t.client.join("lobby");
  t.socket.welcome();
  const pending = t.client.publish("lobby", 1);
  const rtt = t.client.ping();
  const socket = t.socket;
  t.client.close();
  await assert.rejects(pending, { code: "closed" });
  await assert.rejects(rtt, { code: "closed" });
  await assert.rejects(t.client.publish("lobby", 2), { code: "closed" });
  assert.equal(socket.closedWith, 1000);
  assert.equal(t.client.state, "disconnected");
  assert.deepEqual(t.events.slice(-2), [
    ["close", { code: 1000, reason: "Client closed", willReconnect: false }],
    ["state", { oldState: "connected", newState: "disconnected" }],
  ]);
  socket.serverClose(1000); // Late close event: handlers are detached.
  t.tick(60_000);
  assert.equal(t.sockets.length, 1);
  assert.throws(() => t.client.connect(), { code: "closed" });
});

Deno.test("close() called from a close handler prevents the reconnect", () => {
  using t = rig();
  t.socket.welcome();
  t.client.on("close", ({ willReconnect }) => {
    if (willReconnect) t.client.close();
  });
  t.socket.serverClose(1012);
  assert.equal(t.client.state, "disconnected");
  t.tick(60_000);
  assert.equal(t.sockets.length, 1);
  assert.deepEqual(t.events.slice(-3), [
    ["close", { code: 1012, reason: "", willReconnect: true }],
    ["close", { code: 1000, reason: "Client closed", willReconnect: false }],
    ["state", { oldState: "connected", newState: "disconnected" }],
  ]);
});

Deno.test("RoomcastClient reports a close without close frame as 1006, as browsers do", () => {
  using t = rig();
  t.socket.welcome();
  t.socket.serverClose(0); // Deno's code for a connection lost without a close frame.
  assert.deepEqual(t.events.slice(-2), [
    ["close", { code: 1006, reason: "", willReconnect: true }],
    ["state", { oldState: "connected", newState: "connecting" }],
  ]);
});
