/**
 * Room and member names (internal): the longest room name, the rule as error
 * messages state it, and the checks of both. `messages.ts` re-exports them.
 *
 * @module
 */

/** Longest room name (characters): Pusher's channel name limit. */
export const MAX_ROOM_LENGTH = 200;

/** The room name rule, as error messages state it. */
export const ROOM_NAME_RULE = "1-200 characters of [A-Za-z0-9_.:@=,;-]";

/**
 * Room names: roomcast's characters plus Pusher's channel characters
 * (`=`, `,`, `;`), so every Pusher channel is a room of the same name.
 */
const ROOM_PATTERN = /^[A-Za-z0-9_.:@=,;-]{1,200}$/;

/** Member (user) names from `?user=`: 1–128 characters of `[A-Za-z0-9_.:@-]`. */
const USER_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

/**
 * Whether `name` is a valid room name: 1–200 characters of
 * `[A-Za-z0-9_.:@=,;-]` (a Pusher channel name is one).
 *
 * @example Usage
 * ```ts
 * import { isValidRoomName } from "./messages.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isValidRoomName("lobby:42"), true);
 * assert.equal(isValidRoomName("presence-team=1,a;b"), true);
 * assert.equal(isValidRoomName("no spaces"), false);
 * ```
 */
export function isValidRoomName(name: unknown): name is string {
  return typeof name === "string" && ROOM_PATTERN.test(name);
}

/**
 * Whether `name` is a valid `?user=` member name: 1–128 characters of
 * `[A-Za-z0-9_.:@-]` (the room rule before it took Pusher's characters).
 */
export function isValidUserName(name: unknown): name is string {
  return typeof name === "string" && USER_PATTERN.test(name);
}
