/**
 * Per-connection checks the hub applies to every inbound frame after the
 * upgrade, in order: text only (1003), the rate limit (a token bucket with a
 * strike count: `rate_limited`, then 4029), the size (1009), the protocol
 * (an `error` frame); plus the token's expiry (4401).
 *
 * @module
 */

import { exceedsUtf8Bytes } from "../support/utf8.ts";
import { CLOSE_CODE, ERROR_CODE, type ErrorCode } from "../protocol/mod.ts";
import {
  type ClientMessage,
  isMessageId,
  type MessageId,
  parseClientMessage,
  ProtocolError,
} from "../protocol/mod.ts";
import { type Deadline, setDeadline } from "../support/long_timer.ts";
import { TokenBucket } from "../support/rate_limit.ts";

/** What to do with one inbound frame. */
export type Verdict =
  | { kind: "message"; message: ClientMessage }
  | { kind: "error"; code: ErrorCode; text: string; ref?: MessageId }
  | { kind: "close"; code: number; reason: string };

/** Options for {@linkcode ConnectionGuard}. */
export interface ConnectionGuardOptions {
  /** Frames per second the connection may send. */
  perSecond: number;
  /** Frames it may send at once. */
  burst: number;
  /** Refusals in a row after which it is closed. */
  strikes: number;
  /** Largest accepted frame, UTF-8 bytes. */
  maxMessageBytes: number;
  /** Deepest nesting of `data` and `meta` (`too_deep` beyond). @default {MAX_JSON_DEPTH} */
  maxJsonDepth?: number;
  /** When its token expires, ms since the Unix epoch. */
  expiresAt?: number;
  /** Called once when the token expires. */
  onExpire(): void;
  /** Clock, ms since the Unix epoch. */
  now: () => number;
}

/** What {@linkcode ConnectionGuard.admit} decides for a frame. */
export type Admission = "accept" | "refuse" | "close";

/** Rate limit and token expiry of one connection. */
export class ConnectionGuard {
  #bucket: TokenBucket;
  #strikes = 0;
  #expiry: Deadline | undefined;
  #options: ConnectionGuardOptions;

  /**
   * Starts the bucket full and arms the expiry timer, if any (however far
   * away: see {@linkcode setDeadline}).
   */
  constructor(options: ConnectionGuardOptions) {
    this.#options = options;
    const now = options.now();
    this.#bucket = new TokenBucket(options.perSecond, options.burst, now);
    if (options.expiresAt !== undefined) {
      this.#expiry = setDeadline(options.expiresAt, options.onExpire, {
        now: options.now,
      });
    }
  }

  /** Checks one inbound frame. Never throws. */
  inspect(data: unknown): Verdict {
    if (typeof data !== "string") {
      return {
        kind: "close",
        code: CLOSE_CODE.UNSUPPORTED_DATA,
        reason: "Binary frames are not supported",
      };
    }
    const admission = this.admit();
    if (admission === "close") {
      return {
        kind: "close",
        code: CLOSE_CODE.RATE_LIMITED,
        reason: "Too many messages",
      };
    }
    if (admission === "refuse") {
      const ref = refOf(data, this.#options.maxMessageBytes);
      return {
        kind: "error",
        code: ERROR_CODE.RATE_LIMITED,
        text:
          `Over ${this.#options.perSecond} messages per second: message dropped`,
        ...(ref === undefined ? {} : { ref }),
      };
    }
    const max = this.#options.maxMessageBytes;
    if (exceedsUtf8Bytes(data, max)) {
      return {
        kind: "close",
        code: CLOSE_CODE.MESSAGE_TOO_BIG,
        reason: `Message exceeds ${max} bytes`,
      };
    }
    try {
      return {
        kind: "message",
        message: parseClientMessage(data, this.#options.maxJsonDepth),
      };
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return error.ref === undefined
        ? { kind: "error", code: error.code, text: error.message }
        : {
          kind: "error",
          code: error.code,
          text: error.message,
          ref: error.ref,
        };
    }
  }

  /** Accepts a frame within budget; refuses one over it; closes on the last strike. */
  admit(): Admission {
    if (this.#bucket.take(this.#options.now())) {
      this.#strikes = 0;
      return "accept";
    }
    this.#strikes += 1;
    return this.#strikes >= this.#options.strikes ? "close" : "refuse";
  }

  /** The tokens (fractional) the rate limit's bucket holds now. */
  tokens(): number {
    return this.#bucket.tokens(this.#options.now());
  }

  /** Disarms the expiry timer. */
  close(): void {
    this.#expiry?.clear();
  }
}

/**
 * The `id` of a frame refused for rate, so that its sender can tell which
 * request failed (a publish waiting for its `ack` would otherwise wait for
 * its timeout). Read only from a frame within the size limit; the strikes
 * bound how many refused frames a connection gets parsed.
 */
function refOf(data: string, maxBytes: number): MessageId | undefined {
  if (exceedsUtf8Bytes(data, maxBytes)) return undefined;
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value !== "object" || value === null || !("id" in value)) {
      return undefined;
    }
    return isMessageId(value.id) ? value.id : undefined;
  } catch {
    return undefined;
  }
}
