import assert from "node:assert/strict";
import { CLOCK_SLACK_MS, PostBudget } from "./_sse_budget.ts";

const LIMIT = { perSecond: 1_000, burst: 64 }; // 1 token a ms.

Deno.test("PostBudget takes the bucket the server's answer reports, refilling from the answer on", () => {
  const budget = new PostBudget(LIMIT, 0);
  budget.sent(64, 0);
  // The flight took 20 ms; the server had refilled 10 tokens when the POST
  // arrived, and 10 more before the answer came back.
  budget.answered(20, 10);
  assert.equal(budget.available(20), 10);
  assert.equal(budget.available(20 + CLOCK_SLACK_MS + 5), 15);
  assert.equal(budget.available(1_000), 64); // Full at the burst.
});

Deno.test("PostBudget lets a POST leave as soon as one frame is covered once the server reports", () => {
  const budget = new PostBudget(LIMIT, 0);
  budget.sent(64, 0);
  budget.answered(20, 3);
  // The flight's refill is counted: waiting to fill a POST would only idle it.
  assert.equal(budget.waitMs(64, 20), 0);
  budget.sent(3, 20);
  budget.answered(40, 0.25);
  // Refilling resumes after the slack: then 0.75 of a token is missing.
  assert.equal(budget.waitMs(64, 40 + CLOCK_SLACK_MS), 1);
});

Deno.test("PostBudget keeps the server's figure within 0 and the burst, also below its own", () => {
  const budget = new PostBudget(LIMIT, 0);
  budget.sent(1, 0);
  // Fewer than the copy thought (frames it did not send, e.g. resumed joins).
  budget.answered(1, 0);
  assert.equal(budget.available(1), 0);
  budget.sent(0, 1);
  budget.answered(2, 1e9);
  assert.equal(budget.available(2), 64);
  budget.sent(0, 2);
  budget.answered(3, -5);
  assert.equal(budget.available(3), 0);
});

Deno.test("PostBudget without the server's figure (an older server) refills from the answer on and waits to fill a POST", () => {
  const budget = new PostBudget(LIMIT, 0);
  budget.sent(64, 0);
  assert.equal(budget.available(10), 0); // No refill in flight.
  budget.answered(20);
  assert.equal(budget.available(20 + CLOCK_SLACK_MS), 0);
  assert.equal(budget.available(20 + CLOCK_SLACK_MS + 5), 5);
  assert.equal(budget.waitMs(64, 20 + CLOCK_SLACK_MS + 5), 59);
  // A reported answer, then an unreported one: back to waiting.
  budget.sent(5, 27);
  budget.answered(30, 2);
  assert.equal(budget.waitMs(64, 30), 0);
  budget.sent(2, 30);
  budget.answered(31);
  assert.equal(budget.waitMs(10, 31 + CLOCK_SLACK_MS), 10);
});
