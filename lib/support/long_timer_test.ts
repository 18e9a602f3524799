/** setDeadline(): deadlines past setTimeout's 2³¹−1 ms limit, on a mocked clock. */
import assert from "node:assert/strict";
import { mock } from "node:test";
import { MAX_TIMER_DELAY_MS, setDeadline } from "./long_timer.ts";

const DAY_MS = 86_400_000;

function withMockedTimers(fn: () => void): void {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  try {
    fn();
  } finally {
    mock.timers.reset();
  }
}

Deno.test("the runtime's setTimeout fires a delay over 2^31-1 ms at once (why setDeadline exists)", () => {
  withMockedTimers(() => {
    let fired = 0;
    setTimeout(() => fired++, 30 * DAY_MS);
    mock.timers.tick(1);
    assert.equal(fired, 1);
  });
});

Deno.test("setDeadline() fires a deadline 30 days away at that moment, not before", () => {
  withMockedTimers(() => {
    let fired = 0;
    setDeadline(30 * DAY_MS, () => fired++);
    mock.timers.tick(1);
    assert.equal(fired, 0);
    mock.timers.tick(MAX_TIMER_DELAY_MS); // past the first hop
    assert.equal(fired, 0);
    mock.timers.tick(30 * DAY_MS - MAX_TIMER_DELAY_MS - 2); // 1 ms before
    assert.equal(fired, 0);
    mock.timers.tick(1);
    assert.equal(fired, 1);
    mock.timers.tick(100 * DAY_MS);
    assert.equal(fired, 1);
  });
});

Deno.test("setDeadline() fires at once (on a timer) for a deadline already past, and exactly at 2^31-1 ms", () => {
  withMockedTimers(() => {
    const fired: string[] = [];
    setDeadline(-5, () => fired.push("past"));
    setDeadline(MAX_TIMER_DELAY_MS, () => fired.push("max"));
    assert.deepEqual(fired, []);
    mock.timers.tick(0);
    assert.deepEqual(fired, ["past"]);
    mock.timers.tick(MAX_TIMER_DELAY_MS);
    assert.deepEqual(fired, ["past", "max"]);
  });
});

Deno.test("setDeadline().clear() disarms it, before and after a hop", () => {
  withMockedTimers(() => {
    let fired = 0;
    const early = setDeadline(60 * DAY_MS, () => fired++);
    const late = setDeadline(60 * DAY_MS, () => fired++);
    early.clear();
    mock.timers.tick(MAX_TIMER_DELAY_MS + 1);
    late.clear();
    late.clear();
    mock.timers.tick(120 * DAY_MS);
    assert.equal(fired, 0);
  });
});

Deno.test("setDeadline() re-reads the clock at each hop: a clock that jumped ahead fires early hops' deadline", () => {
  withMockedTimers(() => {
    let clock = 0;
    let fired = 0;
    setDeadline(40 * DAY_MS, () => fired++, { now: () => clock });
    clock = 39 * DAY_MS; // e.g. the host slept; the next hop sees it
    mock.timers.tick(MAX_TIMER_DELAY_MS);
    assert.equal(fired, 0);
    mock.timers.tick(DAY_MS - 1);
    assert.equal(fired, 0);
    mock.timers.tick(1);
    assert.equal(fired, 1);
  });
});
