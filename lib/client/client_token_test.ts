import assert from "node:assert/strict";
import { rig } from "./_test_utils.ts";
import { createClient } from "./mod.ts";

/** Lets promise callbacks run (the provider's answer, then the socket). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

const message = (offset: number) => ({
  type: "message",
  room: "lobby",
  data: offset,
  offset,
  epoch: "e1",
  ts: 1,
  from: "x",
});

Deno.test("a token travels as a subprotocol entry after roomcast.v1, never in the URL", () => {
  {
    using t = rig({ token: "eyJh.eyJz.c2ln", user: "ann" });
    assert.deepEqual(t.socket.protocols, [
      "roomcast.v1.batch",
      "roomcast.v1",
      "roomcast.token.eyJh.eyJz.c2ln",
    ]);
    assert.equal(t.socket.url, "ws://roomcast.test/ws?user=ann");
  }
  {
    using t = rig({ token: "" }); // Empty: anonymous.
    assert.deepEqual(t.socket.protocols, ["roomcast.v1.batch", "roomcast.v1"]);
  }
  for (const token of ["has space", "a,b", "x".repeat(4_001)]) {
    assert.throws(() => createClient("ws://x/ws", { token }), TypeError);
  }
});

Deno.test("the token provider is called before every connect, reconnects included", () => {
  let calls = 0;
  using t = rig({ token: () => `t${++calls}` });
  assert.equal(calls, 1);
  assert.deepEqual(t.socket.protocols, [
    "roomcast.v1.batch",
    "roomcast.v1",
    "roomcast.token.t1",
  ]);
  t.socket.welcome();
  t.socket.serverClose(1012);
  assert.equal(calls, 1, "not before the backoff delay");
  t.tick(750);
  assert.equal(calls, 2);
  assert.deepEqual(t.socket.protocols, [
    "roomcast.v1.batch",
    "roomcast.v1",
    "roomcast.token.t2",
  ]);
  t.socket.serverClose(1006); // Refused before the upgrade (a 401 looks like this).
  t.tick(1_000);
  assert.deepEqual(t.sockets.map((socket) => socket.protocols[2]), [
    "roomcast.token.t1",
    "roomcast.token.t2",
    "roomcast.token.t3",
  ]);
});

Deno.test("4401 (token expired) reconnects with a fresh token and resumes the rooms", async () => {
  const issued: string[] = [];
  using t = rig({
    token: () => {
      const token = `tok-${issued.length + 1}`;
      issued.push(token);
      return Promise.resolve(token);
    },
  });
  const offsets: number[] = [];
  t.client.on("message", (m) => offsets.push(m.offset));
  assert.equal(t.sockets.length, 0, "waits for the provider");
  await settle();
  assert.deepEqual(t.socket.protocols, [
    "roomcast.v1.batch",
    "roomcast.v1",
    "roomcast.token.tok-1",
  ]);
  t.client.join("lobby");
  t.socket.welcome();
  t.socket.joined("lobby", 0);
  t.socket.receive(message(1));
  t.socket.serverClose(4401, "Token expired");
  assert.deepEqual(t.events.slice(-2), [
    ["close", { code: 4401, reason: "Token expired", willReconnect: true }],
    ["state", { oldState: "connected", newState: "connecting" }],
  ]);
  t.tick(750);
  await settle();
  assert.deepEqual(issued, ["tok-1", "tok-2"]);
  assert.deepEqual(t.socket.protocols, [
    "roomcast.v1.batch",
    "roomcast.v1",
    "roomcast.token.tok-2",
  ]);
  t.socket.welcome(25_000, "c2");
  assert.deepEqual(t.socket.sent, [
    {
      type: "join",
      room: "lobby",
      id: "j2",
      since: { offset: 1, epoch: "e1" },
    },
  ]);
  t.socket.receive({
    type: "joined",
    room: "lobby",
    offset: 1,
    epoch: "e1",
    recovered: true,
    members: [],
  });
  for (const offset of [2, 3]) t.socket.receive(message(offset));
  assert.deepEqual(offsets, [1, 2, 3]);
  assert.equal(t.client.state, "connected");
});

Deno.test("a failing token provider fails the attempt: close 3005, backoff, retry", async () => {
  let calls = 0;
  using t = rig({
    token: () => {
      calls++;
      if (calls === 1) throw new Error("offline");
      if (calls === 2) return Promise.reject(new Error("503 from /token"));
      if (calls === 3) return "not a token!";
      return "good";
    },
  });
  const closes = () =>
    t.events.filter(([name]) => name === "close").map(([, info]) => info);
  assert.equal(t.sockets.length, 0);
  assert.equal(t.client.state, "connecting");
  await settle(); // Reported after createClient() returned.
  assert.equal(t.client.failedConnects, 1);
  t.tick(750);
  await settle();
  t.tick(1_000);
  await settle();
  assert.equal(t.sockets.length, 0);
  assert.deepEqual(closes(), [
    {
      code: 3005,
      reason: "Token provider failed: offline",
      willReconnect: true,
    },
    {
      code: 3005,
      reason: "Token provider failed: 503 from /token",
      willReconnect: true,
    },
    {
      code: 3005,
      reason:
        "Token provider failed: Invalid token: it travels as a WebSocket subprotocol, which allows letters, digits and !#$%&'*+-.^_`|~ only (a JWT fits)",
      willReconnect: true,
    },
  ]);
  assert.equal(t.client.failedConnects, 3);
  t.tick(1_500);
  assert.deepEqual(t.socket.protocols, [
    "roomcast.v1.batch",
    "roomcast.v1",
    "roomcast.token.good",
  ]);
  t.socket.welcome();
  assert.equal(t.client.failedConnects, 0);
  assert.equal(t.client.state, "connected");
});

Deno.test("connects that fail before welcome (a refused token) are retried with backoff, without end", () => {
  let calls = 0;
  using t = rig({
    token: () => `t${++calls}`,
    maxReconnectDelayMs: 4_000,
    random: () => 0.999,
  });
  // min(4000, 500 + 0.999 * min(4000, 500 * 2 ** n)), rounded down.
  const delays = [999, 1_499, 2_498, 4_000, 4_000, 4_000, 4_000, 4_000];
  for (const [n, delay] of delays.entries()) {
    t.socket.serverClose(1006);
    assert.equal(t.client.failedConnects, n + 1);
    t.tick(delay - 1);
    assert.equal(t.sockets.length, n + 1);
    t.tick(1);
    assert.equal(t.sockets.length, n + 2);
  }
  assert.equal(calls, delays.length + 1);
  assert.equal(t.client.state, "connecting");
});

Deno.test("a provider slower than connectTimeoutMs times the attempt out; its late token is ignored", async () => {
  const pending: Array<(token: string) => void> = [];
  using t = rig({
    connectTimeoutMs: 1_000,
    token: () => new Promise<string>((resolve) => pending.push(resolve)),
  });
  t.tick(1_000);
  assert.deepEqual(t.events.at(-1), [
    "close",
    {
      code: 3001,
      reason: "No welcome from the server within 1000 ms",
      willReconnect: true,
    },
  ]);
  pending[0]!("late");
  await settle();
  assert.equal(t.sockets.length, 0);
  t.tick(750);
  assert.equal(pending.length, 2);
  pending[1]!("fresh");
  await settle();
  assert.deepEqual(t.socket.protocols, [
    "roomcast.v1.batch",
    "roomcast.v1",
    "roomcast.token.fresh",
  ]);
  // close() while the provider is busy: no socket afterwards.
  t.socket.serverClose(1012);
  t.tick(1_000);
  t.client.close();
  pending[2]!("too late");
  await settle();
  assert.equal(t.sockets.length, 1);
});

Deno.test("reconnect() replaces the connection at once with a fresh token", async () => {
  let calls = 0;
  using t = rig({ token: () => `t${++calls}` });
  t.client.join("lobby");
  t.socket.welcome();
  t.socket.joined("lobby", 0);
  const first = t.socket;
  const inFlight = t.client.publish("lobby", "sent");
  t.client.reconnect();
  await assert.rejects(inFlight, { code: "disconnected" });
  assert.equal(first.closedWith, 3006);
  assert.deepEqual(t.events.slice(-2), [
    ["close", {
      code: 3006,
      reason: "reconnect() called",
      willReconnect: true,
    }],
    ["state", { oldState: "connected", newState: "connecting" }],
  ]);
  assert.deepEqual(t.socket.protocols, [
    "roomcast.v1.batch",
    "roomcast.v1",
    "roomcast.token.t2",
  ]);
  assert.equal(t.client.failedConnects, 0);
  // While connecting too (an attempt not welcomed yet is dropped).
  t.client.reconnect();
  assert.equal(t.sockets.length, 3);
  t.socket.welcome();
  assert.deepEqual(t.socket.sentOf("join").length, 1);
  t.client.close();
  assert.throws(() => t.client.reconnect(), { code: "closed" });
});
