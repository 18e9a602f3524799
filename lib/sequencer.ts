/**
 * Assigns per-room offsets. Offsets start at 1 and grow by one per message in
 * a room; the epoch names the sequence and changes whenever the sequence is
 * lost (here: when the isolate restarts).
 *
 * This in-memory sequencer is exact within one isolate. Across isolates it
 * follows the highest offset it has seen ({@linkcode MemorySequencer.observe}),
 * so a conversation stays monotonic, but two isolates publishing to one room
 * at the same instant can assign the same offset. The shared, durable log of
 * the delivery work (issue #3) replaces it with one sequence per room.
 *
 * @module
 */

import type { StreamPosition } from "./protocol.ts";

/** A source of per-room offsets. */
export interface Sequencer {
  /** The latest position of `room` (offset 0 before its first message). */
  current(room: string): StreamPosition;
  /** Reserves the next offset of `room`. */
  next(room: string): StreamPosition;
  /** Notes a position assigned elsewhere so later offsets follow it. */
  observe(room: string, position: StreamPosition): void;
}

/** Options for {@linkcode MemorySequencer}. */
export interface MemorySequencerOptions {
  /** The epoch of every room's sequence. @default {a random id} */
  epoch?: string;
}

/** Per-room counters in memory. Counters of idle rooms are kept (a few bytes each). */
export class MemorySequencer implements Sequencer {
  readonly #epoch: string;
  #offsets = new Map<string, number>();

  /** Creates a sequencer whose rooms all start at offset 0. */
  constructor(options: MemorySequencerOptions = {}) {
    this.#epoch = options.epoch ?? crypto.randomUUID().slice(0, 8);
  }

  current(room: string): StreamPosition {
    return { offset: this.#offsets.get(room) ?? 0, epoch: this.#epoch };
  }

  next(room: string): StreamPosition {
    const offset = (this.#offsets.get(room) ?? 0) + 1;
    this.#offsets.set(room, offset);
    return { offset, epoch: this.#epoch };
  }

  observe(room: string, position: StreamPosition): void {
    if (position.offset > (this.#offsets.get(room) ?? 0)) {
      this.#offsets.set(room, position.offset);
    }
  }
}
