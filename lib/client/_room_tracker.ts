/**
 * The rooms a client wants to be in and, for each, the last stream position
 * it saw and its presence metadata: what to rejoin after a reconnect, which
 * messages are duplicates, and which join an `error` frame answers
 * (internal).
 *
 * @module
 */

import {
  isJson,
  isValidRoomName,
  type JoinedMessage,
  type JoinMessage,
  type Json,
  jsonBytes,
  MAX_JOIN_HISTORY,
  MAX_META_BYTES,
  type MessageId,
  ROOM_NAME_RULE,
  type RoomMessage,
  type StreamPosition,
} from "../protocol/mod.ts";

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

/**
 * Checks the arguments of `join()`.
 *
 * @throws {TypeError} when `room` is not a valid room name or `meta` is not JSON.
 * @throws {RangeError} when `meta` takes more than 1 KiB as JSON, or
 *   `history` is not an integer from 0 to `MAX_JOIN_HISTORY`.
 */
export function checkJoin(
  room: string,
  meta: Json | undefined,
  history?: number,
): void {
  if (
    history !== undefined &&
    !(Number.isInteger(history) && history >= 0 &&
      history <= MAX_JOIN_HISTORY)
  ) {
    throw new RangeError(
      `Invalid history: expected an integer from 0 to ${MAX_JOIN_HISTORY}`,
    );
  }
  if (!isValidRoomName(room)) {
    const name = JSON.stringify(String(room).slice(0, 40));
    throw new TypeError(
      `Invalid room name ${name}: expected ${ROOM_NAME_RULE}`,
    );
  }
  if (meta === undefined) return;
  if (!isJson(meta)) throw new TypeError("Invalid meta: not JSON");
  const bytes = jsonBytes(meta);
  if (bytes > MAX_META_BYTES) {
    throw new RangeError(
      `Invalid meta: ${bytes} bytes of JSON exceed ${MAX_META_BYTES}`,
    );
  }
}

interface Room {
  /** The last position seen, or undefined before the first `joined`. */
  position: StreamPosition | undefined;
  /** Presence metadata sent with every join. */
  meta: Json | undefined;
  /** The id of the join frame awaiting its `joined`. */
  joinId: string | undefined;
  /** Latest messages to replay on the first join (0: none). */
  history: number;
}

/** Joined rooms, their last seen positions and their pending joins. */
export class RoomTracker {
  readonly #rooms = new Map<string, Room>();
  #nextJoinId = 1;

  /** Room names in join order. */
  names(): string[] {
    return [...this.#rooms.keys()];
  }

  /** Whether the client wants to be in `room`. */
  has(room: string): boolean {
    return this.#rooms.has(room);
  }

  /** Adds `room` with its presence `meta` (and `history` to replay first); false if it was already there. */
  add(room: string, meta?: Json, history = 0): boolean {
    if (this.#rooms.has(room)) return false;
    this.#rooms.set(room, {
      position: undefined,
      meta,
      joinId: undefined,
      history,
    });
    return true;
  }

  /** Forgets `room` and its position; false if it was not there. */
  delete(room: string): boolean {
    return this.#rooms.delete(room);
  }

  /** The last position seen in `room`, if any. */
  position(room: string): StreamPosition | undefined {
    const position = this.#rooms.get(room)?.position;
    return position === undefined ? undefined : { ...position };
  }

  /**
   * The `join` frame for a wanted `room`, with a fresh `id` (remembered as
   * the room's pending join), its `meta` when set, and `since` once a
   * position is known.
   */
  joinFrame(room: string): JoinMessage {
    const entry = this.#rooms.get(room);
    const id = `j${this.#nextJoinId++}`;
    const frame: JoinMessage = { type: "join", room, id };
    if (entry === undefined) return frame;
    entry.joinId = id;
    if (entry.position !== undefined) frame.since = { ...entry.position };
    else if (entry.history > 0) frame.history = entry.history;
    if (entry.meta !== undefined) frame.meta = entry.meta;
    return frame;
  }

  /**
   * An `error` frame answered the pending join whose id is `ref`: forgets
   * that room and returns its name; undefined when `ref` names no pending
   * join.
   */
  failed(ref: MessageId | undefined): string | undefined {
    if (typeof ref !== "string") return undefined;
    for (const [room, entry] of this.#rooms) {
      if (entry.joinId !== ref) continue;
      this.#rooms.delete(room);
      return room;
    }
    return undefined;
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
    const entry = this.#rooms.get(frame.room);
    if (entry === undefined) return undefined;
    entry.joinId = undefined;
    const previous = entry.position;
    const here = { offset: frame.offset, epoch: frame.epoch };
    if (previous === undefined) {
      entry.position = here;
      return { resumed: false, recovered: true };
    }
    const recovered = frame.recovered ??
      (previous.epoch === frame.epoch && frame.offset <= previous.offset);
    if (!recovered) entry.position = here;
    return { resumed: true, recovered };
  }

  /**
   * Whether to deliver `message`: false for rooms not wanted and for
   * duplicates (offset at or below the last seen one in the same epoch).
   * Advances the room's position when true.
   */
  accept(message: RoomMessage): boolean {
    const entry = this.#rooms.get(message.room);
    if (entry === undefined) return false;
    const last = entry.position;
    if (
      last !== undefined && last.epoch === message.epoch &&
      message.offset <= last.offset
    ) {
      return false;
    }
    entry.position = { offset: message.offset, epoch: message.epoch };
    return true;
  }
}
