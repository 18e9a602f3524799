/**
 * The rooms a client wants to be in and, for each, the last stream position
 * it saw: what to rejoin after a reconnect, and which messages are
 * duplicates (internal).
 *
 * @module
 */

import type {
  JoinedMessage,
  JoinMessage,
  RoomMessage,
  StreamPosition,
} from "../protocol.ts";

/**
 * The fields of a `joined` frame the tracker needs. `recovered` answers a
 * join that asked to resume (`since`); servers that do not support resuming
 * leave it out, and the tracker then infers it.
 */
export type JoinedFrame =
  & Pick<JoinedMessage, "room" | "offset" | "epoch">
  & { readonly recovered?: boolean };

/** What a `joined` frame meant for a room the client wants. */
export interface JoinOutcome {
  /** Whether the join asked to resume from a known position. */
  resumed: boolean;
  /** Whether nothing was lost: always true for a fresh join. */
  recovered: boolean;
}

/** Joined rooms and their last seen positions. */
export class RoomTracker {
  /** Room name to the last position seen, or undefined before the first `joined`. */
  readonly #rooms = new Map<string, StreamPosition | undefined>();

  /** Room names in join order. */
  names(): string[] {
    return [...this.#rooms.keys()];
  }

  /** Whether the client wants to be in `room`. */
  has(room: string): boolean {
    return this.#rooms.has(room);
  }

  /** Adds `room`; false if it was already there. */
  add(room: string): boolean {
    if (this.#rooms.has(room)) return false;
    this.#rooms.set(room, undefined);
    return true;
  }

  /** Forgets `room` and its position; false if it was not there. */
  delete(room: string): boolean {
    return this.#rooms.delete(room);
  }

  /** The last position seen in `room`, if any. */
  position(room: string): StreamPosition | undefined {
    const position = this.#rooms.get(room);
    return position === undefined ? undefined : { ...position };
  }

  /** The `join` frame for `room`: with `since` once a position is known. */
  joinFrame(room: string): JoinMessage {
    const since = this.#rooms.get(room);
    return since === undefined
      ? { type: "join", room }
      : { type: "join", room, since: { ...since } };
  }

  /**
   * Records a `joined` frame; undefined when the room is no longer wanted.
   *
   * Without a `recovered` field (a server that ignores `since`) recovery is
   * inferred: nothing was missed only if the epoch is unchanged and the room
   * did not move past the position the client saw. The position then moves
   * to the join point unless the server promised a replay (`recovered:
   * true`: the missed messages follow, each advancing it).
   */
  joined(frame: JoinedFrame): JoinOutcome | undefined {
    if (!this.#rooms.has(frame.room)) return undefined;
    const previous = this.#rooms.get(frame.room);
    const here = { offset: frame.offset, epoch: frame.epoch };
    if (previous === undefined) {
      this.#rooms.set(frame.room, here);
      return { resumed: false, recovered: true };
    }
    const recovered = frame.recovered ??
      (previous.epoch === frame.epoch && frame.offset <= previous.offset);
    if (!recovered) this.#rooms.set(frame.room, here);
    return { resumed: true, recovered };
  }

  /**
   * Whether to deliver `message`: false for rooms not wanted and for
   * duplicates (offset at or below the last seen one in the same epoch).
   * Advances the room's position when true.
   */
  accept(message: RoomMessage): boolean {
    if (!this.#rooms.has(message.room)) return false;
    const last = this.#rooms.get(message.room);
    if (
      last !== undefined && last.epoch === message.epoch &&
      message.offset <= last.offset
    ) {
      return false;
    }
    this.#rooms.set(message.room, {
      offset: message.offset,
      epoch: message.epoch,
    });
    return true;
  }
}
