/**
 * Requests waiting for an answer: publishes (settled by `ack` or by an
 * `error` whose `ref` is their id) and pings (settled by `pong`), each with
 * a timeout, plus the bounded queue of publishes not sent yet (internal).
 *
 * A publish is `queued` while there is no connection, `held` once handed to
 * the connection's outbox (which may hold it for the rate limit) and `sent`
 * once written. A connection that ends sends its `held` publishes back to
 * the queue: they were never written, so they are sent again, in order, on
 * the next connection. Its timeout runs while it is `queued` (waiting for a
 * connection) and again, from the start, once `sent` (waiting for the
 * `ack`); not while `held`, a wait the client imposes on itself and that
 * `maxQueueSize` bounds.
 *
 * @module
 */

import type {
  AckMessage,
  ErrorMessage,
  MessageId,
  PingMessage,
  PongMessage,
  PublishMessage,
} from "../protocol/mod.ts";
import type { Outgoing } from "./_outbox.ts";
import { RoomcastError } from "./errors.ts";

/** What a publish resolves to once the server acknowledged it. */
export interface PublishResult {
  /** The offset the server gave the message in its room. */
  offset: number;
}

/** Hands one frame to the current connection (its hooks track the write). */
export type Send = (
  item: Outgoing & { frame: PublishMessage | PingMessage },
) => void;

/** Settings of {@linkcode Requests}. */
export interface RequestsOptions {
  timeoutMs: number;
  maxQueueSize: number;
  now: () => number;
}

interface Pending<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface PendingPublish extends Pending<PublishResult> {
  frame: PublishMessage;
  state: "queued" | "held" | "sent";
}

interface PendingPing extends Pending<number> {
  /** When the ping was written; undefined while held. */
  sentAt: number | undefined;
}

/** Tracks publishes and pings until they are answered, time out or fail. */
export class Requests {
  readonly #options: RequestsOptions;
  readonly #publishes = new Map<number, PendingPublish>();
  readonly #pings = new Map<number, PendingPing>();
  #nextId = 1;
  /**
   * The server's `maxMessageBytes` (the last one announced): a publish
   * frame above it is rejected with `too_big` instead of being sent.
   */
  maxBytes: number | undefined;

  /** Creates an empty tracker. */
  constructor(options: RequestsOptions) {
    this.#options = options;
  }

  /** Publishes not written yet: queued while offline, or held for the rate limit. */
  get queued(): number {
    let count = 0;
    for (const entry of this.#publishes.values()) {
      if (entry.state !== "sent") count++;
    }
    return count;
  }

  /** Requests written and not answered yet (publishes and pings). */
  get unanswered(): number {
    let count = this.#pings.size;
    for (const entry of this.#publishes.values()) {
      if (entry.state === "sent") count++;
    }
    return count;
  }

  /**
   * Registers a publish and sends it with `send`, or queues it when `send`
   * is undefined (not connected). Rejects with `too_big` when its frame
   * exceeds {@linkcode Requests.maxBytes}, with `queue_full` when
   * `maxQueueSize` publishes are already waiting to be written (offline or
   * held for the rate limit) and with `timeout` when no answer came in time.
   */
  publish(
    message: Omit<PublishMessage, "id">,
    send: Send | undefined,
  ): Promise<PublishResult> {
    const { maxQueueSize } = this.#options;
    if (this.queued >= maxQueueSize) {
      return Promise.reject(
        new RoomcastError(
          "queue_full",
          `Send queue is full: ${maxQueueSize} messages wait to be sent`,
        ),
      );
    }
    const id = this.#nextId++;
    const frame: PublishMessage = { ...message, id };
    const tooBig = this.#tooBig(frame);
    if (tooBig !== undefined) return Promise.reject(tooBig);
    return new Promise<PublishResult>((resolve, reject) => {
      const entry: PendingPublish = {
        resolve,
        reject,
        timer: undefined,
        frame,
        state: "queued",
      };
      this.#publishes.set(id, entry);
      this.#arm(id, entry);
      if (send !== undefined) this.#send(id, send);
    });
  }

  /** Sends every queued publish, oldest first. */
  flush(send: Send): void {
    for (const [id, entry] of this.#publishes) {
      if (entry.state === "queued") this.#send(id, send);
    }
  }

  /**
   * Sends a ping with a fresh id; resolves with the round-trip time in ms,
   * counted from the moment it was written.
   */
  ping(send: Send): Promise<number> {
    const { timeoutMs, now } = this.#options;
    const id = this.#nextId++;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pings.delete(id);
        reject(timeoutError("Ping", timeoutMs));
      }, timeoutMs);
      const entry: PendingPing = { resolve, reject, timer, sentAt: undefined };
      this.#pings.set(id, entry);
      send({
        frame: { type: "ping", id },
        wanted: () => this.#pings.get(id) === entry,
        written: () => entry.sentAt = now(),
      });
    });
  }

  /** Settles the publish acknowledged by `ack`; false if it is not ours. */
  ack(ack: AckMessage): boolean {
    const entry = take(this.#publishes, ack.id);
    entry?.resolve({ offset: ack.offset });
    return entry !== undefined;
  }

  /** Settles the ping answered by `pong`; false if it is not ours. */
  pong(pong: PongMessage): boolean {
    const entry = take(this.#pings, pong.id);
    const now = this.#options.now();
    entry?.resolve(Math.max(0, now - (entry.sentAt ?? now)));
    return entry !== undefined;
  }

  /** Rejects the request `error.ref` names; false if it names none of ours. */
  error(error: ErrorMessage): boolean {
    const entry = take(this.#publishes, error.ref) ??
      take(this.#pings, error.ref);
    entry?.reject(new RoomcastError(error.code, error.message));
    return entry !== undefined;
  }

  /**
   * Rejects what the connection took with it: every ping, every sent
   * publish, and (when `queuedToo`) the publishes not written as well;
   * otherwise those (held ones included) go back to the queue.
   */
  fail(error: RoomcastError, queuedToo: boolean): void {
    for (const id of [...this.#pings.keys()]) {
      take(this.#pings, id)?.reject(error);
    }
    for (const [id, entry] of [...this.#publishes]) {
      if (entry.state === "sent" || queuedToo) {
        take(this.#publishes, id)?.reject(error);
      } else if (entry.state === "held") {
        entry.state = "queued";
        this.#arm(id, entry);
      }
    }
  }

  /** Rejects the publishes to `room` not written yet (the client left it). */
  failQueued(room: string, error: RoomcastError): void {
    for (const [id, entry] of [...this.#publishes]) {
      if (entry.state !== "sent" && entry.frame.room === room) {
        take(this.#publishes, id)?.reject(error);
      }
    }
  }

  /** Hands a registered publish over, unless the server's limit is now below it. */
  #send(id: number, send: Send): void {
    const entry = this.#publishes.get(id);
    if (entry === undefined) return;
    const tooBig = this.#tooBig(entry.frame);
    if (tooBig !== undefined) return take(this.#publishes, id)?.reject(tooBig);
    entry.state = "held";
    clearTimeout(entry.timer);
    send({
      frame: entry.frame,
      // Settled (left room, closed) or back in the queue: not written.
      wanted: () => this.#publishes.get(id) === entry && entry.state === "held",
      written: () => {
        entry.state = "sent";
        this.#arm(id, entry);
      },
    });
  }

  /** (Re)starts the timeout of a publish. */
  #arm(id: number, entry: PendingPublish): void {
    clearTimeout(entry.timer);
    const { timeoutMs } = this.#options;
    entry.timer = setTimeout(() => {
      this.#publishes.delete(id);
      entry.reject(timeoutError("Publish", timeoutMs));
    }, timeoutMs);
  }

  /** The `too_big` error for `frame`, or undefined when it fits. */
  #tooBig(frame: PublishMessage): RoomcastError | undefined {
    const limit = this.maxBytes;
    if (limit === undefined) return undefined;
    const text = JSON.stringify(frame);
    // At most three UTF-8 bytes per UTF-16 unit: most frames need no count.
    if (text.length * 3 <= limit) return undefined;
    const bytes = encoder.encode(text).length;
    if (bytes <= limit) return undefined;
    return new RoomcastError(
      "too_big",
      `Message too big: its frame takes ${bytes} bytes, the server accepts at most ${limit}`,
    );
  }
}

const encoder = new TextEncoder();

/** Removes and returns the entry for `id`, clearing its timer. */
function take<T extends Pending<unknown>>(
  map: Map<number, T>,
  id: MessageId | undefined,
): T | undefined {
  if (typeof id !== "number") return undefined;
  const entry = map.get(id);
  if (entry === undefined) return undefined;
  map.delete(id);
  clearTimeout(entry.timer);
  return entry;
}

function timeoutError(what: string, timeoutMs: number): RoomcastError {
  return new RoomcastError(
    "timeout",
    `${what} timed out: no answer within ${timeoutMs} ms`,
  );
}
