/**
 * HMAC-SHA256 in lower-case hex, the one signature primitive of the Pusher
 * protocol: channel auth strings, HTTP API request signing and webhook
 * bodies (`X-Pusher-Signature`). `node:crypto` because it is synchronous.
 *
 * @module
 */

import { createHmac } from "node:crypto";

/**
 * Hex HMAC-SHA256 of `text` under `secret`.
 *
 * @example Usage
 * ```ts
 * import { hmacHex } from "./hmac.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(hmacHex("secret", '{"time_ms":1,"events":[]}'), /^[0-9a-f]{64}$/);
 * ```
 */
export function hmacHex(secret: string, text: string): string {
  return createHmac("sha256", secret).update(text, "utf8").digest("hex");
}
