import assert from "node:assert/strict";
import { report, startTestServer, TestClient } from "../_support/harness.ts";

Deno.test("GET /ws without an upgrade answers 426 with a JSON error", async () => {
  await using server = await startTestServer();
  const res = await fetch(`${server.url}/ws`);
  assert.equal(res.status, 426);
  assert.equal(res.headers.get("upgrade"), "websocket");
  const body = await res.json();
  assert.equal(body.error.code, "upgrade_required");
});

Deno.test("GET /healthz reports uptime and the open connections", async () => {
  await using server = await startTestServer();
  await using _client = await TestClient.open(server.wsUrl);
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, "ok");
  assert.equal(body.connections, 1);
  assert.equal(typeof body.uptimeS, "number");
});

Deno.test("GET / serves the chat page with an ETag", async () => {
  await using server = await startTestServer();
  const res = await fetch(`${server.url}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/html/);
  const etag = res.headers.get("etag");
  assert.ok(etag);
  await res.body?.cancel();
  const again = await fetch(`${server.url}/`, {
    headers: { "if-none-match": etag },
  });
  assert.equal(again.status, 304);
  await again.body?.cancel();
});

Deno.test("/ws answers with roomcast.v1 when offered, and works without it", async () => {
  await using server = await startTestServer();
  await using offered = await TestClient.open(server.wsUrl, [
    "something.else",
    "roomcast.v1",
  ]);
  assert.equal(offered.socket.protocol, "roomcast.v1");
  await using plain = await TestClient.open(server.wsUrl, []);
  assert.equal(plain.socket.protocol, "");
});

Deno.test("two members chat in order; a third room sees nothing", async () => {
  await using server = await startTestServer();
  await using alice = await TestClient.open(server.wsUrl);
  await using bob = await TestClient.open(server.wsUrl);
  await using carol = await TestClient.open(server.wsUrl);
  const joined = await alice.join("lobby");
  assert.deepEqual([joined.room, joined.offset], ["lobby", 0]);
  await bob.join("lobby");
  await carol.join("kitchen");

  alice.send({ type: "publish", room: "lobby", data: { text: "hi" }, id: 1 });
  bob.send({ type: "publish", room: "lobby", data: { text: "hey" }, id: 2 });
  carol.send({ type: "publish", room: "kitchen", data: "own room" });

  for (const client of [alice, bob]) {
    const first = await client.next("message", { skip: true });
    const second = await client.next("message", { skip: true });
    assert.deepEqual([first.data, first.offset], [{ text: "hi" }, 1]);
    assert.deepEqual([second.data, second.offset], [{ text: "hey" }, 2]);
    assert.equal(first.epoch, second.epoch);
    assert.ok(second.ts >= first.ts);
  }
  // Carol's own message arrives after anything from the lobby would have.
  const own = await carol.next("message");
  assert.equal(own.data, "own room");
  assert.equal(own.room, "kitchen");
  assert.deepEqual(carol.pending, []);
});

Deno.test("publish with echo:false skips the sender and still acks", async () => {
  await using server = await startTestServer();
  await using alice = await TestClient.open(server.wsUrl);
  await using bob = await TestClient.open(server.wsUrl);
  await alice.join("r");
  await bob.join("r");
  alice.send({ type: "publish", room: "r", data: 1, id: "a1", echo: false });
  const ack = await alice.next("ack");
  assert.deepEqual(ack, { type: "ack", id: "a1", offset: 1 });
  assert.equal((await bob.next("message")).data, 1);
  alice.send({ type: "ping", id: "after" });
  // The pong comes straight after the ack: no message was echoed in between.
  assert.equal((await alice.next("pong")).id, "after");
});

Deno.test("leave stops delivery and an empty room is freed", async () => {
  await using server = await startTestServer();
  await using alice = await TestClient.open(server.wsUrl);
  await using bob = await TestClient.open(server.wsUrl);
  await alice.join("r");
  await bob.join("r");
  bob.send({ type: "leave", room: "r" });
  assert.deepEqual(await bob.next("left"), { type: "left", room: "r" });
  alice.send({ type: "publish", room: "r", data: "after leave" });
  await alice.next("message");
  bob.send({ type: "ping", id: 1 });
  await bob.next("pong"); // nothing from "r" came before it
  alice.send({ type: "leave", room: "r" });
  await alice.next("left");
  assert.equal(server.hub.stats().rooms, 0);
});

Deno.test("ping is answered with pong and server time", async () => {
  await using server = await startTestServer();
  await using client = await TestClient.open(server.wsUrl);
  const before = Date.now();
  client.send({ type: "ping", id: 7 });
  const pong = await client.next("pong");
  assert.equal(pong.id, 7);
  assert.ok(pong.ts >= before - 1000 && pong.ts <= Date.now() + 1000);
});

Deno.test("a closed client leaves every room", async () => {
  await using server = await startTestServer();
  const client = await TestClient.open(server.wsUrl);
  await client.join("a");
  await client.join("b");
  assert.equal(server.hub.stats().rooms, 2);
  await client.close();
  // The server sees the close after the client does; wait on its own count.
  await using probe = await TestClient.open(server.wsUrl);
  probe.send({ type: "ping" });
  await probe.next("pong");
  assert.deepEqual(server.hub.stats(), { connections: 1, rooms: 0 });
});

Deno.test("a server that cannot listen releases what it opened and says why", async () => {
  await using first = await startTestServer();
  await assert.rejects(
    startTestServer({ env: { PORT: String(first.addr.port) } }),
    (error: unknown) => error instanceof Deno.errors.AddrInUse,
  );
  // The first server still serves (and the sanitizers saw no leak).
  await using client = await TestClient.open(first.wsUrl);
  client.send({ type: "ping", id: 1 });
  assert.equal((await client.next("pong")).id, 1);
});

Deno.test("roomcast.v1.batch: a burst reaches a batch client in fewer frames, same messages, same order", async () => {
  // A window wider than the default 1 ms, so a slow machine still batches.
  await using server = await startTestServer({ env: { COALESCE_MS: "50" } });
  await using batch = await TestClient.open(server.wsUrl, [
    "roomcast.v1.batch",
    "roomcast.v1",
  ]);
  assert.equal(batch.socket.protocol, "roomcast.v1.batch");
  await using plain = await TestClient.open(server.wsUrl);
  await using publisher = await TestClient.open(server.wsUrl);
  for (const c of [batch, plain, publisher]) await c.join("r");
  const framesBefore = { batch: batch.frames, plain: plain.frames };
  for (let i = 1; i <= 200; i++) {
    publisher.send({ type: "publish", room: "r", data: i, echo: false });
  }
  for (const client of [batch, plain]) {
    for (let i = 1; i <= 200; i++) {
      const m = await client.next("message");
      assert.deepEqual([m.data, m.offset], [i, i]);
    }
  }
  const batchFrames = batch.frames - framesBefore.batch;
  const plainFrames = plain.frames - framesBefore.plain;
  report(
    `coalescing: 200 messages in ${batchFrames} batch frames vs ${plainFrames} plain frames`,
  );
  assert.equal(plainFrames, 200);
  assert.ok(batchFrames < 200, `${batchFrames} frames`);
});
