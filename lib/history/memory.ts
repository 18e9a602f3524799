/**
 * In-memory room log: the fastest, exact within one isolate, gone on restart
 * (a restarted server starts every room under a new epoch, so clients learn
 * `recovered: false`). A room whose messages have all expired is forgotten.
 *
 * @module
 */

import type { StreamPosition } from "../protocol.ts";
import {
  decideSince,
  type HistoryLimits,
  newEpoch,
  type NewMessage,
  type RoomLog,
  type SinceResult,
  type StoredMessage,
  storeMessage,
} from "./history.ts";

interface RoomState {
  epoch: string;
  offset: number;
  /** Last append or lookup, ms. */
  touched: number;
  /** Ascending by offset, contiguous, ending at `offset`. */
  entries: StoredMessage[];
}

/** Options for {@linkcode MemoryLog}. */
export interface MemoryLogOptions extends HistoryLimits {
  /** Clock, ms since the Unix epoch. @default {Date.now} */
  now?: () => number;
}

/** Room log kept in this isolate's memory. */
export class MemoryLog implements RoomLog {
  #rooms = new Map<string, RoomState>();
  #options: MemoryLogOptions;
  #now: () => number;

  /** Creates an empty log with the given window. */
  constructor(options: MemoryLogOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  append(room: string, items: readonly NewMessage[]): Promise<StoredMessage[]> {
    const state = this.#state(room);
    const stored = items.map((item) =>
      storeMessage(room, item, ++state.offset, state.epoch)
    );
    state.entries.push(...stored);
    this.#prune(state);
    return Promise.resolve(stored);
  }

  head(room: string): Promise<StreamPosition> {
    const { offset, epoch } = this.#state(room);
    return Promise.resolve({ offset, epoch });
  }

  since(room: string, position: StreamPosition): Promise<SinceResult> {
    const state = this.#state(room);
    this.#prune(state);
    const first = state.entries[0]?.offset ?? state.offset + 1;
    const start = Math.max(0, position.offset + 1 - first);
    const messages = position.offset + 1 >= first
      ? state.entries.slice(start)
      : [];
    return Promise.resolve(
      decideSince(
        position,
        { offset: state.offset, epoch: state.epoch },
        messages,
      ),
    );
  }

  close(): Promise<void> {
    this.#rooms.clear();
    return Promise.resolve();
  }

  /** Whether `room` has state here. */
  has(room: string): boolean {
    return this.#rooms.has(room);
  }

  /**
   * Starts `room` at `head` with its stored window `entries` (ascending,
   * contiguous, ending at `head.offset`), replacing any state: how a log
   * backed by a database loads a room.
   */
  seed(room: string, head: StreamPosition, entries: StoredMessage[]): void {
    this.#rooms.set(room, {
      epoch: head.epoch,
      offset: head.offset,
      touched: this.#now(),
      entries,
    });
  }

  /** Number of rooms with state (for tests of the cleanup). */
  get size(): number {
    return this.#rooms.size;
  }

  /**
   * Forgets rooms untouched for longer than the window whose messages have
   * all expired, and returns them. A forgotten room restarts under a new
   * epoch (unless a database seeds it again).
   */
  sweep(): string[] {
    const idleSince = this.#now() - this.#options.ttlMs;
    const forgotten: string[] = [];
    for (const [room, state] of this.#rooms) {
      this.#prune(state);
      if (state.entries.length === 0 && state.touched < idleSince) {
        this.#rooms.delete(room);
        forgotten.push(room);
      }
    }
    return forgotten;
  }

  #state(room: string): RoomState {
    const now = this.#now();
    let state = this.#rooms.get(room);
    if (state === undefined) {
      state = { epoch: newEpoch(), offset: 0, touched: now, entries: [] };
      this.#rooms.set(room, state);
    }
    state.touched = now;
    return state;
  }

  #prune(state: RoomState): void {
    const { maxMessages, ttlMs } = this.#options;
    const oldest = this.#now() - ttlMs;
    let drop = Math.max(0, state.entries.length - maxMessages);
    while (drop < state.entries.length && state.entries[drop]!.ts < oldest) {
      drop += 1;
    }
    if (drop > 0) state.entries.splice(0, drop);
  }
}
