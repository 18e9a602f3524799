/**
 * The SSE `id:` of the fallback transport: where a stream stands in each of
 * its rooms, so that a reconnecting `EventSource` (which sends the last id
 * it saw as `Last-Event-ID`) resumes every room exactly after what it got,
 * on any isolate and after a restart. Format (docs/protocol.md):
 * `1 <session> <room>|<epoch>|<offset> …` (`-` for the plain feed's
 * session). Positions are read from the frames the stream sends: a message
 * frame's room from its fixed prefix and its offset and epoch from its tail
 * (no parse of the payload), `joined` and `left` frames (rare) by parsing.
 *
 * @module
 */

import {
  isRecord,
  isValidRoomName,
  MAX_EPOCH_LENGTH,
  type StreamPosition,
} from "../protocol/mod.ts";

/** Version of the id format (its first word). */
export const EVENT_ID_VERSION = "1";

const MESSAGE_PREFIX = '{"type":"message","room":"';
const BATCH_PREFIX = `[${MESSAGE_PREFIX}`;
const EPOCH = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_EPOCH_LENGTH}}$`);
const TAIL = new RegExp(
  `^,"offset":(\\d{1,15}),"epoch":"([A-Za-z0-9_-]{1,${MAX_EPOCH_LENGTH}})"`,
);

/** A parsed `Last-Event-ID`: the session it names and each room's position. */
export interface ParsedEventId {
  /** The session id, when the id names one. */
  session?: string;
  /** Rooms in the order they appear, each once. */
  positions: Map<string, StreamPosition>;
}

/** The positions of one stream's rooms, kept from the frames it sends. */
export class StreamPositions {
  readonly #session: string;
  /** Room → its segment `room|epoch|offset`. */
  readonly #segments = new Map<string, string>();
  #id: string | undefined;

  /** Positions of the stream of `session` (`-` for the plain feed). */
  constructor(session: string) {
    this.#session = session;
  }

  /** The current SSE id. */
  get id(): string {
    this.#id ??= [EVENT_ID_VERSION, this.#session, ...this.#segments.values()]
      .join(" ");
    return this.#id;
  }

  /** Notes what `frame` (about to be sent) says; true when the id changed. */
  observe(frame: string): boolean {
    if (frame.startsWith(MESSAGE_PREFIX)) {
      return this.#fromMessage(frame, MESSAGE_PREFIX.length);
    }
    if (frame.startsWith(BATCH_PREFIX)) {
      return this.#fromMessage(frame, BATCH_PREFIX.length);
    }
    if (frame.startsWith('{"type":"joined"')) {
      const joined: unknown = JSON.parse(frame);
      if (!isRecord(joined)) return false;
      const { room, epoch, offset } = joined;
      return typeof room === "string" && typeof epoch === "string" &&
        typeof offset === "number" && this.#set(room, epoch, offset);
    }
    if (frame.startsWith('{"type":"left"')) {
      const left: unknown = JSON.parse(frame);
      if (!isRecord(left) || typeof left.room !== "string") return false;
      this.#id = undefined;
      return this.#segments.delete(left.room);
    }
    return false;
  }

  /** Room names have no quote; the last `,"offset":` is the frame's own. */
  #fromMessage(frame: string, start: number): boolean {
    const room = frame.slice(start, frame.indexOf('"', start));
    const at = frame.lastIndexOf(',"offset":');
    const tail = at < 0 ? null : TAIL.exec(frame.slice(at, at + 100));
    if (tail === null) return false;
    return this.#set(room, tail[2]!, Number(tail[1]));
  }

  #set(room: string, epoch: string, offset: number): boolean {
    if (!isValidRoomName(room) || !EPOCH.test(epoch)) return false;
    const segment = `${room}|${epoch}|${offset}`;
    if (this.#segments.get(room) === segment) return false;
    this.#segments.set(room, segment);
    this.#id = undefined;
    return true;
  }
}

/**
 * Reads a `Last-Event-ID` value: at most `maxRooms` positions; anything
 * malformed is ignored (that room, or the whole id when its version or
 * shape is unknown), so the worst a bad id does is a fresh join.
 *
 * @example Usage
 * ```ts
 * import { parseEventId } from "./event_id.ts";
 * import assert from "node:assert/strict";
 *
 * const parsed = parseEventId("1 s1 lobby|ab12|7", 10);
 * assert.equal(parsed.session, "s1");
 * assert.deepEqual(parsed.positions.get("lobby"), { epoch: "ab12", offset: 7 });
 * ```
 */
export function parseEventId(
  value: string | null | undefined,
  maxRooms: number,
): ParsedEventId {
  const positions = new Map<string, StreamPosition>();
  const words = (value ?? "").split(" ");
  if (words[0] !== EVENT_ID_VERSION || words.length < 2) return { positions };
  const session = words[1]!;
  for (const word of words.slice(2)) {
    if (positions.size >= maxRooms) break;
    const [room, epoch, offset, extra] = word.split("|");
    if (
      extra !== undefined || !isValidRoomName(room) || epoch === undefined ||
      !EPOCH.test(epoch) || offset === undefined || !/^\d{1,15}$/.test(offset)
    ) continue;
    if (!positions.has(room)) {
      positions.set(room, { epoch, offset: Number(offset) });
    }
  }
  return session === "-" || session === ""
    ? { positions }
    : { session, positions };
}
