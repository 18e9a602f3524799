/**
 * One client connection as the hub sees it: an id, the rooms it joined and a
 * guarded `send()`. The socket behind it is anything WebSocket-shaped, so the
 * hub can be tested without a network.
 *
 * @module
 */

import { CLOSE_CODE } from "../protocol/mod.ts";
import type { MetricCell, Metrics } from "../support/metrics.ts";

/** The part of a WebSocket the hub uses. `WebSocket` satisfies it. */
export interface SocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** `WebSocket.OPEN`, spelled out so this module runs where `WebSocket` is absent. */
const OPEN = 1;

/** Options for {@linkcode Connection}. */
export interface ConnectionOptions {
  /** Outbound bytes queued before the client is closed as slow (1013). */
  maxBufferedBytes: number;
  /** Where sends, drops and failures are counted. */
  metrics: Metrics;
  /** Called once when the connection closes itself (slow consumer, send failure). */
  onClose?: (connection: Connection, code: number, reason: string) => void;
  /** The member (user) id this connection appears under in presence. @default {the connection id} */
  memberId?: string;
  /** What the connection may do. @default {anything} */
  access?: Access;
  /** The client accepts batch frames (a JSON array of messages). @default {false} */
  batch?: boolean;
  /** Counts every frame sent against the turn's budget (what the fan-out paces itself by). */
  budget?: FrameBudget;
}

/** What a connection spends per frame it sends. */
export interface FrameBudget {
  /** Takes `frames` from the current event-loop turn's budget. */
  spend(frames: number): void;
}

/** Room permissions of a connection (from its token, or open for anonymous clients). */
export interface Access {
  canJoin(room: string): boolean;
  canPublish(room: string): boolean;
  /** Display name from the token, stamped into presence metadata. */
  name?: string;
}

const OPEN_ACCESS: Access = { canJoin: () => true, canPublish: () => true };

/** A client connection with a backpressure-aware, never-throwing `send()`. */
export class Connection {
  /** Unique id, announced in `welcome` and stamped as `from` on its messages. */
  readonly id: string;
  /** The member (user) id in presence; several connections may share one. */
  readonly memberId: string;
  /** Rooms this connection joined (maintained by the room registry). */
  readonly rooms: Set<string> = new Set();
  /** What it may do. */
  readonly access: Access;
  /** Whether it accepts batch frames (negotiated as `roomcast.v1.batch`). */
  readonly batch: boolean;
  #socket: SocketLike;
  #options: ConnectionOptions;
  #closed = false;
  /**
   * An upper bound of the socket's `bufferedAmount`: the value last read plus
   * what was sent since. Reading the real value is a call into the runtime,
   * so it happens only when this bound could pass `maxBufferedBytes`.
   */
  #bufferedBound = Infinity;
  #messagesOut: MetricCell;
  #bytesOut: MetricCell;

  /** Wraps `socket`; the caller owns the id's uniqueness. */
  constructor(id: string, socket: SocketLike, options: ConnectionOptions) {
    this.id = id;
    this.memberId = options.memberId ?? id;
    this.access = options.access ?? OPEN_ACCESS;
    this.batch = options.batch ?? false;
    this.#socket = socket;
    this.#options = options;
    this.#messagesOut = options.metrics.cell("messages_out_total");
    this.#bytesOut = options.metrics.cell("bytes_out_total");
  }

  /** Whether `close()` was called or the socket is no longer open. */
  get closed(): boolean {
    return this.#closed || this.#socket.readyState > OPEN;
  }

  /**
   * Sends one text frame. Returns false when it was not sent: the socket is
   * not open, or its buffer passed `maxBufferedBytes` (the connection is then
   * closed with 1013), or `send` threw (closed with 1011). Never throws.
   */
  send(frame: string): boolean {
    const { metrics } = this.#options;
    if (this.#closed || this.#socket.readyState !== OPEN) {
      metrics.inc("dropped_messages_total", 1, "closed");
      return false;
    }
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    const cost = frame.length * 3;
    if (this.#bufferedBound + cost > this.#options.maxBufferedBytes) {
      const buffered = this.#socket.bufferedAmount;
      if (buffered > this.#options.maxBufferedBytes) {
        metrics.inc("dropped_messages_total", 1, "slow");
        metrics.inc("slow_consumers_total");
        this.close(CLOSE_CODE.TRY_AGAIN_LATER, "Slow consumer");
        return false;
      }
      this.#bufferedBound = buffered;
    }
    try {
      this.#socket.send(frame);
    } catch {
      metrics.inc("send_failures_total");
      metrics.inc("dropped_messages_total", 1, "failed");
      this.close(CLOSE_CODE.INTERNAL_ERROR, "Send failed");
      return false;
    }
    this.#bufferedBound += cost;
    this.#options.budget?.spend(1);
    this.#messagesOut.value += 1;
    this.#bytesOut.value += frame.length;
    return true;
  }

  /** Closes the socket once; later calls do nothing. Never throws. */
  close(code: number = CLOSE_CODE.NORMAL, reason = ""): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#socket.close(code, reason);
    } catch {
      // Already closing or closed: nothing left to do.
    }
    this.#options.onClose?.(this, code, reason);
  }
}
