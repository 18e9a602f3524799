/**
 * What isolates tell each other about the HTTP fallback transport's POSTs
 * (docs/protocol.md "Fallback transport"): a POST that reached an isolate
 * other than the one holding its session's stream travels there as an
 * `sse-post` bus event, and the holder answers with an `sse-reply` once the
 * commands were applied. Both are validated like every bus event.
 *
 * @module
 */

import { isRecord } from "./json.ts";

/** Most characters of commands one routed POST may carry (the sender enforces `MAX_MESSAGE_BYTES`). */
export const MAX_ROUTED_CHARS = 4 * 1024 * 1024;

/** Longest session id (`<node>.<random>`). */
export const MAX_SESSION_ID_LENGTH = 96;

/** A POST routed to the isolate holding its session. */
export interface SsePostRequest {
  /** The isolate that holds the session (the node part of its id). */
  to: string;
  /** The isolate that received the POST and waits for the reply. */
  from: string;
  /** Request number on `from`, echoed in the reply. */
  id: number;
  /** The session id. */
  session: string;
  /** Who sent it (see `principalOf` in lib/sse): must be the session's. */
  principal: string;
  /** The client frames, in order, each one JSON envelope. */
  frames: string[];
}

/** The holder's answer to an {@linkcode SsePostRequest}. */
export interface SsePostReply {
  /** The isolate that routed the POST. */
  to: string;
  /** The request's `id`. */
  id: number;
  /** The HTTP status to answer with (200 when applied). */
  status: number;
  /** `ok`, or the error code (`unknown_session`, `forbidden_session`, …). */
  code: string;
  /** The error message ("" when applied). */
  message: string;
  /** Frames handed to the hub. */
  applied: number;
  /** When applied: the tokens left in the connection's bucket (see lib/sse). */
  tokens?: number;
}

const safeId = (v: unknown): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const shortText = (v: unknown, max: number): v is string =>
  typeof v === "string" && v.length <= max;

/** Validates the fields of an `sse-post` event; returns it, or what is wrong. */
export function parseSsePost(value: unknown): SsePostRequest | string {
  if (!isRecord(value)) return "bad sse-post event";
  const { to, from, id, session, principal, frames } = value;
  if (
    !shortText(to, 128) || !shortText(from, 128) || !safeId(id) ||
    !shortText(session, MAX_SESSION_ID_LENGTH) || !shortText(principal, 160) ||
    !Array.isArray(frames)
  ) {
    return "bad sse-post event";
  }
  const out: string[] = [];
  let chars = 0;
  for (const frame of frames) {
    if (typeof frame !== "string") return "bad sse-post frame";
    chars += frame.length;
    if (chars > MAX_ROUTED_CHARS) return "sse-post too large";
    out.push(frame);
  }
  return { to, from, id, session, principal, frames: out };
}

/** Validates the fields of an `sse-reply` event; returns it, or what is wrong. */
export function parseSseReply(value: unknown): SsePostReply | string {
  if (!isRecord(value)) return "bad sse-reply event";
  const { to, id, status, code, message, applied, tokens } = value;
  if (
    !shortText(to, 128) || !safeId(id) || !safeId(status) ||
    status < 100 || status > 599 || !shortText(code, 64) ||
    !shortText(message, 512) || !safeId(applied)
  ) {
    return "bad sse-reply event";
  }
  const reply = { to, id, status, code, message, applied };
  if (tokens === undefined) return reply;
  return typeof tokens === "number" && Number.isFinite(tokens) && tokens >= 0
    ? { ...reply, tokens }
    : "bad sse-reply event";
}
