/**
 * Webhook request signing: `X-Pusher-Signature` is the HMAC-SHA256 of the
 * raw body with the app secret, in lower-case hex (what the `pusher` SDK's
 * `webhook().isValid()` checks).
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * The hex HMAC-SHA256 of `body` under `secret`.
 *
 * @example Usage
 * ```ts
 * import { signBody } from "./signing.ts";
 * import assert from "node:assert/strict";
 *
 * const signature = await signBody("secret", '{"time_ms":1,"events":[]}');
 * assert.match(signature, /^[0-9a-f]{64}$/);
 * ```
 */
export async function signBody(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(body));
  return Array.from(
    new Uint8Array(mac),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
}

/** The headers of a webhook request for the app with `key`. */
export async function webhookHeaders(
  key: string,
  secret: string,
  body: string,
): Promise<Record<string, string>> {
  return {
    "content-type": "application/json",
    "x-pusher-key": key,
    "x-pusher-signature": await signBody(secret, body),
  };
}
