/**
 * JSON error responses for the HTTP edge: `{error: {code, message}}` with a
 * stable `code`, so API clients can branch on it.
 *
 * @module
 */

/**
 * Builds a JSON error response.
 *
 * @example Usage
 * ```ts
 * import { jsonError } from "./http_error.ts";
 * import assert from "node:assert/strict";
 *
 * const res = jsonError(426, "upgrade_required", "Use a WebSocket");
 * assert.equal(res.status, 426);
 * assert.equal((await res.json()).error.code, "upgrade_required");
 * ```
 */
export function jsonError(
  status: number,
  code: string,
  message: string,
  headers: HeadersInit = {},
): Response {
  return Response.json({ error: { code, message } }, { status, headers });
}
