/**
 * The server's rate limit as the POSTs of one SSE link meet it (internal).
 *
 * The server measures its token bucket (`welcome.rateLimit`) on the arrival
 * of frames, and every frame of a POST arrives at once. The outbox paces the
 * frames it hands to the link, but the link bunches them: what queued while
 * one POST was in flight leaves in the next. When a POST takes long (a busy
 * machine), frames written over a second can arrive within a few
 * milliseconds of the previous POST's, above the server's burst, and the
 * server drops them (`rate_limited`) although the client paced them.
 *
 * So the link keeps a copy of the server's bucket and lets a POST carry only
 * what that copy holds. It cannot know when a POST arrived, only that it was
 * between its send and its answer: the copy takes the frames at the send and
 * refills from the answer on, so it never holds more than the server's
 * bucket does on the POST's arrival. It also starts refilling
 * {@linkcode CLOCK_SLACK_MS} after each answer, for the millisecond clocks
 * of both sides.
 *
 * The server's answer reports its bucket as it stood right after the POST's
 * frames were taken (`tokens`; docs/protocol.md "Fallback transport"). The
 * copy takes that figure at the answer: the refill of the flight up to the
 * POST's arrival is counted, and the copy lags the server only by the
 * answer's way back. Without the figure (an older server) the flight's time
 * is lost to the copy: under sustained full-rate publishing with a long
 * round trip the link fell below the outbox's pace, its queue filled and it
 * closed with 1006. With it, a POST may also leave as soon as one frame is
 * covered (a flight refills, so waiting to fill a POST only idles the link).
 *
 * @module
 */

import type { RateLimit } from "../protocol/mod.ts";

/** Refilling restarts this long after an answer: both clocks count whole ms. */
export const CLOCK_SLACK_MS = 2;

/** The link's copy of the server's token bucket. */
export class PostBudget {
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;
  #inFlight = false;
  /** The last answer reported the server's bucket (its flight counted). */
  #reported = false;

  /** Full at `now` (ms), as the server's bucket is when the stream opens. */
  constructor(limit: RateLimit, now: number) {
    this.#perMs = limit.perSecond / 1000;
    this.#burst = limit.burst;
    this.#tokens = limit.burst;
    this.#last = now;
  }

  /** Whole frames a POST leaving at `now` may carry. */
  available(now: number): number {
    this.#refill(now);
    return Math.max(0, Math.floor(this.#tokens));
  }

  /**
   * Milliseconds to wait before a POST of `wanted` frames (at most the
   * burst) may leave: 0 when it may leave at `now`. Without the server's
   * figure, waiting until a POST can carry what is queued, instead of
   * sending each token as it comes, keeps the flights (which refill nothing
   * then) few; with it, one frame is enough.
   */
  waitMs(wanted: number, now: number): number {
    this.#refill(now);
    const target = this.#reported
      ? 1
      : Math.min(wanted, Math.floor(this.#burst));
    const missing = target - this.#tokens;
    return missing <= 0 ? 0 : Math.max(1, Math.ceil(missing / this.#perMs));
  }

  /** A POST carrying `frames` left at `now`. */
  sent(frames: number, now: number): void {
    this.#refill(now);
    this.#tokens -= frames;
    this.#inFlight = true;
  }

  /**
   * Its answer came at `now`, reporting the server's bucket right after the
   * POST's frames were taken (`tokens`, when the server says): the copy takes
   * that figure, and refilling resumes (after the slack).
   */
  answered(now: number, tokens?: number): void {
    this.#inFlight = false;
    this.#last = now + CLOCK_SLACK_MS;
    this.#reported = tokens !== undefined;
    if (tokens !== undefined) {
      this.#tokens = Math.min(this.#burst, Math.max(0, tokens));
    }
  }

  #refill(now: number): void {
    if (this.#inFlight) return;
    const elapsed = now - this.#last;
    if (elapsed <= 0) return;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#perMs);
    this.#last = now;
  }
}
