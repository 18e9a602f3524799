/**
 * The part counts of a write-behind log's chunked messages (internal): per
 * room, for each message stored in parts that is still in the database's
 * window (ascending offsets), how many parts it has, which is what the trim
 * that pushes it out must delete.
 *
 * @module
 */

import type { StoredMessage } from "./room_log.ts";
import { partsOf, type TrimmedParts } from "./_kv_layout.ts";

/** Part counts of chunked messages, per room and offset. */
export class ChunkIndex {
  readonly #rooms = new Map<string, Map<number, number>>();

  /** Remembers the part counts of `room`'s chunked `messages`, for the trim. */
  note(room: string, messages: readonly StoredMessage[]): void {
    for (const { offset, frame } of messages) {
      const parts = partsOf(frame);
      if (parts === 0) continue;
      let chunked = this.#rooms.get(room);
      if (chunked === undefined) {
        chunked = new Map();
        this.#rooms.set(room, chunked);
      }
      chunked.set(offset, parts);
    }
  }

  /** The part count of the message at `offset` of `room`, when it was chunked. */
  parts(room: string, offset: number): number | undefined {
    return this.#rooms.get(room)?.get(offset);
  }

  /** The part counts of `room` (empty when none), for `addMessages`. */
  of(room: string): TrimmedParts {
    return this.#rooms.get(room) ?? new Map();
  }

  /**
   * Forgets the part counts of messages trimmed from `room` up to `head`
   * (a window of `maxMessages`).
   */
  forgetTrimmed(room: string, head: number, maxMessages: number): void {
    const chunked = this.#rooms.get(room);
    if (chunked === undefined) return;
    for (const offset of chunked.keys()) {
      if (offset > head - maxMessages) break;
      chunked.delete(offset);
    }
    if (chunked.size === 0) this.#rooms.delete(room);
  }

  /** Forgets `room` (reloaded or swept). */
  delete(room: string): void {
    this.#rooms.delete(room);
  }
}
