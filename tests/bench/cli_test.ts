/**
 * The bench's command line and fixed-load parameters: pure functions, no
 * servers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseCli } from "./cli.ts";
import { type BenchCase, FIXED_MAX_S, fixedLoad } from "./scenarios.ts";

const FIXED: BenchCase = {
  id: "fixed-1000",
  scenario: "fixed",
  title: "Fixed load",
  kind: "latency",
  contestants: ["deno-bare"],
  baseline: "deno-bare",
  offered: { fraction: 0.5, capacityCase: "fanout-1000" },
  params: { mode: "rate", subs: 1000, rate: 0, timeLimit: 20 },
};

Deno.test("fixed load: 4 seconds' worth of messages at half the capacity", () => {
  const params = fixedLoad(FIXED, 100_000, false);
  assert.equal(params.rate, 50);
  assert.equal(params.msgs, 200);
  assert.equal(params.warmup, 20);
  assert.equal(params.timeLimit, 20);
});

Deno.test("fixed load: --fixed-msgs sets the count and stretches the time limit", () => {
  const options = parseCli(["--fixed-rate", "50", "--fixed-msgs", "2000"]);
  assert.equal(options.fixedMsgs, 2000);
  const params = fixedLoad(
    FIXED,
    100_000,
    false,
    options.fixedRate,
    options.fixedMsgs,
  );
  assert.equal(params.rate, 50);
  assert.equal(params.msgs, 2000);
  assert.equal(params.warmup, 200);
  // 2,200 messages at 50/s take 44 s: the limit leaves twice that.
  assert.ok(params.timeLimit >= 88, `timeLimit ${params.timeLimit}`);
});

Deno.test("fixed load: a --fixed-msgs out of range is refused", () => {
  assert.throws(() => parseCli(["--fixed-msgs", "5"]), RangeError);
  assert.throws(() => parseCli(["--fixed-msgs", "1.5"]), RangeError);
});

Deno.test("fixed load: the stretched time limit is capped at an hour", () => {
  const params = fixedLoad(FIXED, 100_000, false, 1, 1_000_000);
  assert.equal(params.msgs, 1_000_000);
  assert.equal(params.timeLimit, FIXED_MAX_S);
});
