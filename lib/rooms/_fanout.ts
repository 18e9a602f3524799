/**
 * Sliced delivery for big rooms (internal): a message to a room with more
 * members than the slice goes to the first slice of them at once and to the
 * rest in later event-loop turns, so timers and I/O completions (the
 * history's flush and its commit) run in between instead of waiting behind
 * thousands of sends. Messages of a room being sliced wait behind it, in
 * order; the members of each message are those present while it is sliced
 * (a Map iterator sees members that join and skips those that leave), and
 * the offset check sends each member an offset once.
 *
 * @module
 */

import type { Connection } from "./connection.ts";
import type { Coalescer } from "./_coalescer.ts";
import type { Member } from "./_member.ts";
import type { StreamMessage } from "./room_stream.ts";
import type { Metrics } from "../support/metrics.ts";

/** What a {@linkcode SlicedFanout} works with: the parts of its registry. */
export interface FanoutParts {
  /** Members visited per event-loop turn. */
  slice: number;
  /** Messages a room may have waiting; one more is delivered at once. */
  maxQueued: number;
  /** The registry's coalescer (batch members are queued there, not sent). */
  coalescer: Coalescer;
  /** The local members of a room. */
  members(room: string): Map<Connection, Member> | undefined;
  /** Holds a message for a pending member (bounded there). */
  hold(connection: Connection, member: Member, message: StreamMessage): void;
  /** Runs `fn` in a later event-loop turn, after I/O has been polled. */
  afterTurn(fn: () => void): void;
  /** Counts sliced messages, slices and queue overruns. */
  metrics?: Metrics | undefined;
}

/** One room's sliced delivery in progress. */
interface RoomFanout {
  /** Messages to deliver; `head` is the one being delivered. */
  queue: StreamMessage[];
  head: number;
  /** Where delivery of the head message stands, or undefined before it starts. */
  cursor: MapIterator<[Connection, Member]> | undefined;
  /** The head message's index in the coalescer's queue, or -1. */
  queued: number;
}

/** The sliced deliveries of one registry. */
export class SlicedFanout {
  readonly #parts: FanoutParts;
  readonly #rooms = new Map<string, RoomFanout>();

  /** Delivers through `parts`. */
  constructor(parts: FanoutParts) {
    this.#parts = parts;
  }

  /** Number of rooms with a delivery in progress. */
  get size(): number {
    return this.#rooms.size;
  }

  /** Messages waiting (or being delivered) in `room`. */
  waiting(room: string): number {
    const state = this.#rooms.get(room);
    return state === undefined ? 0 : state.queue.length - state.head;
  }

  /**
   * Delivers `message` after what `room` has waiting: a room that had none
   * gets its first slice now. A room over `maxQueued` delivers its oldest
   * message to all of its remaining members now (counted).
   */
  push(room: string, message: StreamMessage): void {
    let state = this.#rooms.get(room);
    this.#parts.metrics?.inc("fanout_sliced_messages_total");
    if (state !== undefined) {
      state.queue.push(message);
      if (state.queue.length - state.head <= this.#parts.maxQueued) return;
      this.#parts.metrics?.inc("fanout_overruns_total");
      this.#run(room, state, Infinity, 1);
      return;
    }
    state = { queue: [message], head: 0, cursor: undefined, queued: -1 };
    this.#rooms.set(room, state);
    this.#turn(room, state);
  }

  /** Delivers everything waiting, now (shutdown). */
  close(): void {
    for (const [room, state] of this.#rooms) {
      this.#run(room, state, Infinity, Infinity);
    }
    this.#rooms.clear();
  }

  /** One slice, then the next in a later turn while work remains. */
  #turn(room: string, state: RoomFanout): void {
    if (this.#rooms.get(room) !== state) return;
    this.#parts.metrics?.inc("fanout_slices_total");
    this.#run(room, state, this.#parts.slice, Infinity);
    if (this.#rooms.get(room) === state) {
      this.#parts.afterTurn(() => this.#turn(room, state));
    }
  }

  /**
   * Visits up to `budget` members, finishing at most `messages` messages;
   * a room whose queue empties is forgotten.
   */
  #run(room: string, state: RoomFanout, budget: number, messages: number) {
    const { coalescer } = this.#parts;
    const coalesce = coalescer.active(room);
    let settle = false;
    while (budget > 0 && messages > 0 && state.head < state.queue.length) {
      const message = state.queue[state.head]!;
      if (state.cursor === undefined) {
        const members = this.#parts.members(room);
        state.cursor = members === undefined ? undefined : members.entries();
        state.queued = -1;
      }
      if (
        coalesce && state.queued >= 0 &&
        !coalescer.holds(room, state.queued, message)
      ) state.queued = -1; // flushed since: queue it anew
      const { offset, epoch, frame, except } = message;
      let done = state.cursor === undefined;
      while (!done && budget > 0) {
        const next = state.cursor!.next();
        if (next.done === true) {
          done = true;
          break;
        }
        budget -= 1;
        const [connection, member] = next.value;
        if (member.pending !== null) {
          this.#parts.hold(connection, member, message);
          continue;
        }
        if (coalesce && connection.batch) {
          if (state.queued < 0) {
            state.queued = coalescer.queue(room, message);
            settle = true;
          }
          if (member.hold < 0) member.hold = state.queued;
          continue;
        }
        if (member.epoch !== epoch) {
          member.epoch = epoch;
          member.last = 0;
        }
        if (offset <= member.last || connection.id === except) continue;
        member.last = offset;
        connection.send(frame);
      }
      if (!done) break;
      if (settle) coalescer.settle(room);
      settle = false;
      state.cursor = undefined;
      state.queued = -1;
      state.head += 1;
      messages -= 1;
    }
    if (state.head === state.queue.length) {
      this.#rooms.delete(room);
    } else if (state.head >= 1024 && state.head * 2 >= state.queue.length) {
      state.queue = state.queue.slice(state.head);
      state.head = 0;
    }
    if (settle) coalescer.settle(room);
  }
}
