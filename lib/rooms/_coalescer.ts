/**
 * Frame coalescing for a {@linkcode RoomRegistry} (internal): per room, the
 * messages held for members that negotiated batch frames, and the flush that
 * sends each of them its run in one frame `[m1,m2,…]`, built once for every
 * member holding the same run.
 *
 * @module
 */

import type { Connection } from "./connection.ts";
import type { Metrics } from "../support/metrics.ts";
import type { StreamMessage } from "./room_stream.ts";
import { type Member, sendOnce } from "./_member.ts";

/** Per-room coalescing state. */
interface BatchState {
  /** Members that accept batch frames. */
  batchers: number;
  /** Messages held for batch members until the flush. */
  queue: StreamMessage[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** The coalescing state of every room of one registry. */
export class Coalescer {
  readonly #batches = new Map<string, BatchState>();
  readonly #coalesceMs: number;
  readonly #metrics: Metrics | undefined;
  readonly #members: (room: string) => Map<Connection, Member> | undefined;

  /**
   * Holds messages at most `coalesceMs` (0: never); `members` gives a
   * room's local members.
   */
  constructor(
    coalesceMs: number,
    metrics: Metrics | undefined,
    members: (room: string) => Map<Connection, Member> | undefined,
  ) {
    this.#coalesceMs = coalesceMs;
    this.#metrics = metrics;
    this.#members = members;
  }

  /** A member that accepts batch frames joined `room`. */
  join(room: string): void {
    let state = this.#batches.get(room);
    if (state === undefined) {
      state = {
        batchers: 0,
        queue: [],
        timer: undefined,
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
    if (empty && state !== undefined) {
      clearTimeout(state.timer);
      this.#batches.delete(room);
    }
  }

  /** Whether messages of `room` wait for the flush (batch members, a window). */
  active(room: string): boolean {
    const state = this.#batches.get(room);
    return state !== undefined && state.batchers > 0 && this.#coalesceMs > 0;
  }

  /**
   * Queues `message` of an active room for its flush (armed if need be);
   * returns its index in the room's queue.
   */
  queue(room: string, message: StreamMessage): number {
    const state = this.#batches.get(room)!;
    state.queue.push(message);
    state.timer ??= setTimeout(() => this.#flush(room), this.#coalesceMs);
    return state.queue.length - 1;
  }

  /** Sends what is queued now and stops the timers (shutdown). */
  close(): void {
    for (const [room, state] of this.#batches) {
      clearTimeout(state.timer);
      this.#flush(room);
    }
  }

  #flush(room: string): void {
    const state = this.#batches.get(room);
    const members = this.#members(room);
    if (state === undefined || members === undefined) return;
    const queue = state.queue;
    state.queue = [];
    state.timer = undefined;
    const frames = new Map<number, string>();
    for (const [connection, member] of members) {
      if (member.hold < 0) continue;
      const held = queue.slice(member.hold);
      member.hold = -1;
      const first = held[0];
      const clean = held.length > 1 && first !== undefined &&
        member.last < first.offset &&
        held.every((m) =>
          m.except !== connection.id && m.epoch === member.epoch
        );
      if (!clean) {
        for (const message of held) sendOnce(connection, member, message);
        continue;
      }
      let frame = frames.get(held.length);
      if (frame === undefined) {
        frame = `[${held.map((m) => m.frame).join(",")}]`;
        frames.set(held.length, frame);
      }
      member.last = held.at(-1)!.offset;
      if (connection.send(frame)) {
        this.#metrics?.inc("batch_frames_total");
        this.#metrics?.inc("batched_messages_total", held.length);
      }
    }
  }
}
