/**
 * Reconnect scheduling (internal): the attempt counter, reset only after a
 * connection stayed up `minUptimeMs`, and the backoff timer.
 *
 * @module
 */

import { backoff } from "./backoff.ts";

/** Settings of {@linkcode Reconnect}. */
export interface ReconnectOptions {
  minReconnectDelayMs: number;
  maxReconnectDelayMs: number;
  minUptimeMs: number;
  random: () => number;
  now: () => number;
}

/** Decides when to try again, and tries. */
export class Reconnect {
  readonly #options: ReconnectOptions;
  #attempt = 0;
  #failures = 0;
  #upSince: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Creates a scheduler at attempt 0. */
  constructor(options: ReconnectOptions) {
    this.#options = options;
  }

  /** Failed attempts since the last connection that lasted `minUptimeMs`. */
  get attempt(): number {
    return this.#attempt;
  }

  /** Attempts in a row that ended before a `welcome`. */
  get failures(): number {
    return this.#failures;
  }

  /** A connection was established (the server's `welcome`). */
  up(): void {
    this.#upSince = this.#options.now();
    this.#failures = 0;
  }

  /**
   * The connection ended: the counter resets if it lasted `minUptimeMs`;
   * an attempt that never got its `welcome` counts as a failure unless
   * `failed` is false.
   */
  down(failed = true): void {
    if (this.#upSince === undefined && failed) this.#failures++;
    if (
      this.#upSince !== undefined &&
      this.#options.now() - this.#upSince >= this.#options.minUptimeMs
    ) {
      this.#attempt = 0;
    }
    this.#upSince = undefined;
  }

  /** Calls `connect` after the next backoff delay; returns the delay in ms. */
  schedule(connect: () => void): number {
    this.cancel();
    const { minReconnectDelayMs, maxReconnectDelayMs, random } = this.#options;
    const delay = backoff(this.#attempt++, {
      min: minReconnectDelayMs,
      max: maxReconnectDelayMs,
      random,
    });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      connect();
    }, delay);
    return delay;
  }

  /** Cancels a scheduled attempt. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Back to attempt 0 (a manual `connect()`). */
  reset(): void {
    this.cancel();
    this.#attempt = 0;
  }
}
