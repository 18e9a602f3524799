/**
 * Checks the signature of a Pusher HTTP API request: `auth_key` is the
 * app's, `auth_timestamp` within 600 s of now, `auth_version` 1.0,
 * `body_md5` the body's MD5 when there is a body, and `auth_signature` the
 * HMAC-SHA256 of the string to sign (compared in constant time).
 *
 * @module
 */

import type { PusherApp } from "../support/pusher_apps.ts";
import { apiStringToSign, hmacHex, md5Hex, safeEqual } from "./signature.ts";

/** How far `auth_timestamp` may be from the server's clock, in seconds. */
export const MAX_CLOCK_SKEW_S = 600;

/** Why a request is refused (401), or undefined when it is signed right. */
export function requestAuthError(
  app: PusherApp,
  method: string,
  path: string,
  params: URLSearchParams,
  body: Uint8Array,
  nowMs: number,
): string | undefined {
  const key = params.get("auth_key");
  const timestamp = params.get("auth_timestamp");
  const version = params.get("auth_version");
  const signature = params.get("auth_signature");
  if (key === null || timestamp === null || signature === null) {
    return "Missing auth_key, auth_timestamp or auth_signature";
  }
  if (!safeEqual(key, app.key)) return "Unknown auth_key";
  if (version !== null && version !== "1.0") {
    return "Unsupported auth_version: expected 1.0";
  }
  const seconds = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : NaN;
  if (
    !Number.isFinite(seconds) ||
    Math.abs(nowMs / 1000 - seconds) > MAX_CLOCK_SKEW_S
  ) {
    return `Timestamp expired: auth_timestamp must be within ${MAX_CLOCK_SKEW_S} s of the server's time`;
  }
  if (body.length > 0) {
    const md5 = params.get("body_md5");
    if (md5 === null || !safeEqual(md5, md5Hex(body))) {
      return "body_md5 does not match the body";
    }
  }
  const expected = hmacHex(
    app.secret,
    apiStringToSign(method, path, params.entries()),
  );
  return safeEqual(signature, expected) ? undefined : "Invalid signature";
}
