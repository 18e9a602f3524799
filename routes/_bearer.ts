/**
 * `Authorization: Bearer <key>` checks for the HTTP API and `/metrics`. The
 * presented key and the configured one are both run through HMAC-SHA-256
 * under a random per-process key and the fixed-size digests compared without
 * an early exit, so the time taken says nothing about how much of the key
 * matched, nor about its length.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { jsonError } from "../lib/support/http_error.ts";
import type { Metrics } from "../lib/support/metrics.ts";
import type { RefusalLog } from "../lib/support/refusal_log.ts";
import { remoteIp } from "./_remote_ip.ts";

const encoder = new TextEncoder();

/** What a request's `Authorization` header proved. */
export type BearerResult = "ok" | "missing" | "invalid";

/** Checks an `Authorization` header value against one configured key. */
export type BearerCheck = (
  authorization: string | null | undefined,
) => Promise<BearerResult>;

/**
 * Returns a checker for `secret` (which must not be empty).
 *
 * @example Usage
 * ```ts
 * import { bearerCheck } from "./_bearer.ts";
 * import assert from "node:assert/strict";
 *
 * const check = bearerCheck("s3cret");
 * assert.equal(await check("Bearer s3cret"), "ok");
 * assert.equal(await check("Bearer nope"), "invalid");
 * assert.equal(await check(null), "missing");
 * ```
 */
export function bearerCheck(secret: string): BearerCheck {
  if (secret === "") throw new RangeError("Cannot check an empty bearer key");
  const ready = (async () => {
    const key = await crypto.subtle.importKey(
      "raw",
      crypto.getRandomValues(new Uint8Array(32)),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const expected = await digest(key, secret);
    return { key, expected };
  })();
  return async (authorization) => {
    const presented = parseBearer(authorization);
    if (presented === undefined) return "missing";
    const { key, expected } = await ready;
    return constantTimeEqual(await digest(key, presented), expected)
      ? "ok"
      : "invalid";
  };
}

/**
 * The token of an `Authorization: Bearer <token>` header (scheme
 * case-insensitive), or undefined when there is none.
 */
export function parseBearer(
  authorization: string | null | undefined,
): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? "");
  return match?.[1];
}

/** The 401 answer: JSON error plus `WWW-Authenticate` (RFC 6750 §3). */
export function unauthorized(result: "missing" | "invalid"): Response {
  return result === "missing"
    ? jsonError(
      401,
      "unauthorized",
      "Send the key as Authorization: Bearer <key>",
      { "www-authenticate": 'Bearer realm="roomcast"' },
    )
    : jsonError(401, "unauthorized", "Invalid key", {
      "www-authenticate": 'Bearer realm="roomcast", error="invalid_token"',
    });
}

/**
 * Whether two byte arrays are equal, in time that depends only on their
 * lengths (here always 32 bytes), never on where they first differ.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

async function digest(key: CryptoKey, text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.sign("HMAC", key, encoder.encode(text)),
  );
}

/** Options for {@linkcode bearerGuard}. */
export interface BearerGuardOptions {
  /** The key requests must present; empty disables the routes (404). */
  key: string;
  /** The 404 answer while disabled: error code and message. */
  disabled: { code: string; message: string };
  /** Counts refusals by reason (`missing`, `invalid`). */
  metrics: Metrics;
  /** The counter refusals go to. */
  metric: "api_refused_total" | "metrics_refused_total";
  /** Logs refusals, aggregated per cause and rate limited. */
  refusals: RefusalLog;
  /** Cause prefix and log message, e.g. `api` and "API request refused". */
  cause: string;
  /** The log line's message. */
  message: string;
}

/**
 * Middleware that lets a request through only with `Authorization: Bearer
 * <key>`: 404 while no key is configured, 401 (with `WWW-Authenticate`)
 * for a missing or wrong one, each counted and logged once per cause.
 */
export function bearerGuard(options: BearerGuardOptions): MiddlewareHandler {
  const check = options.key === "" ? undefined : bearerCheck(options.key);
  return async function bearerGuard(c, next) {
    if (check === undefined) {
      const { code, message } = options.disabled;
      return jsonError(404, code, message);
    }
    const result = await check(c.req.header("authorization"));
    if (result !== "ok") {
      options.metrics.inc(options.metric, 1, result);
      options.refusals.refuse(
        "warn",
        `${options.cause}:${result}`,
        options.message,
        {
          reason: result,
          method: c.req.method,
          path: c.req.path.slice(0, 200),
          ip: remoteIp(c),
        },
      );
      return unauthorized(result);
    }
    return await next();
  };
}
