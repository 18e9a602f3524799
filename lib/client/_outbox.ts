/**
 * Everything the client writes goes through the {@linkcode Outbox}
 * (internal): one connection's socket and, when the server announced its
 * inbound budget (`welcome.rateLimit`), a client-side token bucket a little
 * below it, so the server never has to refuse a frame (`rate_limited`, and
 * 4029 after a run of refusals).
 *
 * Frames leave in the order they were given. When the budget is spent they
 * are held, still in order, and written as tokens come back. Two kinds of
 * frame bend that rule:
 *
 * - `first` (the pings of `ping()`): written before the held frames, so a
 *   round-trip time measures the network, not the backlog. It is measured
 *   from the write.
 * - `optional` (heartbeat pings): dropped when frames are held. Each held
 *   frame gets an answer (`joined`, `left`, `ack`) that proves the link
 *   alive, so the ping would only lengthen the backlog.
 *
 * @module
 */

import type { ClientMessage, RateLimit } from "../protocol/mod.ts";
import { OPEN } from "./_socket.ts";
import { TokenBucket } from "../support/rate_limit.ts";
import type { WebSocketLike } from "./types.ts";

/**
 * Share of the server's budget the client allows itself: a margin for
 * network jitter, which can bunch frames up on arrival.
 */
export const BUDGET_SHARE = 0.9;

/** A frame to write, with hooks for the request it belongs to. */
export interface Outgoing {
  /** The frame. */
  frame: ClientMessage;
  /** Asked just before the write: false withdraws the frame (its request was settled meanwhile). */
  wanted?: () => boolean;
  /** Called once the frame was written. */
  written?: () => void;
}

/** Where a frame goes: in order, ahead of the held frames, or nowhere when frames are held. */
export type Priority = "normal" | "first" | "optional";

/**
 * The client's own budget for a server budget `limit`: {@linkcode BUDGET_SHARE}
 * of its rate and of its burst (at least 1).
 */
export function clientBudget(limit: RateLimit, now: number): TokenBucket {
  return new TokenBucket(
    limit.perSecond * BUDGET_SHARE,
    Math.max(1, Math.floor(limit.burst * BUDGET_SHARE)),
    now,
  );
}

/** One connection's writes, paced to the server's budget when it has one. */
export class Outbox {
  readonly #now: () => number;
  #socket: WebSocketLike | undefined;
  #budget: TokenBucket | undefined;
  #held: Outgoing[] = [];
  #first: Outgoing[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** An outbox on clock `now` (ms), with no connection yet. */
  constructor(now: () => number) {
    this.#now = now;
  }

  /** Frames waiting for budget. */
  get held(): number {
    return this.#held.length + this.#first.length;
  }

  /**
   * Starts a connection: frames go to `socket`, paced to `limit` (the
   * server's budget) when given, unpaced otherwise.
   */
  open(socket: WebSocketLike, limit: RateLimit | undefined): void {
    this.close();
    this.#socket = socket;
    this.#budget = limit === undefined
      ? undefined
      : clientBudget(limit, this.#now());
  }

  /** The connection ended: held frames are dropped (their requests decide what happens to them). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#socket = this.#budget = undefined;
    this.#held = [];
    this.#first = [];
  }

  /** Writes `item` now if the budget allows, or holds it (see {@linkcode Priority}). */
  send(item: Outgoing, priority: Priority = "normal"): void {
    if (this.#socket === undefined) return;
    if (priority === "optional" && this.held > 0) return;
    (priority === "first" ? this.#first : this.#held).push(item);
    if (this.#timer === undefined) this.#drain();
  }

  /** Writes held frames while the budget lasts, then waits for the next token. */
  #drain(): void {
    this.#timer = undefined;
    while (true) {
      const queue = this.#first.length > 0 ? this.#first : this.#held;
      const item = queue[0];
      if (item === undefined) return;
      if (item.wanted !== undefined && !item.wanted()) {
        queue.shift();
        continue;
      }
      const budget = this.#budget;
      if (budget !== undefined && !budget.take(this.#now())) {
        this.#timer = setTimeout(
          () => this.#drain(),
          budget.waitMs(this.#now()),
        );
        return;
      }
      queue.shift();
      if (!this.#write(item.frame)) return; // Closing: its close event follows.
      item.written?.();
    }
  }

  #write(frame: ClientMessage): boolean {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== OPEN) return false;
    try {
      socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false; // The socket is going away; its `close` event follows.
    }
  }
}
