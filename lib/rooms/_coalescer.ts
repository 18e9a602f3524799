/**
 * Frame coalescing for a {@linkcode RoomRegistry} (internal), the way `cork`
 * works in uWS and Bun. Per room, messages for members that negotiated batch
 * frames are held briefly and sent together. A message that finds the room
 * idle (nothing held, nothing sent for `coalesceMs`) goes out at the end of
 * the event-loop turn that brought it (a `setImmediate`, no timer), together
 * with whatever else that turn published: a publisher's frames that arrive in
 * one read are separate tasks of one turn, so they share one frame. Otherwise
 * the room is *corked*: messages (input that piled up while a flush ran, the
 * rest of a burst) are held until the end of the first event-loop turn that
 * brings no more of them, then go out together, to each member in one frame
 * `[m1,m2,…]`, built once for every member holding the same run. The room
 * stays corked while turns bring or send messages. `coalesceMs` and
 * `maxMessages` bound the wait under load: an arrival or a turn end that
 * finds the oldest held message waiting `coalesceMs` or more, or the queue
 * full, flushes at once.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { Connection } from "./connection.ts";
import type { Metrics } from "../support/metrics.ts";
import type { StreamMessage } from "./room_stream.ts";
import type { Member } from "./_member.ts";
import type { SendBudget } from "./_send_budget.ts";
import { type BatchState, type FlushParts, walkFlush } from "./_batch_flush.ts";

/** Time and turn ends, injectable for tests. */
export interface CoalesceClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Runs `fn` once the I/O that is ready now has been handled (end of the turn). */
  afterTurn(fn: () => void): void;
}

/** `performance.now()` and `setImmediate`. */
export const LOOP_CLOCK: CoalesceClock = {
  now: () => performance.now(),
  afterTurn: (fn) => {
    setImmediate(fn);
  },
};

/** Options of {@linkcode Coalescer}. */
export interface CoalescerOptions {
  /** Longest a held message waits for its flush under load, ms (0: never hold). */
  coalesceMs: number;
  /** Most messages in one batch frame; a full queue flushes at once. */
  maxMessages: number;
  metrics: Metrics | undefined;
  /** A room's local members. */
  members: (room: string) => Map<Connection, Member> | undefined;
  /** The frames each event-loop turn may write; a flush it stops resumes next turn. */
  budget: SendBudget;
  clock?: CoalesceClock;
}

/** The coalescing state of every room of one registry. */
export class Coalescer {
  readonly #batches = new Map<string, BatchState>();
  readonly #coalesceMs: number;
  readonly #maxMessages: number;
  readonly #metrics: Metrics | undefined;
  readonly #members: (room: string) => Map<Connection, Member> | undefined;
  readonly #clock: CoalesceClock;
  readonly #budget: SendBudget;
  readonly #flushParts: FlushParts;

  /** Coalesces with `options` (see {@linkcode CoalescerOptions}). */
  constructor(options: CoalescerOptions) {
    this.#coalesceMs = options.coalesceMs;
    this.#maxMessages = Math.max(1, options.maxMessages);
    this.#metrics = options.metrics;
    this.#members = options.members;
    this.#clock = options.clock ?? LOOP_CLOCK;
    this.#budget = options.budget;
    this.#flushParts = {
      budget: this.#budget,
      metrics: this.#metrics,
      maxMessages: this.#maxMessages,
      now: () => this.#clock.now(),
    };
  }

  /** A member that accepts batch frames joined `room`. */
  join(room: string): void {
    let state = this.#batches.get(room);
    if (state === undefined) {
      state = {
        batchers: 0,
        queue: [],
        base: 0,
        since: 0,
        pass: undefined,
        phase: "idle",
        arrived: false,
        flushed: false,
        sentAt: -Infinity,
      };
      this.#batches.set(room, state);
    }
    state.batchers += 1;
  }

  /**
   * A member left `room` (`batch`: one that accepts batch frames); with
   * `empty`, the room is gone and so is its state.
   */
  leave(room: string, batch: boolean, empty: boolean): void {
    const state = this.#batches.get(room);
    if (state !== undefined && batch) state.batchers -= 1;
    if (empty && state !== undefined) this.#batches.delete(room);
  }

  /** Whether messages of `room` are held for its batch members (batch members, not disabled). */
  active(room: string): boolean {
    const state = this.#batches.get(room);
    return state !== undefined && state.batchers > 0 && this.#coalesceMs > 0;
  }

  /**
   * Whether `room`'s queue still holds `message` at `position` (returned by
   * {@linkcode queue}) for members to be marked with: not once a flush took
   * it (members marked now would miss it).
   */
  holds(room: string, position: number, message: StreamMessage): boolean {
    const state = this.#batches.get(room);
    if (state === undefined) return false;
    if (state.pass !== undefined && position < state.pass.end) return false;
    return state.queue[position - state.base] === message;
  }

  /**
   * Queues `message` of an active room for its flush (at the end of this
   * turn when the room was idle); returns its absolute position in the
   * room's queue, the `hold` of members that get it.
   * Call {@linkcode settle} once every member is marked.
   */
  queue(room: string, message: StreamMessage): number {
    const state = this.#batches.get(room)!;
    if (state.phase === "idle") {
      if (this.#clock.now() - state.sentAt >= this.#coalesceMs) {
        // Idle for a while: out when this turn ends, with what else it brings.
        state.phase = "first";
        this.#clock.afterTurn(() => this.#firstTurnEnd(room, state));
      } else {
        // Sent moments ago: the rest of a burst is likely on its way.
        state.phase = "turn";
        this.#clock.afterTurn(() => this.#turnEnd(room, state));
      }
    }
    if (state.queue.length === 0) state.since = this.#clock.now();
    if (state.pass !== undefined) state.pass.laterSince ??= this.#clock.now();
    if (state.phase === "turn") state.arrived = true;
    state.queue.push(message);
    return state.base + state.queue.length - 1;
  }

  /**
   * Flushes `room` now when its queue is full or its oldest message waited
   * long enough. A flush under way that has `maxMessages` arrivals behind it
   * is finished at once, whatever the budget (counted as
   * `fanout_overruns_total`): what waits for a paced flush stays bounded.
   */
  settle(room: string): void {
    const state = this.#batches.get(room);
    if (state === undefined || state.queue.length === 0) return;
    const pass = state.pass;
    if (pass !== undefined) {
      const behind = state.base + state.queue.length - pass.end;
      if (behind < this.#maxMessages) return; // the budget resumes it
      this.#metrics?.inc("fanout_overruns_total");
      this.#flush(room, state, true);
    }
    if (
      state.queue.length >= this.#maxMessages ||
      this.#clock.now() - state.since >= this.#coalesceMs
    ) this.#flush(room, state);
  }

  /** Sends what is queued now, whatever the budget (shutdown); later turn ends do nothing. */
  close(): void {
    for (const [room, state] of this.#batches) {
      // A flush under way first, then what arrived during it.
      for (let i = 0; i < 2; i++) this.#flush(room, state, true);
      state.phase = "idle";
    }
  }

  #firstTurnEnd(room: string, state: BatchState): void {
    if (this.#batches.get(room) !== state || state.phase !== "first") return;
    this.#flush(room, state);
    state.phase = "turn";
    this.#clock.afterTurn(() => this.#turnEnd(room, state));
  }

  #turnEnd(room: string, state: BatchState): void {
    if (this.#batches.get(room) !== state || state.phase !== "turn") return;
    if (state.pass !== undefined) {
      // A flush is under way (the budget resumes it): stay corked.
      this.#clock.afterTurn(() => this.#turnEnd(room, state));
      return;
    }
    const busy = state.flushed;
    state.flushed = false;
    if (state.queue.length === 0) {
      // Nothing held: idle, unless this turn sent a batch (stay corked).
      if (busy) this.#clock.afterTurn(() => this.#turnEnd(room, state));
      else state.phase = "idle";
      return;
    }
    // A turn that brought messages may be followed by more (the rest of a
    // burst that piled up during a flush): wait for a turn without any,
    // but never longer than coalesceMs.
    const more = state.arrived &&
      this.#clock.now() - state.since < this.#coalesceMs;
    state.arrived = false;
    if (!more) this.#flush(room, state);
    this.#clock.afterTurn(() => this.#turnEnd(room, state));
  }

  /**
   * Starts a flush of what is queued (unless one is under way) and takes it
   * as far as the turn's budget goes (`unbounded`: all the way); the rest
   * resumes in the next turn.
   */
  #flush(room: string, state: BatchState, unbounded = false): void {
    if (state.pass === undefined) {
      if (state.queue.length === 0) return;
      const members = this.#members(room);
      if (members === undefined) {
        state.base += state.queue.length;
        state.queue = [];
        return;
      }
      state.flushed = true;
      state.pass = {
        members,
        cursor: members.entries(),
        stuck: undefined,
        end: state.base + state.queue.length,
        runs: new Map(),
        laterSince: undefined,
      };
      if (walkFlush(state, state.pass, unbounded, this.#flushParts)) return;
      this.#budget.defer({
        resume: () => this.#resume(room, state),
      });
      return;
    }
    if (unbounded) walkFlush(state, state.pass, true, this.#flushParts);
  }

  /** Continues the flush under way in a new turn; true once it is done. */
  #resume(room: string, state: BatchState): boolean {
    const pass = state.pass;
    if (pass === undefined || this.#batches.get(room) !== state) return true;
    return walkFlush(state, pass, false, this.#flushParts);
  }
}
