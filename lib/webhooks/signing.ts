/**
 * Webhook request signing: `X-Pusher-Signature` is the HMAC-SHA256 of the
 * raw body with the app secret, in lower-case hex (what the `pusher` SDK's
 * `webhook().isValid()` checks).
 *
 * @module
 */

import { hmacHex } from "../support/hmac.ts";

/**
 * The headers of a webhook request for the app with `key`.
 *
 * @example Usage
 * ```ts
 * import { webhookHeaders } from "./signing.ts";
 * import assert from "node:assert/strict";
 *
 * const headers = webhookHeaders("key", "secret", '{"time_ms":1,"events":[]}');
 * assert.match(headers["x-pusher-signature"]!, /^[0-9a-f]{64}$/);
 * ```
 */
export function webhookHeaders(
  key: string,
  secret: string,
  body: string,
): Record<string, string> {
  return {
    "content-type": "application/json",
    "x-pusher-key": key,
    "x-pusher-signature": hmacHex(secret, body),
  };
}
