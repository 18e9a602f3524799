/**
 * A room's live tail as Server-Sent Events: one `data:` line per message
 * (offset, epoch, size, and the frame unless read-only). The stream's queue
 * is bounded in bytes (`ADMIN_TAIL_BUFFER_BYTES`): a line that does not fit
 * is dropped and counted, never buffered without end. It ends when the page
 * goes away, when the session expires and on shutdown.
 *
 * @module
 */

import type { RoomTap } from "../lib/admin/room_tap.ts";
import type { Session } from "../lib/admin/sessions.ts";

/** How a tail is bounded. */
export interface TailOptions {
  /** Bytes queued for the page at most. */
  bufferBytes: number;
  /** Whether lines carry the frames (announced in the first event). */
  payloads: boolean;
}

const encoder = new TextEncoder();

/** The SSE response of `room`'s tail, or undefined when too many are open. */
export function openTail(
  tap: RoomTap,
  room: string,
  session: Session,
  options: TailOptions,
): Response | undefined {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  // `stop` and `timer` are set below, before anything can call `end`.
  const end = () => {
    stop?.();
    clearTimeout(timer);
    try {
      controller?.close();
    } catch {
      // already closed or errored
    }
  };
  const sink = (line: Uint8Array): boolean => {
    if (controller === undefined) return false;
    const room = controller.desiredSize ?? 0;
    if (room < line.byteLength) return false;
    controller.enqueue(line);
    return true;
  };
  const stop = tap.tail(room, sink, end);
  if (stop === undefined) return undefined;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      c.enqueue(encoder.encode(
        `event: hello\ndata: ${
          JSON.stringify({ room, payloads: options.payloads })
        }\n\n`,
      ));
    },
    cancel() {
      stop?.();
      clearTimeout(timer);
    },
  }, {
    highWaterMark: options.bufferBytes,
    size: (chunk) => chunk.byteLength,
  });
  const timer = setTimeout(
    end,
    Math.max(0, session.expiresAt - Date.now()),
  );
  Deno.unrefTimer(timer);
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
