import assert from "node:assert/strict";
import { mock } from "node:test";
import type { PingMessage, PublishMessage } from "../protocol/mod.ts";
import type { Outgoing } from "./_outbox.ts";
import { Requests } from "./_requests.ts";
import { RoomcastError } from "./errors.ts";

function setup(maxQueueSize = 10) {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  const sent: Array<PublishMessage | PingMessage> = [];
  const requests = new Requests({
    timeoutMs: 1_000,
    maxQueueSize,
    now: () => Date.now(),
  });
  return {
    requests,
    sent,
    /** Writes at once, as an unpaced outbox does. */
    send: (item: Outgoing & { frame: PublishMessage | PingMessage }) => {
      sent.push(item.frame);
      item.written?.();
    },
    [Symbol.dispose]: () => mock.timers.reset(),
  };
}

Deno.test("Requests.flush() sends queued publishes oldest first, once", async () => {
  using t = setup();
  const a = t.requests.publish(
    { type: "publish", room: "r", data: 1 },
    undefined,
  );
  const b = t.requests.publish(
    { type: "publish", room: "r", data: 2 },
    undefined,
  );
  assert.equal(t.requests.queued, 2);
  t.requests.flush(t.send);
  t.requests.flush(t.send);
  assert.deepEqual(t.sent.map((f) => f.id), [1, 2]);
  assert.equal(t.requests.queued, 0);
  t.requests.ack({ type: "ack", id: 1, offset: 10 });
  t.requests.ack({ type: "ack", id: 2, offset: 11 });
  assert.deepEqual(await Promise.all([a, b]), [{ offset: 10 }, { offset: 11 }]);
});

Deno.test("Requests.fail() rejects sent requests and keeps the queue unless told", async () => {
  using t = setup();
  const sent = t.requests.publish(
    { type: "publish", room: "r", data: 1 },
    t.send,
  );
  const queued = t.requests.publish(
    { type: "publish", room: "r", data: 2 },
    undefined,
  );
  const ping = t.requests.ping(t.send);
  t.requests.fail(new RoomcastError("disconnected", "Lost"), false);
  await assert.rejects(sent, { code: "disconnected" });
  await assert.rejects(ping, { code: "disconnected" });
  assert.equal(t.requests.queued, 1);
  t.requests.fail(new RoomcastError("closed", "Closed"), true);
  await assert.rejects(queued, { code: "closed" });
});

Deno.test("Requests times out queued publishes too and frees their slot", async () => {
  using t = setup(1);
  const queued = t.requests.publish(
    { type: "publish", room: "r", data: 1 },
    undefined,
  );
  await assert.rejects(
    t.requests.publish({ type: "publish", room: "r", data: 2 }, undefined),
    { code: "queue_full" },
  );
  mock.timers.tick(1_000);
  await assert.rejects(queued, {
    code: "timeout",
    message: "Publish timed out: no answer within 1000 ms",
  });
  assert.equal(t.requests.queued, 0);
  t.requests.flush(t.send);
  assert.deepEqual(t.sent, []);
});

Deno.test("Requests ignores answers that are not its own", () => {
  using t = setup();
  assert.equal(
    t.requests.ack({ type: "ack", id: "foreign", offset: 1 }),
    false,
  );
  assert.equal(t.requests.pong({ type: "pong", ts: 1 }), false);
  assert.equal(
    t.requests.error({
      type: "error",
      code: "internal",
      message: "x",
      ref: 99,
    }),
    false,
  );
});

Deno.test("Requests sends held publishes again after a drop and withdraws settled ones", async () => {
  using t = setup(3);
  const held: Outgoing[] = [];
  const hold = (item: Outgoing) => held.push(item);
  const a = t.requests.publish({ type: "publish", room: "r", data: 1 }, hold);
  const b = t.requests.publish({ type: "publish", room: "s", data: 2 }, hold);
  const c = t.requests.publish({ type: "publish", room: "r", data: 3 }, hold);
  // Held publishes count against the queue.
  assert.equal(t.requests.queued, 3);
  await assert.rejects(
    t.requests.publish({ type: "publish", room: "r", data: 4 }, hold),
    { code: "queue_full" },
  );
  // The first one is written; the connection drops before the others are.
  held[0]!.written?.();
  t.requests.fail(new RoomcastError("disconnected", "Lost"), false);
  await assert.rejects(a, { code: "disconnected" });
  assert.equal(t.requests.queued, 2);
  // Their old outbox entries are stale now.
  assert.deepEqual(held.slice(1).map((item) => item.wanted?.()), [
    false,
    false,
  ]);
  t.requests.flush(hold);
  assert.deepEqual(held.slice(3).map((item) => item.frame), [
    { type: "publish", room: "s", data: 2, id: 2 },
    { type: "publish", room: "r", data: 3, id: 3 },
  ]);
  t.requests.failQueued("s", new RoomcastError("not_joined", "Left"));
  await assert.rejects(b, { code: "not_joined" });
  assert.equal(held[3]!.wanted?.(), false);
  assert.equal(held[4]!.wanted?.(), true);
  held[4]!.written?.();
  t.requests.ack({ type: "ack", id: 3, offset: 7 });
  assert.deepEqual(await c, { offset: 7 });
});

Deno.test("Requests times a ping from its write", async () => {
  using t = setup();
  let item: Outgoing | undefined;
  const rtt = t.requests.ping((held) => item = held);
  mock.timers.tick(300); // Held for the rate limit.
  item?.written?.();
  mock.timers.tick(40);
  t.requests.pong({ type: "pong", id: 1, ts: 0 });
  assert.equal(await rtt, 40);
});
