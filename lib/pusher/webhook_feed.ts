/**
 * Feeds the webhook system from the deployment-wide state this isolate
 * already keeps: subscription counts ({@linkcode ChannelCounts}: Pusher
 * subscriptions on every isolate and node) and presence (every member of
 * every room across nodes, native roomcast members included). A channel is
 * occupied while it has either; presence members are `member_added` /
 * `member_removed`; a channel's count is `subscription_count` (not on
 * presence channels, as with Pusher). Users' own channels
 * (`#server-to-user-`) fire nothing.
 *
 * @module
 */

import type { Hub, PresenceChange } from "../hub/hub.ts";
import type { Webhooks } from "../webhooks/webhooks.ts";
import type { ChannelCounts } from "./channel_counts.ts";
import {
  type PusherClientFrame,
  roomChannel,
  USER_ROOM_PREFIX,
} from "./wire.ts";

/** The `client_event` webhook fields of an accepted client event (`user_id` on presence channels). */
export function clientEventHook(
  channel: string,
  frame: PusherClientFrame,
  socketId: string,
  userId: string | undefined,
): Parameters<Webhooks["clientEvent"]>[1] {
  const hook = {
    channel,
    event: frame.event,
    // A string as the client sent it, anything else as JSON text.
    data: typeof frame.data === "string"
      ? frame.data
      : JSON.stringify(frame.data ?? null),
    "socket_id": socketId,
  };
  return userId === undefined ? hook : { ...hook, "user_id": userId };
}

/** Starts feeding `webhooks`; returns the function that stops it. */
export function feedWebhooks(
  hub: Hub,
  counts: ChannelCounts,
  webhooks: Webhooks,
): () => void {
  // Presence members per room, as every node sees them (bounded by the presence table).
  const members = new Map<string, Set<string>>();
  const occupancy = (room: string): void => {
    const occupied = counts.total(room) > 0 ||
      (members.get(room)?.size ?? 0) > 0;
    webhooks.occupancy(roomChannel(room), occupied);
  };
  const stopCounts = counts.observe((room) => {
    if (room.startsWith(USER_ROOM_PREFIX)) return;
    occupancy(room);
    if (!room.startsWith("presence-")) {
      webhooks.count(roomChannel(room), counts.total(room));
    }
  });
  const stopPresence = hub.onPresence((changes: readonly PresenceChange[]) => {
    for (const { room, event, member } of changes) {
      if (event === "update" || room.startsWith(USER_ROOM_PREFIX)) continue;
      let ids = members.get(room);
      if (event === "join") {
        if (ids === undefined) members.set(room, ids = new Set());
        ids.add(member.id);
      } else {
        ids?.delete(member.id);
        if (ids?.size === 0) members.delete(room);
      }
      webhooks.member(roomChannel(room), member.id, event === "join");
      occupancy(room);
    }
  });
  return () => {
    stopCounts();
    stopPresence();
  };
}
