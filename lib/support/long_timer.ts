/**
 * Timers for deadlines of any distance. `setTimeout` keeps its delay in a
 * signed 32-bit integer: a delay over 2³¹−1 ms (about 24.8 days) fires at
 * once in Deno, Node and browsers. {@linkcode setDeadline} chains timers of
 * at most that length and reads the clock at each hop, so it fires at the
 * deadline however far away it is.
 *
 * @module
 */

/** The longest delay `setTimeout` honours, in ms (2³¹−1). */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

/** Options for {@linkcode setDeadline}. */
export interface DeadlineOptions {
  /** Clock, ms since the Unix epoch. @default {Date.now} */
  now?: () => number;
}

/** A pending deadline; `clear()` disarms it (idempotent). */
export interface Deadline {
  /** Disarms the timer; `fire` will not be called. */
  clear(): void;
}

/**
 * Calls `fire` once, when `now()` reaches `at` (ms since the Unix epoch), or
 * at once (on a timer, never synchronously) when `at` is already past.
 *
 * @example Usage
 * ```ts
 * import { setDeadline } from "./long_timer.ts";
 *
 * // 30 days away: a plain setTimeout would fire at once.
 * const deadline = setDeadline(Date.now() + 30 * 86_400_000, () => {});
 * deadline.clear();
 * ```
 */
export function setDeadline(
  at: number,
  fire: () => void,
  options: DeadlineOptions = {},
): Deadline {
  const now = options.now ?? Date.now;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cleared = false;
  const arm = () => {
    const remaining = Math.max(0, at - now());
    timer = setTimeout(
      remaining > MAX_TIMER_DELAY_MS ? arm : () => {
        if (!cleared) fire();
      },
      Math.min(remaining, MAX_TIMER_DELAY_MS),
    );
  };
  arm();
  return {
    clear() {
      cleared = true;
      clearTimeout(timer);
    },
  };
}
