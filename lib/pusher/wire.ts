/**
 * The Pusher Channels wire format, protocol 7: JSON text frames
 * `{event, channel?, data?}` whose server-side `data` is a JSON string
 * (double-encoded). Parses client frames without casts, encodes server
 * frames, and maps a Pusher event to the `data` of a roomcast message and
 * back (see `docs/pusher.md`).
 *
 * @module
 */

import { isJson, isRecord, isValidRoomName } from "../protocol/mod.ts";
import type { Json } from "../protocol/mod.ts";

/** The Pusher protocol version this server speaks. */
export const PUSHER_PROTOCOL = 7;

/** Longest event name (characters), as Pusher documents. */
export const MAX_EVENT_NAME_LENGTH = 200;

/** The event a roomcast message that is not shaped as a Pusher event arrives as. */
export const ROOMCAST_EVENT = "roomcast:message";

/** A frame from a Pusher client. */
export interface PusherClientFrame {
  event: string;
  channel?: string;
  /** Whatever the client sent as `data` (an object for `pusher:*`, any JSON for client events). */
  data?: Json;
}

/** A Pusher event as it travels in a roomcast message's `data`. */
export interface PusherEvent {
  event: string;
  /** The value pusher-js would hand to the app: the data string parsed when it is JSON. */
  data: Json;
  /** On presence channels, the sender of a client event. */
  "user_id"?: string;
}

/** Parses one client frame; a string explains what is wrong with it. */
export function parseClientFrame(text: string): PusherClientFrame | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "Invalid JSON";
  }
  if (!isRecord(value)) return "Frame is not a JSON object";
  const { event, channel, data } = value;
  if (typeof event !== "string" || event === "") {
    return 'Field "event" must be a non-empty string';
  }
  if (channel !== undefined && typeof channel !== "string") {
    return 'Field "channel" must be a string';
  }
  if (data !== undefined && !isJson(data)) return 'Field "data" is not JSON';
  const frame: PusherClientFrame = { event };
  if (channel !== undefined) frame.channel = channel;
  if (data !== undefined) frame.data = data;
  return frame;
}

/** Encodes a server frame; `data` is JSON-encoded into a string unless it is one. */
export function encodeFrame(
  event: string,
  data: Json | undefined,
  channel?: string,
  userId?: string,
): string {
  const frame: Record<string, Json> = { event };
  if (channel !== undefined) frame.channel = channel;
  if (data !== undefined) {
    frame.data = typeof data === "string" ? data : JSON.stringify(data);
  }
  if (userId !== undefined) frame["user_id"] = userId;
  return JSON.stringify(frame);
}

/**
 * The value pusher-js hands to an app for the wire `data` string: parsed when
 * it is JSON, else the string itself. Non-string data (a client event sent
 * as an object) is already that value.
 */
export function dataValue(data: Json): Json {
  if (typeof data !== "string" || !mayBeJson(data)) return data;
  try {
    const parsed: unknown = JSON.parse(data);
    return isJson(parsed) ? parsed : data;
  } catch {
    return data;
  }
}

/**
 * The wire `data` string for a value, so that pusher-js hands the app that
 * value again: a string that is not JSON goes as it is, anything else as its
 * JSON text (`dataString(dataValue(s))` parses to what `s` parses to).
 *
 * @example Usage
 * ```ts
 * import { dataString, dataValue } from "./wire.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(dataString(dataValue('{"a":1}')), '{"a":1}');
 * assert.equal(dataString(dataValue("hello")), "hello");
 * assert.equal(dataString(dataValue('"123"')), '"123"');
 * ```
 */
export function dataString(value: Json): string {
  if (typeof value === "string") {
    if (!mayBeJson(value)) return value;
    try {
      JSON.parse(value);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value);
}

/**
 * Whether `text` can be JSON at all: its first non-blank character starts a
 * JSON value. A string that cannot be JSON (plain text `data`) skips
 * `JSON.parse`, whose thrown `SyntaxError` costs tens of µs per publish.
 */
function mayBeJson(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Blanks JSON allows before a value: space, tab, line feed, return.
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    // { [ " - 0-9 t(rue) f(alse) n(ull)
    return c === 0x7b || c === 0x5b || c === 0x22 || c === 0x2d ||
      (c >= 0x30 && c <= 0x39) || c === 0x74 || c === 0x66 || c === 0x6e;
  }
  return false;
}

/** The roomcast message `data` for a Pusher event. */
export function toRoomcast(
  event: string,
  data: Json,
  userId?: string,
): Json {
  const value: Record<string, Json> = { event, data: dataValue(data) };
  if (userId !== undefined) value["user_id"] = userId;
  return value;
}

/** Whether `name` may be delivered as an event (not a reserved `pusher:` name). */
export function isDeliverableEvent(name: string): boolean {
  return name.length > 0 && name.length <= MAX_EVENT_NAME_LENGTH &&
    !name.startsWith("pusher:") && !name.startsWith("pusher_internal:");
}

/**
 * The Pusher event for a roomcast message's `data`: `{event, data, user_id?}`
 * (nothing else) is that event; any other value, or a reserved `pusher:`
 * name, arrives as {@linkcode ROOMCAST_EVENT} carrying the whole value.
 */
export function fromRoomcast(data: Json): PusherEvent {
  if (isRecord(data) && typeof data.event === "string" && "data" in data) {
    const { event, user_id: userId } = data;
    const keys = Object.keys(data);
    const extra = keys.some((k) =>
      k !== "event" && k !== "data" && k !== "user_id"
    );
    const inner = data.data;
    if (
      !extra && isDeliverableEvent(event) && inner !== undefined &&
      (userId === undefined || typeof userId === "string")
    ) {
      return userId === undefined
        ? { event, data: inner }
        : { event, data: inner, user_id: userId };
    }
  }
  return { event: ROOMCAST_EVENT, data };
}

/** Channel kinds by prefix; `user` is a signed-in user's `#server-to-user-<id>`. */
export type ChannelKind =
  | "public"
  | "private"
  | "encrypted"
  | "presence"
  | "user";

/** The kind of `channel` (`private-encrypted-` before `private-`). */
export function channelKind(channel: string): ChannelKind {
  if (channel.startsWith(USER_CHANNEL_PREFIX)) return "user";
  if (channel.startsWith("presence-")) return "presence";
  if (channel.startsWith("private-encrypted-")) return "encrypted";
  if (channel.startsWith("private-")) return "private";
  return "public";
}

/** Whether `channel` is a cache channel (`cache-`, `private-cache-`, …). */
export function isCacheChannel(channel: string): boolean {
  return /^(?:private-encrypted-|private-|presence-)?cache-/.test(channel);
}

/** The channel a signed-in user's `sendToUser` events arrive on: `#server-to-user-<id>`. */
export const USER_CHANNEL_PREFIX = "#server-to-user-";

/**
 * The room a user channel is: `#` is not a room character and `:` is not a
 * Pusher one, so no Pusher channel name reaches this room.
 */
export const USER_ROOM_PREFIX = "server-to-user:";

/** Longest signed-in or presence `user_id` (characters). */
export const MAX_USER_ID_LENGTH = 128;

const USER_ID = /^[A-Za-z0-9_.:@=,;-]{1,128}$/;

/** Whether `id` may be a signed-in user (it names the user's room): room characters, 1–128. */
export function isValidUserId(id: unknown): id is string {
  return typeof id === "string" && USER_ID.test(id);
}

/**
 * The room of a Pusher channel, or undefined when the name is not a valid
 * channel: a room name not in the user rooms' namespace, or a user channel
 * with a valid user id.
 *
 * @example Usage
 * ```ts
 * import { channelRoom } from "./wire.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(channelRoom("news"), "news");
 * assert.equal(channelRoom("#server-to-user-alice"), "server-to-user:alice");
 * assert.equal(channelRoom("server-to-user:alice"), undefined);
 * assert.equal(channelRoom("no spaces"), undefined);
 * ```
 */
export function channelRoom(channel: unknown): string | undefined {
  if (typeof channel !== "string") return undefined;
  if (channel.startsWith(USER_CHANNEL_PREFIX)) {
    const id = channel.slice(USER_CHANNEL_PREFIX.length);
    return isValidUserId(id) ? USER_ROOM_PREFIX + id : undefined;
  }
  return isValidRoomName(channel) && !channel.startsWith(USER_ROOM_PREFIX)
    ? channel
    : undefined;
}

/** The Pusher channel of a room (the inverse of {@linkcode channelRoom}). */
export function roomChannel(room: string): string {
  return room.startsWith(USER_ROOM_PREFIX)
    ? USER_CHANNEL_PREFIX + room.slice(USER_ROOM_PREFIX.length)
    : room;
}

/** The channel name rule, as error messages state it. */
export const CHANNEL_NAME_RULE =
  "1-200 characters of [A-Za-z0-9_.:@=,;-], or #server-to-user-<id>";
