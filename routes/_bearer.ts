/**
 * `Authorization: Bearer <key>` checks for the HTTP API and `/metrics`. The
 * presented key and the configured one are both run through HMAC-SHA-256
 * under a random per-process key and the fixed-size digests compared without
 * an early exit, so the time taken says nothing about how much of the key
 * matched, nor about its length.
 *
 * @module
 */

import { jsonError } from "../lib/support/http_error.ts";

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
