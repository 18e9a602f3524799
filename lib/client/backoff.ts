/**
 * Reconnect delays: capped exponential backoff with full jitter, as in
 * centrifuge-js. Browser compatible.
 *
 * @module
 */

/** Options of {@linkcode backoff}. */
export interface BackoffOptions {
  /** Smallest delay in ms, and the base of the exponential. @default {500} */
  min?: number;
  /** Largest delay in ms (the cap). @default {20000} */
  max?: number;
  /** Uniform random number in `[0, 1)`. @default {Math.random} */
  random?: () => number;
}

/** Exponent cap: `2 ** 31` times any sane `min` is far above any sane `max`. */
const MAX_STEP = 31;

/**
 * The delay in ms before reconnect attempt number `attempt` (0 for the first
 * retry), with full jitter:
 *
 * `delay = min(max, min + random(0, min(max, min * 2 ** attempt)))`
 *
 * The jitter spreads clients that lost their connection at the same moment
 * (a deploy, a restart) over the whole window instead of letting them return
 * in lockstep; the `min` floor keeps even the first retry from hammering a
 * server that is just coming back; `max` caps the wait.
 *
 * @param attempt How many attempts failed before this one (0, 1, 2, ...).
 * @param options Bounds and the random source.
 * @returns A whole number of ms in `[min, max]`.
 *
 * @example Usage
 * ```ts
 * import { backoff } from "./backoff.ts";
 * import assert from "node:assert/strict";
 *
 * // With random() = 0.5: 500 + 0.5 * min(20000, 500 * 2 ** 3) = 2500.
 * assert.equal(backoff(3, { random: () => 0.5 }), 2500);
 * // Late attempts never exceed the cap.
 * assert.equal(backoff(40, { random: () => 0.999 }), 20000);
 * ```
 */
export function backoff(attempt: number, options: BackoffOptions = {}): number {
  const min = options.min ?? 500;
  const max = options.max ?? 20_000;
  const random = options.random ?? Math.random;
  const step = Number.isNaN(attempt)
    ? 0
    : Math.min(MAX_STEP, Math.max(0, Math.floor(attempt)));
  const window = Math.min(max, min * 2 ** step);
  return Math.min(max, Math.floor(min + random() * window));
}
