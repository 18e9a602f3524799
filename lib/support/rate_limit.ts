/**
 * Token buckets for rate limits: per connection (messages) and per client IP
 * (upgrades) on the server, and the SDK's own pacing below the server's
 * budget. Browser compatible; time is injected so tests need no waiting.
 *
 * @module
 */

/** A token bucket: `burst` tokens, refilled at `perSecond`. */
export class TokenBucket {
  #tokens: number;
  #last: number;
  readonly #rate: number;
  readonly #burst: number;

  /** Starts full at time `now` (ms). */
  constructor(perSecond: number, burst: number, now: number) {
    this.#rate = perSecond / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes one token if there is one at `now`; returns whether it did. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds from `now` until a token is there (0 when there is one). */
  waitMs(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1
      ? 0
      : Math.max(1, Math.ceil((1 - this.#tokens) / this.#rate));
  }

  /** The tokens (fractional) the bucket holds at `now`. */
  tokens(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  /** Whether the bucket would be full at `now` (an idle key can be forgotten). */
  full(now: number): boolean {
    return this.#tokens + (now - this.#last) * this.#rate >= this.#burst;
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#last);
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate);
    this.#last = now;
  }
}

/** One bucket per key (e.g. client IP), forgetting keys whose bucket refilled. */
export class KeyedLimiter {
  #buckets = new Map<string, TokenBucket>();
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #maxKeys: number;

  /** `maxKeys` bounds memory: past it, full buckets are pruned. */
  constructor(perSecond: number, burst: number, maxKeys = 10_000) {
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  /** Takes a token for `key`; returns whether it was allowed. */
  take(key: string, now: number): boolean {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxKeys) this.#prune(now);
      bucket = new TokenBucket(this.#perSecond, this.#burst, now);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(now);
  }

  /** Number of keys tracked. */
  get size(): number {
    return this.#buckets.size;
  }

  #prune(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.full(now)) this.#buckets.delete(key);
    }
  }
}
