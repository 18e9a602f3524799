import assert from "node:assert/strict";
import { mock } from "node:test";
import type { PingMessage, PublishMessage } from "../protocol.ts";
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
    send: (frame: PublishMessage | PingMessage) => sent.push(frame),
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
