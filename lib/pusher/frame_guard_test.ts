import assert from "node:assert/strict";
import { FrameGuard } from "./frame_guard.ts";

const guard = (now: () => number = () => 0) =>
  new FrameGuard({
    maxMessageBytes: 64,
    rateLimitPerS: 1,
    rateLimitBurst: 2,
    rateLimitStrikes: 3,
    now,
  });

Deno.test("FrameGuard passes Pusher frames and explains bad ones", () => {
  const g = guard();
  assert.deepEqual(g.inspect('{"event":"pusher:ping"}'), {
    kind: "frame",
    frame: { event: "pusher:ping" },
  });
  assert.equal(g.inspect("{").kind, "error");
  assert.equal(guard().inspect(new Uint8Array(1)).kind, "error");
  assert.deepEqual(guard().inspect("x".repeat(65)), {
    kind: "close",
    code: 4301,
    reason: "Frame larger than 64 bytes",
  });
  // Multi-byte characters count as bytes.
  assert.equal(guard().inspect(`"${"é".repeat(32)}"`).kind, "close");
});

Deno.test("FrameGuard refuses past the rate and closes after the strikes", () => {
  let t = 0;
  const g = guard(() => t);
  const frame = '{"event":"pusher:ping"}';
  assert.equal(g.inspect(frame).kind, "frame");
  assert.equal(g.inspect(frame).kind, "frame");
  assert.equal(g.inspect(frame).kind, "error");
  assert.equal(g.inspect(frame).kind, "error");
  assert.equal(g.inspect(frame).kind, "close");
  // A refill clears the strikes.
  const h = guard(() => t);
  h.inspect(frame);
  h.inspect(frame);
  assert.equal(h.inspect(frame).kind, "error");
  t = 1_000;
  assert.equal(h.inspect(frame).kind, "frame");
  assert.equal(h.inspect(frame).kind, "error");
  assert.equal(h.inspect(frame).kind, "error");
});
