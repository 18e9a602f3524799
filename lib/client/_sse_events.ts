/**
 * Reading the SSE link's events (internal): the session the stream names,
 * the server's `event: close`, the limits of its `welcome` frame, and the
 * bucket a POST's answer reports.
 *
 * @module
 */

import type { RateLimit } from "../protocol/mod.ts";
import { readAtMost } from "../support/read_at_most.ts";

function parse(data: unknown): Record<string, unknown> | undefined {
  if (typeof data !== "string") return undefined;
  try {
    return record(JSON.parse(data));
  } catch {
    return undefined;
  }
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value))
    : undefined;
}

/** The session a `session` event names, or undefined. */
export function sessionOf(data: unknown): string | undefined {
  const session = parse(data)?.session;
  return typeof session === "string" && session !== "" ? session : undefined;
}

/** The code and reason of the server's `event: close`, or undefined. */
export function closeOf(
  data: unknown,
): { code: number; reason: string } | undefined {
  const value = parse(data);
  const code = value?.code;
  if (typeof code !== "number" || !Number.isInteger(code)) return undefined;
  const reason = value?.reason;
  return { code, reason: typeof reason === "string" ? reason : "" };
}

/**
 * The limits a `welcome` frame announces (checked cheaply before parsing),
 * or undefined for another frame.
 */
export function welcomeLimits(
  data: string,
): { maxBytes?: number; rateLimit?: RateLimit } | undefined {
  if (!data.startsWith('{"type":"welcome"')) return undefined;
  const welcome = parse(data);
  const max = welcome?.maxMessageBytes;
  const rate = record(welcome?.rateLimit);
  const perSecond = rate?.perSecond;
  const burst = rate?.burst;
  return {
    ...(typeof max === "number" && max > 0 ? { maxBytes: max } : {}),
    ...(typeof perSecond === "number" && perSecond > 0 &&
        typeof burst === "number" && burst >= 1
      ? { rateLimit: { perSecond, burst } }
      : {}),
  };
}

/** Longest POST answer read for its `tokens`; a longer one reports none. */
const MAX_ANSWER_BYTES = 1024;

/**
 * The server's bucket a POST's answer reports (`{"applied","routed","tokens"}`:
 * its tokens right after the POST's frames were taken), or undefined when it
 * names none (an older server), not as a finite number ≥ 0, or the body is
 * longer than an answer (it is read no further).
 */
export async function answerTokens(
  response: Response,
): Promise<number | undefined> {
  const bytes = await readAtMost(response.body, MAX_ANSWER_BYTES);
  if (bytes === undefined) return undefined;
  const tokens = parse(new TextDecoder().decode(bytes))?.tokens;
  return typeof tokens === "number" && Number.isFinite(tokens) && tokens >= 0
    ? tokens
    : undefined;
}
