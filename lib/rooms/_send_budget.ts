/**
 * The frames one event-loop turn may handle (internal). Deno writes a
 * WebSocket frame after the JavaScript that sent it returns: every `send`
 * queues a write that runs before the loop polls its timers and I/O again.
 * A turn that sends to 9,000 members, four messages deep, kept timers and
 * completions waiting for a second (measured: a 10 ms history flush timer
 * fired 933 ms late, so the write-behind history refused every publish as
 * `overloaded`). A {@linkcode SendBudget} bounds that: connections spend it
 * per frame sent, the hub per frame read; the room fan-out and the
 * coalescer's flush stop when it is spent, and the work left waits, in
 * order, for the next turn, where the budget is whole again.
 *
 * @module
 */

/** Work left for a later turn. */
export interface Deferred {
  /** Does what the budget allows; true when nothing is left. */
  resume(): boolean;
}

/** Frames per event-loop turn, and the work waiting for the next. */
export class SendBudget {
  readonly #perTurn: number;
  readonly #afterTurn: (fn: () => void) => void;
  #left: number;
  #armed = false;
  #waiting: Deferred[] = [];

  /**
   * `perTurn` frames per turn (Infinity: never defer); `afterTurn` runs a
   * function once the I/O that is ready now has been handled.
   */
  constructor(perTurn: number, afterTurn: (fn: () => void) => void) {
    this.#perTurn = Math.max(1, perTurn);
    this.#left = this.#perTurn;
    this.#afterTurn = afterTurn;
  }

  /** Frames this turn may still write (negative once overspent). */
  get left(): number {
    return this.#left;
  }

  /** Deferred work waiting for a later turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Takes `frames` from this turn's budget. */
  spend(frames: number): void {
    if (frames <= 0) return;
    this.#left -= frames;
    this.#arm();
  }

  /** Runs `work` in the next turn (after what already waits). */
  defer(work: Deferred): void {
    this.#waiting.push(work);
    this.#arm();
  }

  /** Runs everything waiting now, with no budget (shutdown). */
  drain(): void {
    this.#left = Infinity;
    while (this.#waiting.length > 0) {
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const work of waiting) work.resume();
    }
    this.#left = this.#perTurn;
  }

  #arm(): void {
    if (this.#armed) return;
    this.#armed = true;
    this.#afterTurn(() => this.#turnEnd());
  }

  /** A new turn: the budget is whole; waiting work takes it in order, round robin. */
  #turnEnd(): void {
    this.#armed = false;
    this.#left = this.#perTurn;
    const waiting = this.#waiting;
    this.#waiting = [];
    let i = 0;
    for (; i < waiting.length && this.#left > 0; i++) {
      // Unfinished work goes to the back: a big room does not starve others.
      if (!waiting[i]!.resume()) this.#waiting.push(waiting[i]!);
    }
    // What the budget did not reach keeps its place in front.
    if (i < waiting.length) {
      this.#waiting = [...waiting.slice(i), ...this.#waiting];
    }
    if (this.#waiting.length > 0 || this.#left < this.#perTurn) this.#arm();
  }
}
