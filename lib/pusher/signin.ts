/**
 * Checks a `pusher:signin {auth, user_data}`: the HMAC over
 * `socket_id::user::<user_data>` (constant time) and the user data, whose
 * `id` becomes the connection's user (the target of `sendToUser` and of
 * `terminate_connections`). Pure: the session acts on the verdict.
 *
 * @module
 */

import { isRecord, type Json } from "../protocol/mod.ts";
import type { PusherApp } from "../support/pusher_apps.ts";
import { safeEqual, signinAuth } from "./signature.ts";
import { isValidUserId, MAX_USER_ID_LENGTH } from "./wire.ts";

/** A sign-in that may go ahead. */
export interface SigninGrant {
  ok: true;
  /** The user's `id`. */
  userId: string;
  /** The signed `user_data` string, echoed in `pusher:signin_success`. */
  userData: string;
}

/** A refused sign-in: `pusher:error` with `code`, then (for 4009) a close. */
export interface SigninRefusal {
  ok: false;
  /** 4009 for a bad signature (the connection is closed), null for a malformed request. */
  code: number | null;
  message: string;
}

/** Pusher's code for an unauthorized connection. */
const UNAUTHORIZED = 4009;

/** Judges the `data` of a `pusher:signin` from `socketId`. */
export function checkSignin(
  app: PusherApp,
  socketId: string,
  data: Json | undefined,
): SigninGrant | SigninRefusal {
  if (
    !isRecord(data) || typeof data.auth !== "string" ||
    typeof data["user_data"] !== "string"
  ) {
    return {
      ok: false,
      code: null,
      message:
        'pusher:signin needs data {"auth": <string>, "user_data": <string>}',
    };
  }
  const userData = data["user_data"];
  if (
    !safeEqual(data.auth, signinAuth(app.key, app.secret, socketId, userData))
  ) {
    return { ok: false, code: UNAUTHORIZED, message: "Invalid signature" };
  }
  let user: unknown;
  try {
    user = JSON.parse(userData);
  } catch {
    return { ok: false, code: null, message: "user_data is not JSON" };
  }
  if (!isRecord(user) || !isValidUserId(user.id)) {
    return {
      ok: false,
      code: null,
      message:
        `user_data.id must be 1-${MAX_USER_ID_LENGTH} characters of [A-Za-z0-9_.:@=,;-]`,
    };
  }
  return { ok: true, userId: user.id, userData };
}
