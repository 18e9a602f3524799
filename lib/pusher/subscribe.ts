/**
 * Checks a `pusher:subscribe` request: the channel name, and for `private-`
 * and `presence-` channels the HMAC auth string (constant time) and the
 * presence `channel_data`. Pure: the session acts on the verdict.
 *
 * @module
 */

import { isJson, isRecord, jsonBytes } from "../protocol/mod.ts";
import { type Json, MAX_META_BYTES } from "../protocol/mod.ts";
import type { PusherApp } from "../support/pusher_apps.ts";
import { verifyChannelAuth } from "./signature.ts";
import type { Connection } from "../rooms/connection.ts";
import type { Hub } from "../hub/hub.ts";
import {
  CHANNEL_NAME_RULE,
  type ChannelKind,
  channelKind,
  channelRoom,
  isCacheChannel,
  MAX_USER_ID_LENGTH,
  USER_CHANNEL_PREFIX,
} from "./wire.ts";

export { MAX_USER_ID_LENGTH };

/** A subscription that may go ahead. */
export interface SubscribeGrant {
  ok: true;
  channel: string;
  /** The room the channel is (see {@linkcode channelRoom}). */
  room: string;
  kind: ChannelKind;
  /** Presence: the member's `user_id` (numbers become strings). */
  userId?: string;
  /** Presence: the member's `user_info` (null when absent). */
  userInfo?: Json;
}

/** A refused subscription, as `pusher:subscription_error` describes it. */
export interface SubscribeRefusal {
  ok: false;
  /** The channel, when the request named a string one. */
  channel?: string;
  /** `AuthError`, `InvalidChannel` or `InvalidRequest`. */
  type: string;
  error: string;
  /** HTTP-like status: 400 bad request, 401 bad signature. */
  status: number;
}

/**
 * Judges the `data` of a `pusher:subscribe` from `socketId`; `user` is the
 * signed-in user of the connection, the only one whose
 * `#server-to-user-<id>` it may subscribe to.
 */
export function checkSubscribe(
  app: PusherApp,
  socketId: string,
  data: Json | undefined,
  user?: string,
): SubscribeGrant | SubscribeRefusal {
  if (!isRecord(data) || typeof data.channel !== "string") {
    return refuse(
      undefined,
      "InvalidRequest",
      'pusher:subscribe needs data {"channel": <name>}',
      400,
    );
  }
  const { channel, auth } = data;
  const channelData = data["channel_data"];
  const room = channelRoom(channel);
  if (room === undefined) {
    return refuse(
      channel.slice(0, 200),
      "InvalidChannel",
      `Channel name must be ${CHANNEL_NAME_RULE}`,
      400,
    );
  }
  const kind = channelKind(channel);
  if (kind === "public") return { ok: true, channel, room, kind };
  if (kind === "user") {
    // pusher-js subscribes with `auth: ""` once signed in: the sign-in is the proof.
    return user !== undefined && channel === USER_CHANNEL_PREFIX + user
      ? { ok: true, channel, room, kind }
      : refuse(channel, "AuthError", "Sign in as this user first", 401);
  }
  if (typeof auth !== "string" || auth === "") {
    return refuse(channel, "AuthError", "Auth string required", 401);
  }
  if (kind !== "presence") {
    return verifyChannelAuth(auth, app.key, app.secret, socketId, channel)
      ? { ok: true, channel, room, kind }
      : refuse(channel, "AuthError", "Invalid signature", 401);
  }
  if (typeof channelData !== "string") {
    return refuse(channel, "AuthError", "channel_data required", 401);
  }
  if (
    !verifyChannelAuth(
      auth,
      app.key,
      app.secret,
      socketId,
      channel,
      channelData,
    )
  ) {
    return refuse(channel, "AuthError", "Invalid signature", 401);
  }
  // Signed by the app's backend, yet still checked: it becomes presence state.
  let member: unknown;
  try {
    member = JSON.parse(channelData);
  } catch {
    return refuse(channel, "InvalidRequest", "channel_data is not JSON", 400);
  }
  if (!isRecord(member)) {
    return refuse(
      channel,
      "InvalidRequest",
      "channel_data must be an object",
      400,
    );
  }
  const rawId = member["user_id"];
  const userId = typeof rawId === "number" && Number.isFinite(rawId)
    ? String(rawId)
    : rawId;
  if (
    typeof userId !== "string" || userId === "" ||
    userId.length > MAX_USER_ID_LENGTH
  ) {
    return refuse(
      channel,
      "InvalidRequest",
      `channel_data.user_id must be a string of 1-${MAX_USER_ID_LENGTH} characters`,
      400,
    );
  }
  const info = member["user_info"] ?? null;
  if (!isJson(info) || jsonBytes(info) > MAX_META_BYTES) {
    return refuse(
      channel,
      "InvalidRequest",
      `channel_data.user_info must be JSON of at most ${MAX_META_BYTES} bytes`,
      400,
    );
  }
  return { ok: true, channel, room, kind, userId, userInfo: info };
}

function refuse(
  channel: string | undefined,
  type: string,
  error: string,
  status: number,
): SubscribeRefusal {
  return channel === undefined
    ? { ok: false, type, error, status }
    : { ok: false, channel, type, error, status };
}

/**
 * The roomcast `join` for a granted subscription; `since` (a cache channel's
 * head − 1) replays the room's last message.
 */
export function joinFrame(
  grant: SubscribeGrant,
  id: number,
  since?: { offset: number; epoch: string },
): Record<string, Json> {
  const frame: Record<string, Json> = grant.kind === "presence"
    ? {
      type: "join",
      room: grant.room,
      id,
      presence: true,
      meta: grant.userInfo ?? null,
    }
    : { type: "join", room: grant.room, id };
  if (since !== undefined) frame.since = { ...since };
  return frame;
}

/** The channel named by `pusher:unsubscribe` data, if it names one. */
export function isChannelRequest(data: Json | undefined): string | undefined {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return undefined;
  }
  const channel = data.channel;
  return typeof channel === "string" ? channel : undefined;
}

/** What {@linkcode joinChannel} reports back to the session. */
export interface JoinHooks {
  /** Whether the subscription is still wanted (not left, not closed). */
  wanted(): boolean;
  /** A cache channel: whether the room has no event to replay. */
  cache(empty: boolean): void;
  /** The log's head could not be read. */
  failed(error: unknown): void;
}

/**
 * Sends the hub the `join` of a granted subscription on `connection`. A
 * cache channel first reads the room's head and joins from head − 1, so the
 * log replays the last event (on any isolate or node: the log is shared).
 */
export function joinChannel(
  hub: Hub,
  grant: SubscribeGrant,
  joinId: number,
  connection: Connection,
  hooks: JoinHooks,
): void {
  if (!isCacheChannel(grant.channel)) {
    hub.receive(connection, JSON.stringify(joinFrame(grant, joinId)));
    return;
  }
  hub.head(grant.room).then((head) => {
    if (!hooks.wanted()) return;
    hooks.cache(head.offset === 0);
    const since = head.offset === 0
      ? undefined
      : { offset: head.offset - 1, epoch: head.epoch };
    hub.receive(connection, JSON.stringify(joinFrame(grant, joinId, since)));
  }, (error) => {
    if (hooks.wanted()) hooks.failed(error);
  });
}
