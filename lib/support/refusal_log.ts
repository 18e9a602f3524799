/**
 * Aggregated, rate-limited logging of refusals (bad keys, bad tokens, bad
 * bodies): a flood of refused requests must not become a flood of log lines.
 * Per cause, the first refusal is logged at once with its fields; those that
 * follow within `intervalMs` are only counted, and one summary line per
 * interval says how many were suppressed. Counters on `/metrics` keep the
 * full count; this only bounds the log.
 *
 * Bounded: at most `maxCauses` causes are tracked (more share the cause
 * `other`), each cause writes at most two lines per interval, and state is
 * dropped once a cause has been quiet for an interval.
 *
 * @module
 */

import type { LogFields, Logger } from "./log.ts";

/** The level a refusal is logged at. */
export type RefusalLevel = "info" | "warn";

/** Options for {@linkcode RefusalLog}. */
export interface RefusalLogOptions {
  log: Logger;
  /** Longest span between two lines of one cause, ms (`REFUSAL_LOG_INTERVAL_MS`). */
  intervalMs: number;
  /** Causes tracked at once; more share the cause `other` (`REFUSAL_LOG_MAX_CAUSES`). */
  maxCauses: number;
  /** Called with the number of lines suppressed, for a metric. */
  onSuppressed?: (count: number) => void;
  /** Clock, ms. @default {Date.now} */
  now?: () => number;
}

/** The cause that causes beyond `maxCauses` share. */
export const OVERFLOW_CAUSE = "other";

interface CauseState {
  level: RefusalLevel;
  msg: string;
  /** Until when a new refusal is suppressed, ms. */
  until: number;
  suppressed: number;
}

/** A logger for refusals: first at once, then one summary per interval. */
export class RefusalLog {
  #options: RefusalLogOptions;
  #now: () => number;
  #causes = new Map<string, CauseState>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Creates a refusal log writing to `options.log`. */
  constructor(options: RefusalLogOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Records one refusal of `cause` (a short stable key from a closed set,
   * such as `api:invalid`). Logs `msg` with `fields` when it is the first of
   * its cause in an interval; otherwise only counts it.
   */
  refuse(
    level: RefusalLevel,
    cause: string,
    msg: string,
    fields: LogFields = {},
  ): void {
    const now = this.#now();
    const key = this.#keyFor(cause, now);
    const state = this.#causes.get(key);
    if (state === undefined || (state.suppressed === 0 && now >= state.until)) {
      this.#causes.set(key, {
        level,
        msg,
        until: now + this.#options.intervalMs,
        suppressed: 0,
      });
      this.#options.log[level](msg, { cause: key, ...fields });
      return;
    }
    state.suppressed += 1;
    this.#options.onSuppressed?.(1);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#options.intervalMs);
  }

  /**
   * Writes one summary line per cause with suppressed refusals and forgets
   * causes quiet for an interval. Runs by itself; call it to see the counts
   * at once.
   */
  flush(): void {
    const now = this.#now();
    for (const [cause, state] of this.#causes) {
      if (state.suppressed > 0) {
        this.#options.log[state.level](`${state.msg} (repeated)`, {
          cause,
          suppressed: state.suppressed,
          intervalMs: this.#options.intervalMs,
        });
        state.suppressed = 0;
        state.until = now + this.#options.intervalMs;
      } else if (now >= state.until) {
        this.#causes.delete(cause);
      }
    }
  }

  /** Writes the pending summaries and stops the timer (server shutdown). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.flush();
  }

  /** Causes tracked now (tests). */
  get size(): number {
    return this.#causes.size;
  }

  #keyFor(cause: string, now: number): string {
    if (this.#causes.has(cause)) return cause;
    if (this.#causes.size < this.#options.maxCauses) return cause;
    for (const [key, state] of this.#causes) {
      if (state.suppressed === 0 && now >= state.until) {
        this.#causes.delete(key);
      }
    }
    return this.#causes.size < this.#options.maxCauses ? cause : OVERFLOW_CAUSE;
  }
}
