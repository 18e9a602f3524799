/**
 * A server frame as SSE bytes, built once per broadcast: the hub hands the
 * same frame string to every member's socket in turn, so the last frame's
 * encoding is kept (one entry) and reused by each {@linkcode SseSocket}
 * until another frame comes. Only what every recipient shares is here: the
 * `data:` bytes, the plain feed's event line and the position change the
 * frame makes (its segment bytes included); the per-stream `id:` prefix
 * stays with the stream.
 *
 * @module
 */

import { type PositionChange, readPosition } from "./event_id.ts";

/** What a frame is on the wire of an SSE stream, for every recipient. */
export interface EncodedFrame {
  /** The frame itself. */
  readonly frame: string;
  /** `data: <frame>\n\n` as UTF-8. */
  readonly data: Uint8Array;
  /**
   * In the plain feed: the event line to write before `data:` (empty for
   * a `message`), or null when the feed does not carry the frame.
   */
  readonly feedEvent: Uint8Array | null;
  /** How the frame moves the stream's id (null: it does not). */
  readonly change: PositionChange | null;
}

const encoder = new TextEncoder();
const NO_EVENT = new Uint8Array(0);
const JOINED = encoder.encode("event: joined\n");
const REFUSED = encoder.encode("event: refused\n");

let last: EncodedFrame | undefined;

/** The encoding of `frame`; the same object while the same frame repeats. */
export function encodedFrame(frame: string): EncodedFrame {
  if (last !== undefined && last.frame === frame) return last;
  let feedEvent: Uint8Array | null = null;
  if (frame.startsWith('{"type":"message"')) feedEvent = NO_EVENT;
  else if (frame.startsWith('{"type":"joined"')) feedEvent = JOINED;
  else if (frame.startsWith('{"type":"error"')) feedEvent = REFUSED;
  last = {
    frame,
    data: encoder.encode(`data: ${frame}\n\n`),
    feedEvent,
    change: readPosition(frame),
  };
  return last;
}
