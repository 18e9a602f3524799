import assert from "node:assert/strict";
import { mock } from "node:test";
import { clientBudget, Outbox } from "./_outbox.ts";
import { FakeSocket } from "./_test_utils.ts";

Deno.test("clientBudget keeps 90% of the server's rate and burst", () => {
  const budget = clientBudget({ perSecond: 20, burst: 40 }, 0);
  let burst = 0;
  while (budget.take(0)) burst++;
  assert.equal(burst, 36);
  assert.equal(budget.waitMs(0), 56); // 1000 / 18, rounded up.
  const tiny = clientBudget({ perSecond: 1, burst: 1 }, 0);
  assert.equal(tiny.take(0), true, "a burst of at least 1");
});

Deno.test("Outbox writes in order, first before the held ones, and drops optional frames when busy", () => {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  try {
    const socket = new FakeSocket("ws://x", []);
    socket.readyState = 1;
    const outbox = new Outbox(() => Date.now());
    outbox.send({ frame: { type: "ping" } }); // Not open yet: dropped.
    outbox.open(socket, { perSecond: 10, burst: 2 }); // 9/s, burst 1.
    const written: string[] = [];
    const publish = (room: string, wanted = true) =>
      outbox.send({
        frame: { type: "publish", room, data: null },
        wanted: () => wanted,
        written: () => written.push(room),
      });
    publish("a");
    publish("b");
    publish("withdrawn", false);
    publish("c");
    outbox.send({ frame: { type: "ping", id: 1 } }, "first");
    outbox.send({ frame: { type: "ping" } }, "optional");
    assert.equal(outbox.held, 4);
    mock.timers.tick(1_000);
    assert.deepEqual(socket.sent, [
      { type: "publish", room: "a", data: null },
      { type: "ping", id: 1 },
      { type: "publish", room: "b", data: null },
      { type: "publish", room: "c", data: null },
    ]);
    assert.deepEqual(socket.sentAt, [0, 112, 224, 336]);
    assert.deepEqual(written, ["a", "b", "c"]);
    outbox.send({ frame: { type: "ping" } }, "optional"); // Idle: sent.
    assert.equal(socket.sent.length, 5);
    publish("d"); // The ping took the token: held.
    assert.equal(outbox.held, 1);
    outbox.close();
    mock.timers.tick(1_000);
    assert.equal(socket.sent.length, 5, "held frames are dropped on close");
    assert.equal(outbox.held, 0);
  } finally {
    mock.timers.reset();
  }
});
