import assert from "node:assert/strict";
import { TokenBucket } from "../support/rate_limit.ts";
import { type FakeSocket, rig } from "./_test_utils.ts";

const RATE = { perSecond: 20, burst: 40 };

/** Frames of `socket` the server's own bucket would refuse (it starts full at `from`). */
function refused(
  socket: FakeSocket,
  limit: { perSecond: number; burst: number },
  from: number,
): number {
  const bucket = new TokenBucket(limit.perSecond, limit.burst, from);
  return socket.sentAt.filter((at) => !bucket.take(at)).length;
}

/** Answers each frame sent since the last call as the server would: `joined`, `ack`, `pong`. */
function answerer(socket: () => FakeSocket) {
  let answered = 0;
  let offset = 0;
  return () => {
    const frames = socket().sent as Array<Record<string, unknown>>;
    for (const frame of frames.slice(answered)) {
      const { type, room, id } = frame;
      if (type === "join") socket().joined(String(room), 0);
      if (type === "publish") {
        socket().receive({ type: "ack", id, offset: ++offset });
      }
      if (type === "ping") socket().receive({ type: "pong", id, ts: 1 });
    }
    answered = frames.length;
  };
}

Deno.test("after a reconnect, 100 rejoins and 150 queued publishes go out in order, within the server's budget", async () => {
  // Default timeoutMs (10 s): the pacing takes longer, and does not count.
  using t = rig({ maxQueueSize: 200 });
  const rooms = Array.from({ length: 100 }, (_, i) => `room-${i}`);
  for (const room of rooms) t.client.join(room);
  t.socket.welcome(25_000, "c1", undefined, RATE);
  for (const room of rooms) t.socket.joined(room, 0);
  t.socket.serverClose(1012);
  const publishes = Array.from(
    { length: 150 },
    (_, i) => t.client.publish(rooms[i % rooms.length]!, i),
  );
  t.tick(750);
  const answer = answerer(() => t.socket);
  const welcomedAt = Date.now();
  t.socket.welcome(25_000, "c2", undefined, RATE);
  answer();
  // The client's burst: 90% of the server's.
  assert.equal(t.socket.sent.length, 36);
  assert.equal(t.client.state, "connected");
  while (t.socket.sent.length < 250 && Date.now() - welcomedAt < 60_000) {
    t.tick(50);
    answer();
  }
  const results = await Promise.all(publishes);
  const frames = t.socket.sent as Array<Record<string, unknown>>;
  assert.deepEqual(
    frames.map((frame) => frame.type === "join" ? frame.room : frame.data),
    [...rooms, ...publishes.map((_, i) => i)],
    "every rejoin, then every publish, in order, once",
  );
  assert.deepEqual(
    results.map((r) => r.offset),
    publishes.map((_, i) => i + 1),
  );
  assert.equal(refused(t.socket, RATE, welcomedAt), 0);
  // Within 90% of the budget too: 36 at once, then 18 per second.
  assert.equal(refused(t.socket, { perSecond: 18, burst: 36 }, welcomedAt), 0);
  const lasted = t.socket.sentAt.at(-1)! - welcomedAt;
  assert.ok(lasted >= (250 - 36) / 18 * 1000 - 1, `took ${lasted} ms`);
  assert.ok(lasted < (250 - 36) / 18 * 1000 + 100, `took ${lasted} ms`);
  assert.equal(t.client.state, "connected");
});

Deno.test("without rateLimit in welcome nothing is paced", () => {
  using t = rig({ maxQueueSize: 500 });
  t.client.join("lobby");
  for (let i = 0; i < 300; i++) t.client.publish("lobby", i).catch(() => {});
  t.socket.welcome();
  assert.equal(t.socket.sent.length, 301);
  assert.ok(t.socket.sentAt.every((at) => at === 0));
});

Deno.test("publishes while connected are paced too; over maxQueueSize held, queue_full", async () => {
  using t = rig({ maxQueueSize: 50 });
  t.client.join("lobby");
  t.socket.welcome(25_000, "c1", undefined, RATE);
  const answer = answerer(() => t.socket);
  answer();
  const sent = Array.from(
    { length: 85 },
    (_, i) => t.client.publish("lobby", i),
  );
  // 35 tokens left after the join; 50 held.
  assert.equal(t.socket.sent.length, 36);
  await assert.rejects(t.client.publish("lobby", "one too many"), {
    code: "queue_full",
  });
  for (let i = 0; i < 60; i++) {
    t.tick(50);
    answer();
  }
  assert.equal((await Promise.all(sent)).length, 85);
  assert.equal(refused(t.socket, RATE, 0), 0);
});

Deno.test("ping() goes ahead of held frames; heartbeat pings wait for an idle link", async () => {
  using t = rig();
  t.client.join("lobby");
  t.socket.welcome(1_000, "c1", undefined, { perSecond: 10, burst: 2 });
  const answer = answerer(() => t.socket);
  answer(); // The join took the only token (9/s, burst 1).
  const publishes = Array.from(
    { length: 10 },
    (_, i) => t.client.publish("lobby", i),
  );
  const rtt = t.client.ping();
  t.tick(112);
  assert.deepEqual(t.socket.sent.at(-1), { type: "ping", id: 11 });
  t.tick(10);
  answer();
  assert.equal(await rtt, 10, "measured from its write");
  // At 1000 ms the heartbeat finds publishes held: skipped (the last one
  // goes at 11 * 112 ms).
  t.tick(1_000 - 122);
  answer();
  assert.equal(t.socket.sentOf("ping").length, 1);
  t.tick(300);
  answer();
  await Promise.all(publishes);
  t.tick(700); // 2000 ms, idle: the heartbeat pings.
  assert.deepEqual(t.socket.sent.at(-1), { type: "ping" });
  assert.deepEqual(
    t.socket.sent.map((frame) => (frame as { type: string }).type),
    ["join", "ping", ...publishes.map(() => "publish"), "ping"],
  );
});

Deno.test("time held for the rate limit does not count towards timeoutMs; a held publish whose room is left is never sent", async () => {
  using t = rig({ timeoutMs: 1_000 });
  t.client.join("a");
  t.client.join("b");
  t.socket.welcome(25_000, "c1", undefined, { perSecond: 1, burst: 3 });
  // 0.9/s, burst 2: both joins go now, then one frame per 1112 ms.
  const slow = t.client.publish("a", "slow");
  const gone = t.client.publish("b", "gone");
  const unanswered = t.client.publish("a", "unanswered");
  t.client.leave("b");
  await assert.rejects(gone, { code: "not_joined" });
  t.tick(1_112);
  assert.deepEqual(t.socket.sent.at(-1), {
    type: "publish",
    room: "a",
    data: "slow",
    id: 1,
  });
  t.tick(999); // 999 ms after its write: still waiting for the ack.
  t.socket.receive({ type: "ack", id: 1, offset: 1 });
  assert.deepEqual(await slow, { offset: 1 });
  // "unanswered" went at 2223 ms (times out at 3223), the leave at 3334.
  t.tick(3_334 - 2_111);
  await assert.rejects(unanswered, {
    code: "timeout",
    message: "Publish timed out: no answer within 1000 ms",
  });
  assert.deepEqual(t.socket.sent.slice(2), [
    { type: "publish", room: "a", data: "slow", id: 1 },
    { type: "publish", room: "a", data: "unanswered", id: 3 },
    { type: "leave", room: "b" },
  ]);
  assert.deepEqual(t.socket.sentAt.slice(2), [1_112, 2_223, 3_334]);
});

Deno.test("publishes held when the connection drops are sent on the next one, not failed", async () => {
  using t = rig();
  t.client.join("lobby");
  t.socket.welcome(25_000, "c1", undefined, { perSecond: 1, burst: 2 });
  const held = t.client.publish("lobby", "held");
  assert.equal(t.socket.sentOf("publish").length, 0);
  t.socket.serverClose(1012);
  t.tick(750);
  t.socket.welcome(25_000, "c2", undefined, RATE);
  assert.deepEqual(t.socket.sentOf("publish"), [
    { type: "publish", room: "lobby", data: "held", id: 1 },
  ]);
  t.socket.receive({ type: "ack", id: 1, offset: 1 });
  assert.deepEqual(await held, { offset: 1 });
});
