/**
 * In-memory room log: the fastest, exact within one isolate, gone on restart
 * (a restarted server starts every room under a new epoch, so clients learn
 * `recovered: false`). A room whose messages have all expired is forgotten.
 *
 * Memory is bounded three ways: per room by count and age (the window), per
 * room by bytes (`maxRoomBytes`), and across every room by a budget
 * (`maxMemoryBytes`): past it the oldest messages of the whole log go first,
 * whatever their room. An evicted position is never replayed in part: a
 * resume across it answers `recovered: false`. Eviction keeps one queue of
 * every message in append order, so each append costs O(1) amortized, never
 * a scan of the rooms.
 *
 * @module
 */

import type { StreamPosition } from "../protocol/mod.ts";
import {
  decideSince,
  type HistoryLimits,
  type HistorySize,
  newEpoch,
  type NewMessage,
  type RoomLog,
  type SinceResult,
  storedBytes,
  type StoredMessage,
  storeMessage,
} from "./room_log.ts";

/** Why messages left the log before their window ended. */
export type EvictReason = "room_bytes" | "budget";

/** The server-wide memory budget of a log kept in memory. */
export interface MemoryBudgetOptions {
  /**
   * Most bytes ({@linkcode storedBytes}) held across every room; the oldest
   * messages go first. @default {unlimited}
   */
  maxMemoryBytes?: number;
  /** Hears every eviction by a byte limit: why, and how many messages. */
  onEvict?: (reason: EvictReason, messages: number) => void;
  /** Kept equal to the bytes held (a metrics gauge cell fits). */
  bytesGauge?: { value: number };
}

/** Options for {@linkcode MemoryLog}. */
export interface MemoryLogOptions extends HistoryLimits, MemoryBudgetOptions {
  /** Clock, ms since the Unix epoch. @default {Date.now} */
  now?: () => number;
}

interface Entry {
  message: StoredMessage;
  bytes: number;
  room: RoomState;
  /** Dropped from its room; its queue slot is skipped. */
  dead: boolean;
}

interface RoomState {
  epoch: string;
  offset: number;
  /** Last append or lookup, ms. */
  touched: number;
  /** Ascending by offset, contiguous, ending at `offset`. */
  entries: Entry[];
  /** Sum of the entries' bytes. */
  bytes: number;
}

/** Room log kept in this isolate's memory. */
export class MemoryLog implements RoomLog {
  #rooms = new Map<string, RoomState>();
  #options: MemoryLogOptions;
  #now: () => number;
  /** Every entry in insertion order (dead ones skipped), from `#first`. */
  #queue: Entry[] = [];
  #first = 0;
  #live = 0;
  #bytes = 0;

  /** Creates an empty log with the given window and budget. */
  constructor(options: MemoryLogOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Bytes held across every room ({@linkcode storedBytes}). */
  get bytes(): number {
    return this.#bytes;
  }

  append(room: string, items: readonly NewMessage[]): Promise<StoredMessage[]> {
    const state = this.#state(room);
    const stored = items.map((item) =>
      storeMessage(room, item, ++state.offset, state.epoch)
    );
    for (const message of stored) this.#add(state, message);
    this.#prune(state);
    this.#enforceBudget();
    return Promise.resolve(stored);
  }

  head(room: string): Promise<StreamPosition> {
    const { offset, epoch } = this.#state(room);
    return Promise.resolve({ offset, epoch });
  }

  since(room: string, position: StreamPosition): Promise<SinceResult> {
    const state = this.#state(room);
    this.#prune(state);
    const first = state.entries[0]?.message.offset ?? state.offset + 1;
    const start = Math.max(0, position.offset + 1 - first);
    const messages = position.offset + 1 >= first
      ? state.entries.slice(start).map((entry) => entry.message)
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
    this.#queue = [];
    this.#first = 0;
    this.#live = 0;
    this.#setBytes(0);
    return Promise.resolve();
  }

  historySize(room: string): Promise<HistorySize> {
    const state = this.#rooms.get(room);
    if (state === undefined) return Promise.resolve({ messages: 0, bytes: 0 });
    this.#prune(state);
    return Promise.resolve({
      messages: state.entries.length,
      bytes: state.bytes,
    });
  }

  dropHistory(room: string): Promise<number> {
    const state = this.#rooms.get(room);
    if (state === undefined) return Promise.resolve(0);
    const count = state.entries.length;
    this.#drop(state, count);
    this.#compact();
    return Promise.resolve(count);
  }

  /** Whether `room` has state here. */
  has(room: string): boolean {
    return this.#rooms.has(room);
  }

  /**
   * Starts `room` at `head` with its stored window `entries` (ascending,
   * contiguous, ending at `head.offset`), replacing any state: how a log
   * backed by a database loads a room. The limits apply at once.
   */
  seed(room: string, head: StreamPosition, entries: StoredMessage[]): void {
    const old = this.#rooms.get(room);
    if (old !== undefined) this.#drop(old, old.entries.length);
    const state: RoomState = {
      epoch: head.epoch,
      offset: head.offset,
      touched: this.#now(),
      entries: [],
      bytes: 0,
    };
    this.#rooms.set(room, state);
    for (const message of entries) this.#add(state, message);
    this.#prune(state);
    this.#enforceBudget();
  }

  /** Slots in the eviction queue, dead ones included (for tests of its bound). */
  get queued(): number {
    return this.#queue.length - this.#first;
  }

  /** Number of rooms with state (for tests of the cleanup). */
  get size(): number {
    return this.#rooms.size;
  }

  /**
   * Forgets rooms untouched for longer than the window whose messages have
   * all expired (or were evicted), and returns them. A forgotten room
   * restarts under a new epoch (unless a database seeds it again).
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
    this.#compact();
    return forgotten;
  }

  #state(room: string): RoomState {
    const now = this.#now();
    let state = this.#rooms.get(room);
    if (state === undefined) {
      state = {
        epoch: newEpoch(),
        offset: 0,
        touched: now,
        entries: [],
        bytes: 0,
      };
      this.#rooms.set(room, state);
    }
    state.touched = now;
    return state;
  }

  #add(state: RoomState, message: StoredMessage): void {
    const entry: Entry = {
      message,
      bytes: storedBytes(message),
      room: state,
      dead: false,
    };
    state.entries.push(entry);
    state.bytes += entry.bytes;
    this.#queue.push(entry);
    this.#live += 1;
    this.#setBytes(this.#bytes + entry.bytes);
  }

  /** Drops the `count` oldest entries of `state`. */
  #drop(state: RoomState, count: number): void {
    if (count <= 0) return;
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const entry = state.entries[i]!;
      entry.dead = true;
      bytes += entry.bytes;
    }
    state.entries.splice(0, count);
    state.bytes -= bytes;
    this.#live -= count;
    this.#setBytes(this.#bytes - bytes);
  }

  #prune(state: RoomState): void {
    const { maxMessages, ttlMs } = this.#options;
    const maxRoomBytes = this.#options.maxRoomBytes ?? Infinity;
    const oldest = this.#now() - ttlMs;
    const entries = state.entries;
    let drop = Math.max(0, entries.length - maxMessages);
    while (drop < entries.length && entries[drop]!.message.ts < oldest) {
      drop += 1;
    }
    let left = state.bytes;
    for (let i = 0; i < drop; i++) left -= entries[i]!.bytes;
    let overBytes = 0;
    while (left > maxRoomBytes) {
      left -= entries[drop + overBytes]!.bytes;
      overBytes += 1;
    }
    this.#drop(state, drop + overBytes);
    if (overBytes > 0) this.#options.onEvict?.("room_bytes", overBytes);
  }

  /** Evicts the oldest entries of the whole log until it fits the budget. */
  #enforceBudget(): void {
    const max = this.#options.maxMemoryBytes ?? Infinity;
    let evicted = 0;
    while (this.#bytes > max && this.#first < this.#queue.length) {
      const entry = this.#queue[this.#first++]!;
      if (entry.dead) continue;
      // The queue is in insertion order, so a live entry is its room's oldest.
      if (entry.room.entries[0] !== entry) continue;
      this.#drop(entry.room, 1);
      evicted += 1;
    }
    if (evicted > 0) this.#options.onEvict?.("budget", evicted);
    this.#compact();
  }

  /** Keeps the queue within twice the live entries (amortized O(1)). */
  #compact(): void {
    const length = this.#queue.length - this.#first;
    if (length <= 2 * this.#live + 1_024) {
      if (this.#first > 1_024 && this.#first * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#first);
        this.#first = 0;
      }
      return;
    }
    this.#queue = this.#queue.slice(this.#first).filter((e) => !e.dead);
    this.#first = 0;
  }

  #setBytes(bytes: number): void {
    this.#bytes = bytes;
    if (this.#options.bytesGauge) this.#options.bytesGauge.value = bytes;
  }
}
