import assert from "node:assert/strict";
import { backoff } from "./backoff.ts";

Deno.test("backoff() doubles the jitter window per attempt, above min", () => {
  const top = () => 0.999_999;
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((n) => backoff(n, { random: top })),
    [999, 1_499, 2_499, 4_499, 8_499],
  );
  const bottom = () => 0;
  assert.deepEqual(
    [0, 1, 5, 30].map((n) => backoff(n, { random: bottom })),
    [500, 500, 500, 500],
  );
});

Deno.test("backoff() never exceeds max", () => {
  for (const attempt of [6, 10, 31, 32, 1_000, Infinity]) {
    assert.equal(backoff(attempt, { random: () => 0.999_999 }), 20_000);
  }
  assert.equal(
    backoff(3, { min: 100, max: 300, random: () => 0.5 }),
    250, // 100 + 0.5 * min(300, 800)
  );
});

Deno.test("backoff() treats a negative or NaN attempt as attempt 0", () => {
  assert.equal(backoff(-3, { random: () => 0.5 }), 750);
  assert.equal(backoff(NaN, { random: () => 0.5 }), 750);
});

Deno.test("backoff() with Math.random stays within [min, min + window]", () => {
  for (let i = 0; i < 1_000; i++) {
    const delay = backoff(2);
    assert.ok(delay >= 500 && delay <= 2_500, `got ${delay}`);
    assert.ok(Number.isInteger(delay));
  }
});
