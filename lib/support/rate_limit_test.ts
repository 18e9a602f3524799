import assert from "node:assert/strict";
import { KeyedLimiter, TokenBucket } from "./rate_limit.ts";

Deno.test("TokenBucket allows a burst, then the rate", () => {
  const bucket = new TokenBucket(10, 3, 0);
  assert.deepEqual([0, 0, 0, 0].map(() => bucket.take(0)), [
    true,
    true,
    true,
    false,
  ]);
  assert.equal(bucket.take(50), false); // half a token
  assert.equal(bucket.take(100), true); // one token after 100 ms at 10/s
  assert.equal(bucket.take(100), false);
  assert.equal(bucket.full(10_000), true);
});

Deno.test("KeyedLimiter keeps one bucket per key and prunes refilled ones", () => {
  const limiter = new KeyedLimiter(1, 1, 2);
  assert.equal(limiter.take("a", 0), true);
  assert.equal(limiter.take("a", 0), false);
  assert.equal(limiter.take("b", 0), true);
  assert.equal(limiter.size, 2);
  // Both buckets refilled by t=5000: adding "c" prunes them.
  assert.equal(limiter.take("c", 5_000), true);
  assert.equal(limiter.size, 1);
});

Deno.test("TokenBucket gives a burst, then tokens at its rate, and says how long to wait", () => {
  const budget = new TokenBucket(10, 3, 0);
  assert.deepEqual([0, 0, 0, 0].map((t) => budget.take(t)), [
    true,
    true,
    true,
    false,
  ]);
  assert.equal(budget.waitMs(0), 100);
  assert.equal(budget.waitMs(60), 40);
  assert.equal(budget.take(99), false);
  assert.equal(budget.take(100), true);
  // Idle time refills up to the burst only.
  assert.equal(budget.waitMs(10_000), 0);
  assert.deepEqual(
    [1, 2, 3, 4].map(() => budget.take(10_000)),
    [true, true, true, false],
  );
});

Deno.test("TokenBucket.tokens() is what it holds, fractions and refill included, at most the burst", () => {
  const bucket = new TokenBucket(10, 3, 0);
  assert.equal(bucket.tokens(0), 3);
  bucket.take(0);
  bucket.take(0);
  assert.equal(bucket.tokens(0), 1);
  assert.equal(bucket.tokens(50), 1.5);
  assert.equal(bucket.tokens(10_000), 3);
});
