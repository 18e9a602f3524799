/**
 * Pusher signatures: the HMAC-SHA256 auth strings of private, presence and
 * sign-in requests, and the request signing of the HTTP API (sorted query
 * parameters, `body_md5`). Every comparison runs in constant time. MD5 is not
 * in Web Crypto, so `node:crypto` provides the hashes (Deno supports it).
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { hmacHex } from "../support/hmac.ts";

export { hmacHex };

/** Hex MD5 of `body` (the HTTP API's `body_md5`). */
export function md5Hex(body: string | Uint8Array): string {
  return createHash("md5").update(body).digest("hex");
}

/** Whether two strings are equal, in time that depends only on their lengths. */
export function safeEqual(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  if (left.length !== right.length) {
    // Still compare something of the same size so the work does not vanish.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/**
 * The string a channel auth signs: `socket_id:channel`, plus
 * `:channel_data` for presence channels.
 */
export function channelAuthString(
  socketId: string,
  channel: string,
  channelData?: string,
): string {
  return channelData === undefined
    ? `${socketId}:${channel}`
    : `${socketId}:${channel}:${channelData}`;
}

/**
 * The `auth` value of a channel subscription: `<key>:<hex signature>`.
 *
 * @example Pusher's documented private channel vector
 * ```ts
 * import { channelAuth } from "./signature.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   channelAuth("278d425bdf160c739803", "7ad3773142a6692b25b8", "1234.1234", "private-foobar"),
 *   "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
 * );
 * ```
 */
export function channelAuth(
  key: string,
  secret: string,
  socketId: string,
  channel: string,
  channelData?: string,
): string {
  return `${key}:${
    hmacHex(secret, channelAuthString(socketId, channel, channelData))
  }`;
}

/** Whether `auth` is the right `<key>:<signature>` for this subscription (constant time). */
export function verifyChannelAuth(
  auth: string,
  key: string,
  secret: string,
  socketId: string,
  channel: string,
  channelData?: string,
): boolean {
  return safeEqual(
    auth,
    channelAuth(key, secret, socketId, channel, channelData),
  );
}

/** The `auth` of a `pusher:signin`: signs `socket_id::user::user_data`. */
export function signinAuth(
  key: string,
  secret: string,
  socketId: string,
  userData: string,
): string {
  return `${key}:${hmacHex(secret, `${socketId}::user::${userData}`)}`;
}

/**
 * The string the HTTP API signs: `METHOD\npath\n` and the query parameters
 * except `auth_signature`, sorted by lower-cased name, as `k=v` joined by
 * `&`, not URL-escaped.
 *
 * @example Pusher's documented request vector
 * ```ts
 * import { apiStringToSign, hmacHex } from "./signature.ts";
 * import assert from "node:assert/strict";
 *
 * const text = apiStringToSign("POST", "/apps/3/events", [
 *   ["auth_key", "278d425bdf160c739803"],
 *   ["auth_timestamp", "1353088179"],
 *   ["auth_version", "1.0"],
 *   ["body_md5", "ec365a775a4cd0599faeb73354201b6f"],
 * ]);
 * assert.equal(
 *   hmacHex("7ad3773142a6692b25b8", text),
 *   "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c",
 * );
 * ```
 */
export function apiStringToSign(
  method: string,
  path: string,
  params: Iterable<[string, string]>,
): string {
  const sorted = [...params]
    .filter(([name]) => name !== "auth_signature")
    .map(([name, value]): [string, string] => [name.toLowerCase(), value])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const query = sorted.map(([name, value]) => `${name}=${value}`).join("&");
  return `${method.toUpperCase()}\n${path}\n${query}`;
}
