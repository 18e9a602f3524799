/**
 * A coalescing clock ({@linkcode CoalesceClock}) whose time and event-loop
 * turn ends a unit test drives: `afterTurn` callbacks run when the test
 * calls {@linkcode FakeLoop.endTurn}.
 *
 * @module
 */

import type { CoalesceClock } from "../../lib/rooms/_coalescer.ts";

/** A clock whose time and turn ends the test drives. */
export class FakeLoop implements CoalesceClock {
  /** The clock's time, ms: the test moves it. */
  time = 0;
  #turns: Array<() => void> = [];
  /** The current time. */
  now(): number {
    return this.time;
  }
  /** Runs `fn` when the test ends the current turn. */
  afterTurn(fn: () => void): void {
    this.#turns.push(fn);
  }
  /** Callbacks waiting for the end of the current turn. */
  get waiting(): number {
    return this.#turns.length;
  }
  /** Ends turns until nothing is left to run (at most 1000). */
  drain(): void {
    for (let i = 0; i < 1000 && this.#turns.length > 0; i++) this.endTurn();
  }
  /** Ends the current event-loop turn. */
  endTurn(): void {
    const turns = this.#turns;
    this.#turns = [];
    for (const fn of turns) fn();
  }
}
