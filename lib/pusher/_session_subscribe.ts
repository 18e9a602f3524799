/**
 * A Pusher session's `pusher:subscribe` (internal): the request checked, the
 * channel limit applied, the hub connection chosen (the shared one, a
 * presence channel's own, the signed-in user's) and the channel joined.
 *
 * @module
 */

import type { Connection } from "../rooms/connection.ts";
import type { Json } from "../protocol/mod.ts";
import { checkSubscribe, joinChannel } from "./subscribe.ts";
import type { ChannelState, SessionOutput } from "./session_output.ts";
import type { SessionDeps } from "./session_deps.ts";
import type { HubSocket } from "./hub_socket.ts";

/** What {@linkcode subscribe} works on: one session's parts. */
export interface SubscribeParts {
  deps: SessionDeps;
  /** The session's `socket_id`. */
  socketId: string;
  /** The session's channels, by name. */
  channels: Map<string, ChannelState>;
  out: SessionOutput;
  /** The socket of every hub connection of the session. */
  hubSocket: HubSocket;
  /** The hub connection public and private channels share. */
  shared: Connection;
  /** The signed-in user and its hub connection, if any. */
  user(): { id: string; connection: Connection } | undefined;
  /** The next join's id (counts up). */
  nextJoin(): number;
  /** Whether the session is closed. */
  closed(): boolean;
  /** Leaves `channel` (as `pusher:unsubscribe`). */
  unsubscribe(channel: string): void;
}

/** Subscribes the session to the channel `data` asks for, or answers why not. */
export function subscribe(parts: SubscribeParts, data: Json | undefined): void {
  const { app, hub, limits, metrics } = parts.deps;
  const verdict = checkSubscribe(app, parts.socketId, data, parts.user()?.id);
  if (!verdict.ok) {
    metrics.inc("pusher_errors_total", 1, verdict.type);
    if (verdict.channel === undefined) {
      parts.out.error("bad_frame", null, verdict.error);
    } else {
      parts.out.subscriptionError(
        verdict.channel,
        verdict.type,
        verdict.error,
        verdict.status,
      );
    }
    return;
  }
  const { channel } = verdict;
  if (parts.channels.has(channel)) return; // already subscribed or subscribing
  if (parts.channels.size >= limits.maxRoomsPerConnection) {
    metrics.inc("pusher_errors_total", 1, "LimitReached");
    parts.out.subscriptionError(
      channel,
      "LimitReached",
      `At most ${limits.maxRoomsPerConnection} channels per connection`,
      403,
    );
    return;
  }
  const connection = verdict.kind === "presence"
    ? hub.connect(parts.hubSocket, { memberId: verdict.userId ?? "" })
    : verdict.kind === "user"
    ? parts.user()!.connection
    : parts.shared;
  const joinId = parts.nextJoin();
  const state: ChannelState = {
    kind: verdict.kind,
    room: verdict.room,
    connection,
    subscribed: false,
    joinId,
  };
  if (verdict.userId !== undefined) state.userId = verdict.userId;
  parts.channels.set(channel, state);
  joinChannel(hub, verdict, joinId, connection, {
    wanted: () => !parts.closed() && parts.channels.get(channel) === state,
    cache: (empty) => state.cache = { empty },
    failed: (error) => {
      parts.deps.log.error("Cache channel head failed", {
        channel,
        error: String(error),
      });
      parts.unsubscribe(channel);
      parts.out.subscriptionError(
        channel,
        "SubscriptionError",
        "History unavailable",
        500,
      );
    },
  });
}
