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

/**
 * What one frame does to a stream's id: `set` a room's segment (`segment`
 * is `room|epoch|offset`, `bytes` its UTF-8 with a leading space, shared by
 * every stream the frame goes to) or remove a room that was `left`.
 */
export type PositionChange =
  | { kind: "set"; room: string; segment: string; bytes: Uint8Array }
  | { kind: "left"; room: string };

const encoder = new TextEncoder();

/**
 * Reads the position change `frame` makes (null: none). Pure, so a
 * broadcast reads it once for all its members.
 */
export function readPosition(frame: string): PositionChange | null {
  if (frame.startsWith(MESSAGE_PREFIX)) {
    return fromMessage(frame, MESSAGE_PREFIX.length);
  }
  if (frame.startsWith(BATCH_PREFIX)) {
    return fromMessage(frame, BATCH_PREFIX.length);
  }
  if (frame.startsWith('{"type":"joined"')) {
    const joined: unknown = JSON.parse(frame);
    if (!isRecord(joined)) return null;
    const { room, epoch, offset } = joined;
    return typeof room === "string" && typeof epoch === "string" &&
        typeof offset === "number"
      ? setChange(room, epoch, offset)
      : null;
  }
  if (frame.startsWith('{"type":"left"')) {
    const left: unknown = JSON.parse(frame);
    if (!isRecord(left) || typeof left.room !== "string") return null;
    return { kind: "left", room: left.room };
  }
  return null;
}

/** Room names have no quote; the last `,"offset":` is the frame's own. */
function fromMessage(frame: string, start: number): PositionChange | null {
  const room = frame.slice(start, frame.indexOf('"', start));
  const at = frame.lastIndexOf(',"offset":');
  const tail = at < 0 ? null : TAIL.exec(frame.slice(at, at + 100));
  if (tail === null) return null;
  return setChange(room, tail[2]!, Number(tail[1]));
}

function setChange(
  room: string,
  epoch: string,
  offset: number,
): PositionChange | null {
  if (!isValidRoomName(room) || !EPOCH.test(epoch)) return null;
  const segment = `${room}|${epoch}|${offset}`;
  return { kind: "set", room, segment, bytes: encoder.encode(` ${segment}`) };
}

/**
 * The positions of one stream's rooms, kept from the frames it sends. The
 * id line is written from bytes: a per-stream prefix and each room's
 * segment bytes, which are the frame's own (shared by every recipient), so
 * a recipient costs no encoding and no string building.
 */
export class StreamPositions {
  readonly #session: string;
  /** `id: 1 <session>` as bytes. */
  readonly #prefix: Uint8Array;
  /** Room → its latest change (segment `room|epoch|offset` and its bytes). */
  readonly #segments = new Map<
    string,
    { segment: string; bytes: Uint8Array }
  >();
  #id: string | undefined;
  #lineLength: number;

  /** Positions of the stream of `session` (`-` for the plain feed). */
  constructor(session: string) {
    this.#session = session;
    this.#prefix = encoder.encode(`id: ${EVENT_ID_VERSION} ${session}`);
    this.#lineLength = this.#prefix.length + 1;
  }

  /** The current SSE id. */
  get id(): string {
    this.#id ??= [
      EVENT_ID_VERSION,
      this.#session,
      ...[...this.#segments.values()].map((s) => s.segment),
    ].join(" ");
    return this.#id;
  }

  /** Bytes of the line `id: <id>\n` (see {@linkcode writeIdLine}). */
  get idLineLength(): number {
    return this.#lineLength;
  }

  /** Writes `id: <id>\n` into `out` at `at`; returns the index after it. */
  writeIdLine(out: Uint8Array, at: number): number {
    out.set(this.#prefix, at);
    let end = at + this.#prefix.length;
    for (const { bytes } of this.#segments.values()) {
      out.set(bytes, end);
      end += bytes.length;
    }
    out[end] = 0x0a;
    return end + 1;
  }

  /** Notes what `frame` (about to be sent) says; true when the id changed. */
  observe(frame: string): boolean {
    const change = readPosition(frame);
    return change !== null && this.apply(change);
  }

  /** Applies a change read by {@linkcode readPosition}; true when the id changed. */
  apply(change: PositionChange): boolean {
    const old = this.#segments.get(change.room);
    if (change.kind === "left") {
      if (old === undefined) return false;
      this.#segments.delete(change.room);
      this.#lineLength -= old.bytes.length;
    } else {
      if (old !== undefined && old.segment === change.segment) return false;
      this.#segments.set(change.room, change);
      this.#lineLength += change.bytes.length - (old?.bytes.length ?? 0);
    }
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
