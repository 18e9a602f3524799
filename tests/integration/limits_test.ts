/**
 * Every limit with its outcome for the offender, and a well-behaved client on
 * the same server that keeps receiving (reliability.md group B).
 */
import assert from "node:assert/strict";
import { withBystander } from "../_support/bystander.ts";
import { report, startTestServer, TestClient } from "../_support/harness.ts";
import { RawWebSocket, upgradeStatus } from "../_support/raw_ws.ts";

Deno.test("limit: a flood gets rate_limited errors, then 4029; others are unaffected", async () => {
  await using server = await startTestServer({
    env: {
      RATE_LIMIT_PER_S: "1",
      RATE_LIMIT_BURST: "5",
      RATE_LIMIT_STRIKES: "3",
    },
  });
  // The bystanders stay within their own budget: 2 joins + 1 publish each.
  await using room = await withBystander(server, "room");
  const flooder = await TestClient.open(server.wsUrl);
  for (let i = 0; i < 50; i++) flooder.send({ type: "ping", id: i });
  const pongs: unknown[] = [];
  const errors: string[] = [];
  for (let i = 0; i < 5; i++) pongs.push((await flooder.next("pong")).id);
  for (let i = 0; i < 2; i++) errors.push((await flooder.next("error")).code);
  const closed = await flooder.closed;
  report(
    `flood: sent 50, answered ${pongs.length}, refused ${errors.length}, then close ${closed.code}`,
  );
  assert.deepEqual(pongs, [0, 1, 2, 3, 4]);
  assert.deepEqual(errors, ["rate_limited", "rate_limited"]);
  // The server closed with 4029. The flooder's own frames still in flight
  // cross that close frame, and Deno then drops the TCP connection, so the
  // client may see an abnormal closure instead (0 or 1006): either way it
  // reconnects with backoff.
  assert.equal(server.metrics.get("connections_closed_total", "4029"), 1);
  assert.ok([4029, 1006, 0].includes(closed.code), String(closed.code));
  assert.ok(server.metrics.get("rate_limited_total") >= 3);
  await room.stillReceives();
});

Deno.test("limit: rooms per connection", async () => {
  await using server = await startTestServer({
    env: { MAX_ROOMS_PER_CONNECTION: "2" },
  });
  await using client = await TestClient.open(server.wsUrl);
  await client.join("a");
  await client.join("b");
  await client.join("a"); // rejoining a room it is in is fine
  client.send({ type: "join", room: "c", id: "third" });
  const error = await client.next("error");
  assert.deepEqual([error.code, error.ref], ["too_many_rooms", "third"]);
  client.send({ type: "leave", room: "a" });
  await client.next("left");
  await client.join("c");
});

Deno.test("limit: connections per IP and upgrades per second per IP answer 429 before the upgrade", async () => {
  await using server = await startTestServer({
    env: { MAX_CONNECTIONS_PER_IP: "2" },
  });
  await using a = await TestClient.open(server.wsUrl);
  await using b = await TestClient.open(server.wsUrl);
  assert.equal(await upgradeStatus(server.addr.port), 429);
  await b.close();
  // The server counts the close once it sees it; a ping round trip on another
  // connection orders us after it.
  a.send({ type: "ping" });
  await a.next("pong");
  const answer = await RawWebSocket.open(server.addr.port);
  assert.equal(answer.response.status, 101);
  await answer.close();

  await using rated = await startTestServer({
    env: { MAX_UPGRADES_PER_S_PER_IP: "2" },
  });
  const statuses = [];
  for (let i = 0; i < 6; i++) {
    statuses.push(await upgradeStatus(rated.addr.port));
  }
  report(`upgrade storm from one IP (2/s, burst 4): ${statuses.join(" ")}`);
  assert.deepEqual(statuses.slice(0, 4), [101, 101, 101, 101]);
  assert.ok(statuses.slice(4).every((s) => s === 429), String(statuses));
  assert.ok(rated.metrics.get("upgrades_refused_total", "ip_rate") >= 2);
});

Deno.test("limit: server capacity answers 503 before the upgrade", async () => {
  await using server = await startTestServer({ env: { MAX_CONNECTIONS: "1" } });
  await using only = await TestClient.open(server.wsUrl);
  assert.equal(await upgradeStatus(server.addr.port), 503);
  assert.equal(server.metrics.get("upgrades_refused_total", "capacity"), 1);
  only.send({ type: "ping" });
  await only.next("pong");
});

Deno.test("limit: presence metadata over 1 KiB is refused with bad_meta", async () => {
  await using server = await startTestServer();
  await using client = await TestClient.open(server.wsUrl);
  client.send({
    type: "join",
    room: "r",
    meta: { bio: "x".repeat(1100) },
    id: 1,
  });
  const error = await client.next("error");
  assert.deepEqual([error.code, error.ref], ["bad_meta", 1]);
  client.send({ type: "join", room: "r", meta: { bio: "x".repeat(900) } });
  await client.next("joined");
});

Deno.test("limit: a slow consumer is closed (1013) while the room keeps flowing", async () => {
  await using server = await startTestServer({
    env: { MAX_BUFFERED_BYTES: "262144", MAX_MESSAGE_BYTES: "70000" },
  });
  await using room = await withBystander(server, "room");
  // A raw client that joins and then never reads again.
  await using slow = await RawWebSocket.open(server.addr.port);
  await slow.sendText('{"type":"join","room":"room","presence":true}');
  // Wait until the server counts it in the room, by its presence.
  const watcher = await TestClient.open(server.wsUrl);
  watcher.send({ type: "join", room: "room", presence: true });
  const joined = await watcher.next("joined");
  let members = joined.members?.length ?? 0;
  while (members < 2) {
    const p = await watcher.next("presence");
    members += p.event === "join" ? 1 : -1;
  }
  const payload = "x".repeat(60_000);
  let sent = 0;
  while (server.metrics.get("slow_consumers_total") === 0) {
    assert.ok(sent < 2_000, "the slow consumer was never closed");
    watcher.send({ type: "publish", room: "room", data: payload, id: ++sent });
    await watcher.next("ack", { skip: true });
  }
  report(
    `slow consumer: closed with 1013 after ${sent} × 60 KB ` +
      `(MAX_BUFFERED_BYTES 256 KiB); dropped ${
        server.metrics.get("dropped_messages_total", "slow")
      }`,
  );
  await room.stillReceives();
  await watcher.close();
});

Deno.test("cycles: 500 clients that join and drop their TCP connection leave no connection, room or presence ghost", async () => {
  await using server = await startTestServer();
  const watcher = await TestClient.open(server.wsUrl);
  watcher.send({ type: "join", room: "churn", presence: true });
  await watcher.next("joined");
  const rssBefore = Deno.memoryUsage().rss;
  const join = '{"type":"join","room":"churn","presence":true}';
  const cycles = 500;
  for (let i = 0; i < cycles; i++) {
    const client = await RawWebSocket.open(server.addr.port, {
      path: `/ws?user=c${i}`,
    });
    await client.sendText(join);
    // Half mid-frame: a torn frame, then the abrupt close.
    if (i % 2 === 0) await client.sendBytes(new Uint8Array([0x81, 0x85, 1]));
    await client.close(); // no close frame: the server sees the TCP go away
  }
  // The server sees each disconnect after the client does: wait on its count.
  const deadline = Date.now() + 10_000;
  while (server.hub.stats().connections > 1 && Date.now() < deadline) {
    watcher.send({ type: "ping" });
    await watcher.next("pong");
  }
  // One more round trip: every presence frame sent so far is now received.
  watcher.send({ type: "ping" });
  await watcher.next("pong");
  const stats = server.hub.stats();
  // Every presence join the watcher saw is matched by a leave: no ghosts.
  let present = 0;
  for (const p of watcher.pendingPresence()) {
    present += p.event === "join" ? 1 : -1;
  }
  const rssMb = (Deno.memoryUsage().rss - rssBefore) / 1e6;
  report(
    `cycles: ${cycles} connect/join/abort cycles → connections ${
      stats.connections - 1
    }, ` +
      `rooms ${stats.rooms - 1}, presence ghosts ${present}; test-process RSS ${
        rssMb >= 0 ? "+" : ""
      }${rssMb.toFixed(1)} MB`,
  );
  assert.deepEqual(stats, { connections: 1, rooms: 1 }); // the watcher alone
  assert.equal(present, 0);
  await watcher.close();
});
