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
import { type Member, sendOnce } from "./_member.ts";

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

/** Per-room coalescing state. */
interface BatchState {
  /** Members that accept batch frames. */
  batchers: number;
  /** Messages held for batch members until the flush. */
  queue: StreamMessage[];
  /** When the oldest message in `queue` was queued (clock ms). */
  since: number;
  /** Idle; held until this turn ends (it found the room idle); or corked. */
  phase: "idle" | "first" | "turn";
  /** Messages were queued during the current turn (more may be on the way). */
  arrived: boolean;
  /** A batch went out during the current turn (the room is busy). */
  flushed: boolean;
  /** When something was last sent (clock ms); -Infinity before. */
  sentAt: number;
}

/** Options of {@linkcode Coalescer}. */
export interface CoalescerOptions {
  /** Longest a held message waits for its flush under load, ms (0: never hold). */
  coalesceMs: number;
  /** Most messages in one batch frame; a full queue flushes at once. */
  maxMessages: number;
  metrics: Metrics | undefined;
  /** A room's local members. */
  members: (room: string) => Map<Connection, Member> | undefined;
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

  /** Coalesces with `options` (see {@linkcode CoalescerOptions}). */
  constructor(options: CoalescerOptions) {
    this.#coalesceMs = options.coalesceMs;
    this.#maxMessages = Math.max(1, options.maxMessages);
    this.#metrics = options.metrics;
    this.#members = options.members;
    this.#clock = options.clock ?? LOOP_CLOCK;
  }

  /** A member that accepts batch frames joined `room`. */
  join(room: string): void {
    let state = this.#batches.get(room);
    if (state === undefined) {
      state = {
        batchers: 0,
        queue: [],
        since: 0,
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
   * Queues `message` of an active room for its flush (at the end of this
   * turn when the room was idle); returns its index in the room's queue.
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
    if (state.phase === "turn") state.arrived = true;
    state.queue.push(message);
    return state.queue.length - 1;
  }

  /** Flushes `room` now when its queue is full or its oldest message waited long enough. */
  settle(room: string): void {
    const state = this.#batches.get(room);
    if (state === undefined || state.queue.length === 0) return;
    if (
      state.queue.length >= this.#maxMessages ||
      this.#clock.now() - state.since >= this.#coalesceMs
    ) this.#flush(room, state);
  }

  /** Sends what is queued now (shutdown); later turn ends do nothing. */
  close(): void {
    for (const [room, state] of this.#batches) {
      this.#flush(room, state);
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

  #flush(room: string, state: BatchState): void {
    const members = this.#members(room);
    const queue = state.queue;
    state.queue = [];
    if (members === undefined || queue.length === 0) return;
    state.flushed = true;
    // Members hold suffixes of the queue: each distinct one is described
    // (and its frame built) once, whatever the number of members holding it.
    const runs = new Map<number, Run>();
    const lastIndex = queue.length - 1;
    let frames = 0, batched = 0;
    for (const [connection, member] of members) {
      const start = member.hold;
      if (start < 0) continue;
      member.hold = -1;
      if (start === lastIndex) {
        sendOnce(connection, member, queue[start]!);
        continue;
      }
      let run = runs.get(start);
      if (run === undefined) {
        run = describeRun(queue, start);
        runs.set(start, run);
      }
      if (
        run.epoch !== member.epoch || member.last >= run.first ||
        run.except?.has(connection.id) === true
      ) {
        for (let i = start; i <= lastIndex; i++) {
          sendOnce(connection, member, queue[i]!);
        }
        continue;
      }
      run.frame ??= `[${queue.slice(start).map((m) => m.frame).join(",")}]`;
      member.last = run.last;
      if (connection.send(run.frame)) {
        frames += 1;
        batched += run.count;
      }
    }
    // From the end of the sends: a flush to many members takes a while.
    state.sentAt = this.#clock.now();
    if (frames > 0) {
      this.#metrics?.inc("batch_frames_total", frames);
      this.#metrics?.inc("batched_messages_total", batched);
    }
  }
}

/** A suffix of a flushed queue, as every member holding it sees it. */
interface Run {
  /** Offsets of its first and last message. */
  first: number;
  last: number;
  count: number;
  /** The epoch of all its messages, or undefined when they differ. */
  epoch: string | undefined;
  /** Connections one of its messages excludes. */
  except: Set<string> | undefined;
  /** `[m1,m2,…]`, built when a member first needs it. */
  frame?: string;
}

function describeRun(queue: readonly StreamMessage[], start: number): Run {
  const head = queue[start]!;
  const run: Run = {
    first: head.offset,
    last: queue[queue.length - 1]!.offset,
    count: queue.length - start,
    epoch: head.epoch,
    except: undefined,
  };
  for (let i = start; i < queue.length; i++) {
    const m = queue[i]!;
    if (m.epoch !== run.epoch) run.epoch = undefined;
    if (m.except !== undefined) (run.except ??= new Set()).add(m.except);
  }
  return run;
}
