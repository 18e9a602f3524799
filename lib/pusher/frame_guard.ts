/**
 * The first look at every frame from a Pusher client: text only, at most
 * `MAX_MESSAGE_BYTES`, within the connection's frame rate (closing after
 * `RATE_LIMIT_STRIKES` refusals in a row), and a well-formed Pusher frame.
 *
 * @module
 */

import { TokenBucket } from "../support/rate_limit.ts";
import { exceedsUtf8Bytes } from "../support/utf8.ts";
import { PUSHER_CLOSE } from "./limits.ts";
import { parseClientFrame, type PusherClientFrame } from "./wire.ts";

/** What to do with a frame. */
export type FrameVerdict =
  | { kind: "frame"; frame: PusherClientFrame }
  /** Answer with `pusher:error {code, message}`; `reason` labels the metric. */
  | { kind: "error"; reason: string; code: number | null; message: string }
  | { kind: "close"; code: number; reason: string };

/** Limits of {@linkcode FrameGuard}. */
export interface FrameGuardOptions {
  maxMessageBytes: number;
  rateLimitPerS: number;
  rateLimitBurst: number;
  rateLimitStrikes: number;
  now: () => number;
}

/** Judges the frames of one connection. */
export class FrameGuard {
  readonly #options: FrameGuardOptions;
  readonly #bucket: TokenBucket;
  #strikes = 0;

  /** Starts with a full bucket. */
  constructor(options: FrameGuardOptions) {
    this.#options = options;
    this.#bucket = new TokenBucket(
      options.rateLimitPerS,
      options.rateLimitBurst,
      options.now(),
    );
  }

  /** The verdict on one received WebSocket message. */
  inspect(data: unknown): FrameVerdict {
    const { maxMessageBytes, rateLimitStrikes, now } = this.#options;
    if (typeof data !== "string") {
      return {
        kind: "error",
        reason: "binary",
        code: null,
        message: "Binary frames are not supported",
      };
    }
    if (exceedsUtf8Bytes(data, maxMessageBytes)) {
      return {
        kind: "close",
        code: PUSHER_CLOSE.REFUSED,
        reason: `Frame larger than ${maxMessageBytes} bytes`,
      };
    }
    if (!this.#bucket.take(now())) {
      this.#strikes += 1;
      return this.#strikes >= rateLimitStrikes
        ? {
          kind: "close",
          code: PUSHER_CLOSE.REFUSED,
          reason: "Too many messages",
        }
        : {
          kind: "error",
          reason: "rate",
          code: PUSHER_CLOSE.REFUSED,
          message: "Too many messages; slow down",
        };
    }
    this.#strikes = 0;
    const frame = parseClientFrame(data);
    return typeof frame === "string"
      ? { kind: "error", reason: "bad_frame", code: null, message: frame }
      : { kind: "frame", frame };
  }
}
