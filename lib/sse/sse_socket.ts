/**
 * One SSE stream as the hub sees it: a {@linkcode SocketLike} whose frames
 * become `text/event-stream` events on a `ReadableStream` (the HTTP
 * response's body). `bufferedAmount` is what the stream's controller holds
 * (bytes the client has not read yet), so the hub's slow-consumer check
 * works unchanged; the socket also refuses to hold more than
 * `maxBufferedBytes` itself. `close(code)` ends the stream with a final
 * `event: close` carrying the same code a WebSocket would have closed with.
 *
 * @module
 */

import type { SocketLike } from "../rooms/connection.ts";
import { CLOSE_CODE } from "../protocol/mod.ts";
import type { StreamPositions } from "./event_id.ts";
import { encodedFrame } from "./sse_frame.ts";

/**
 * What a stream carries: `frames` (the bidirectional session: every server
 * frame as one `message` event) or `feed` (the plain feed: message frames
 * as `message` events, `joined` and refused joins as named events, nothing
 * else).
 */
export type SseMode = "frames" | "feed";

/** Options for {@linkcode SseSocket}. */
export interface SseSocketOptions {
  mode: SseMode;
  /** Tracks the rooms' positions and writes the `id:` lines. */
  positions: StreamPositions;
  /** Bytes the client may leave unread before the stream closes with 1013. */
  maxBufferedBytes: number;
  /** Interval of `: ping` comments; also how long a final event may stay unread. */
  heartbeatMs: number;
  /** Called when the socket closes itself as a slow consumer. */
  onSlow?: () => void;
}

const encoder = new TextEncoder();
/** The reconnection delay every stream asks of its `EventSource` (`retry:`). */
export const RECONNECT_MS = 200;
const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/** A WebSocket-shaped writer of an SSE stream; dispatches `close` once. */
export class SseSocket extends EventTarget implements SocketLike {
  /** The response body to serve (`text/event-stream`). */
  readonly body: ReadableStream<Uint8Array>;
  readonly #options: SseSocketOptions;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #state = CONNECTING;
  #code: number = CLOSE_CODE.GOING_AWAY;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #grace: ReturnType<typeof setTimeout> | undefined;
  #draining = false;

  /** A stream that is open at once (its first event can be written now). */
  constructor(options: SseSocketOptions) {
    super();
    this.#options = options;
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => {
        // The client read everything: a closed stream may end now.
        if (this.#draining) this.#end();
      },
      cancel: () => this.#gone(),
    }, { highWaterMark: 0, size: (chunk) => chunk.byteLength });
    this.#state = OPEN;
    this.#write(`retry: ${RECONNECT_MS}\n\n`);
    this.#heartbeat = setInterval(() => {
      if (this.bufferedAmount === 0) this.#write(": ping\n\n");
    }, options.heartbeatMs);
  }

  /** `1` while open, `3` once closed (by either side). */
  get readyState(): number {
    return this.#state;
  }

  /** Bytes enqueued that the client has not read yet. */
  get bufferedAmount(): number {
    return Math.max(0, -(this.#controller.desiredSize ?? 0));
  }

  /** The close code: what `close()` was given, or 1001 when the client left. */
  get code(): number {
    return this.#code;
  }

  /** Writes one server frame as an event (see {@linkcode SseMode}). */
  send(frame: string): void {
    if (this.#state !== OPEN) return;
    if (this.bufferedAmount > this.#options.maxBufferedBytes) {
      this.#options.onSlow?.();
      this.close(CLOSE_CODE.TRY_AGAIN_LATER, "Slow consumer");
      return;
    }
    const { mode, positions } = this.#options;
    // Read and encoded once per broadcast: every member gets the same string.
    const encoded = encodedFrame(frame);
    const event = mode === "feed" ? encoded.feedEvent : undefined;
    if (event === null) return;
    const { data, change } = encoded;
    const withId = change !== null && positions.apply(change);
    const head = (withId ? positions.idLineLength : 0) + (event?.length ?? 0);
    // One chunk per recipient: its id line, then the shared bytes.
    const chunk = new Uint8Array(head + data.length);
    let at = withId ? positions.writeIdLine(chunk, 0) : 0;
    if (event !== undefined) {
      chunk.set(event, at);
      at += event.length;
    }
    chunk.set(data, at);
    this.#enqueue(chunk);
  }

  /** Writes a named event with the current id (the session's first event). */
  event(name: string, data: string): void {
    if (this.#state !== OPEN) return;
    this.#write(
      `id: ${this.#options.positions.id}\nevent: ${name}\ndata: ${data}\n\n`,
    );
  }

  /**
   * Ends the stream with `event: close` (`{"code","reason"}`); once the
   * client read it the body ends. Unread after one heartbeat interval, the
   * body is aborted (nothing stays queued for a client that reads nothing).
   */
  close(code: number = CLOSE_CODE.NORMAL, reason = ""): void {
    if (this.#state !== OPEN) return;
    this.#write(`event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`);
    this.#state = CLOSED;
    this.#code = code;
    clearInterval(this.#heartbeat);
    if (this.bufferedAmount === 0) this.#end();
    else {
      this.#draining = true;
      this.#grace = setTimeout(() => {
        try {
          this.#controller.error(new Error("Stream closed unread"));
        } catch {
          // Already ended.
        }
      }, this.#options.heartbeatMs);
    }
    this.dispatchEvent(new Event("close"));
  }

  #write(text: string): void {
    this.#enqueue(encoder.encode(text));
  }

  #enqueue(chunk: Uint8Array): void {
    try {
      this.#controller.enqueue(chunk);
    } catch {
      this.#gone(); // the body was cancelled under us
    }
  }

  #end(): void {
    this.#draining = false;
    clearTimeout(this.#grace);
    try {
      this.#controller.close();
    } catch {
      // Already ended.
    }
  }

  /** The client went away (the body was cancelled). */
  #gone(): void {
    clearTimeout(this.#grace);
    if (this.#state !== OPEN) return;
    this.#state = CLOSED;
    clearInterval(this.#heartbeat);
    this.dispatchEvent(new Event("close"));
  }
}
