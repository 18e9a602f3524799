/** ConnectionGuard: the token expiry timer, on a mocked clock. */
import assert from "node:assert/strict";
import { mock } from "node:test";
import { ConnectionGuard } from "./connection_guard.ts";

const DAY_MS = 86_400_000;

function guard(expiresAt: number, onExpire: () => void): ConnectionGuard {
  return new ConnectionGuard({
    perSecond: 10,
    burst: 10,
    strikes: 3,
    maxMessageBytes: 1_024,
    expiresAt,
    onExpire,
    now: Date.now,
  });
}

Deno.test("ConnectionGuard keeps a connection whose token expires in 30 days until then (past setTimeout's 2^31-1 ms)", () => {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  try {
    let expired = 0;
    guard(30 * DAY_MS, () => expired++);
    mock.timers.tick(1_000);
    assert.equal(expired, 0, "closed at once");
    mock.timers.tick(30 * DAY_MS - 1_001);
    assert.equal(expired, 0);
    mock.timers.tick(1);
    assert.equal(expired, 1);
  } finally {
    mock.timers.reset();
  }
});

Deno.test("ConnectionGuard.close() disarms a far expiry", () => {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  try {
    let expired = 0;
    guard(60 * DAY_MS, () => expired++).close();
    mock.timers.tick(61 * DAY_MS);
    assert.equal(expired, 0);
  } finally {
    mock.timers.reset();
  }
});

Deno.test("ConnectionGuard names the refused frame's id in its rate_limited error, so that its request fails at once", () => {
  const limited = new ConnectionGuard({
    perSecond: 1,
    burst: 1,
    strikes: 10,
    maxMessageBytes: 1_024,
    onExpire: () => {},
    now: () => 0,
  });
  const publish = (id: unknown) =>
    JSON.stringify({ type: "publish", room: "r", data: 1, id });
  assert.equal(limited.inspect(publish(1)).kind, "message");
  assert.deepEqual(limited.inspect(publish(2)), {
    kind: "error",
    code: "rate_limited",
    text: "Over 1 messages per second: message dropped",
    ref: 2,
  });
  const refs = [publish("p-3"), publish({ bad: 1 }), "not json", "{}"].map(
    (frame) => {
      const verdict = limited.inspect(frame);
      return verdict.kind === "error" ? verdict.ref : verdict.kind;
    },
  );
  assert.deepEqual(refs, ["p-3", undefined, undefined, undefined]);
});

Deno.test("ConnectionGuard.tokens() is its bucket after the frames it took", () => {
  let now = 0;
  const guard = new ConnectionGuard({
    perSecond: 1_000,
    burst: 10,
    strikes: 3,
    maxMessageBytes: 1_000,
    onExpire() {},
    now: () => now,
  });
  for (let i = 0; i < 4; i++) guard.admit();
  assert.equal(guard.tokens(), 6);
  now = 2;
  assert.equal(guard.tokens(), 8);
});
