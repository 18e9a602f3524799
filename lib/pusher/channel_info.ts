/**
 * Channel attributes for the HTTP API (`GET /apps/:id/channels`,
 * `GET /apps/:id/channels/:name`, `info` on `POST /events`):
 * `subscription_count` is the Pusher subscriptions on every isolate and node
 * ({@linkcode ChannelCounts}), `user_count` the distinct presence members
 * across nodes (roomcast members of the room included), asked for on
 * presence channels only. A channel is occupied when it has either.
 *
 * @module
 */

import type { Json } from "../protocol/mod.ts";
import type { RoomSummary } from "../hub/hub.ts";
import type { ChannelCounts } from "./channel_counts.ts";
import { channelRoom, roomChannel } from "./wire.ts";

/** An attribute the `info` parameter may ask for. */
export type InfoAttribute = "user_count" | "subscription_count";

/** A refusal: HTTP 400 and why. */
export interface InfoRefusal {
  status: 400;
  error: string;
}

/** Reads `info` (comma-separated attributes); undefined or empty asks for none. */
export function parseInfo(
  raw: unknown,
): InfoAttribute[] | InfoRefusal {
  if (raw === undefined || raw === null || raw === "") return [];
  if (typeof raw !== "string" || raw.length > 100) {
    return { status: 400, error: '"info" must be a comma-separated string' };
  }
  const out: InfoAttribute[] = [];
  for (const part of raw.split(",")) {
    const name = part.trim();
    if (name !== "user_count" && name !== "subscription_count") {
      return {
        status: 400,
        error: `Unknown info attribute "${
          name.slice(0, 32)
        }"; use user_count, subscription_count`,
      };
    }
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** The attributes of one channel: `users` is its presence member count. */
export function channelAttributes(
  channel: string,
  info: readonly InfoAttribute[],
  counts: ChannelCounts,
  users: number,
): Record<string, Json> {
  const out: Record<string, Json> = {};
  const room = channelRoom(channel) ?? channel;
  if (info.includes("user_count") && channel.startsWith("presence-")) {
    out["user_count"] = users;
  }
  if (info.includes("subscription_count")) {
    out["subscription_count"] = counts.total(room);
  }
  return out;
}

/**
 * The `channels` object of `GET /apps/:id/channels`: occupied channels
 * whose name starts with `prefix`, each with the asked attributes. `rooms`
 * is {@linkcode Hub.roomList} (presence across isolates).
 */
export function listChannels(
  prefix: string,
  info: readonly InfoAttribute[],
  counts: ChannelCounts,
  rooms: readonly RoomSummary[],
): Record<string, Json> {
  const users = new Map<string, number>();
  for (const { room, members } of rooms) {
    if (members > 0) users.set(room, members);
  }
  const names = new Set<string>(users.keys());
  for (const room of counts.rooms()) {
    if (counts.total(room) > 0) names.add(room);
  }
  const out: Record<string, Json> = {};
  for (const room of [...names].sort()) {
    const channel = roomChannel(room);
    // Only rooms that are Pusher channels, and not users' own channels.
    if (channel !== room || channelRoom(channel) !== room) continue;
    if (!channel.startsWith(prefix)) continue;
    out[channel] = channelAttributes(
      channel,
      info,
      counts,
      users.get(room) ?? 0,
    );
  }
  return out;
}
