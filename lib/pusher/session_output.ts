/**
 * The hub-output half of a Pusher session: what the hub sends the session's
 * connections becomes Pusher frames on the one socket (messages not echoed
 * to their sender, presence only once subscribed, `joined` as
 * `subscription_succeeded` plus a cache channel's `pusher:cache_miss`, hub
 * errors as `subscription_error`), and the socket's send and error helpers.
 *
 * @module
 */

import { CLOSE_CODE } from "../protocol/mod.ts";
import type { Connection, SocketLike } from "../rooms/connection.ts";
import type { Metrics } from "../support/metrics.ts";
import type { PresenceMember } from "../protocol/mod.ts";
import type { PusherApp } from "../support/pusher_apps.ts";
import type { ChannelCounts, CountSink } from "./channel_counts.ts";
import { type HubOutput, subscriptionData } from "./translate.ts";
import { type ChannelKind, encodeFrame } from "./wire.ts";
import type { SessionWebhooks } from "./session_deps.ts";

/** One channel of a session. */
export interface ChannelState {
  kind: ChannelKind;
  /** The room the channel is. */
  room: string;
  /** The hub connection that is the member: the shared one, a presence member's or the user's. */
  connection: Connection;
  /** `subscription_succeeded` was sent. */
  subscribed: boolean;
  /** The join's id, echoed as `ref` by a hub error about it. */
  joinId: number;
  userId?: string;
  /** A cache channel: whether the room had nothing to replay (`pusher:cache_miss`). */
  cache?: { empty: boolean };
}

/** What the output half needs of its session. */
export interface OutputDeps {
  socket: SocketLike;
  socketId: string;
  app: PusherApp;
  metrics: Metrics;
  counts: ChannelCounts;
  /** The session's channels (shared with the client-frame half). */
  channels: Map<string, ChannelState>;
  /** The session as a subscriber that counts. */
  sink: CountSink;
  /** Leaves a channel (hub side and counts). */
  unsubscribe(channel: string): void;
  /** Closes the socket with a Pusher code. */
  close(code: number, reason: string): void;
  /** Whether the session has closed. */
  closed(): boolean;
  /** Where `cache_miss` goes, when the app has webhooks. */
  webhooks?: SessionWebhooks;
}

/** Sends to the socket, and turns hub output into Pusher frames. */
export class SessionOutput {
  readonly #deps: OutputDeps;

  /** Works on the session's state. */
  constructor(deps: OutputDeps) {
    this.#deps = deps;
  }

  /** Handles one translated hub frame. */
  fromHub(out: HubOutput): void {
    const { channels, socketId, metrics } = this.#deps;
    switch (out.kind) {
      case "message":
        if (out.from !== socketId) this.send(out.frame);
        return;
      case "presence":
        if (channels.get(out.channel)?.subscribed === true) {
          this.send(out.frame);
        }
        return;
      case "joined":
        this.#joined(out.channel, out.members, out.recovered);
        return;
      case "error":
        this.#hubError(out.message, out.ref);
        return;
      case "ignore":
        if (out.type === "invalid") {
          metrics.inc("pusher_dropped_total", 1, "invalid");
        }
        return;
    }
  }

  #joined(
    channel: string,
    members: PresenceMember[],
    recovered: boolean | undefined,
  ): void {
    const { channels, metrics, app, counts, sink } = this.#deps;
    const state = channels.get(channel);
    if (state === undefined) return;
    if (state.subscribed) {
      // A later `joined` announces lost messages: Pusher cannot say so.
      metrics.inc("pusher_dropped_total", 1, "loss_notice");
      return;
    }
    const max = app.maxPresenceMembers;
    if (state.kind === "presence" && members.length > max) {
      this.#deps.unsubscribe(channel);
      metrics.inc("pusher_errors_total", 1, "LimitReached");
      this.subscriptionError(
        channel,
        "LimitReached",
        `At most ${max} members per presence channel`,
        403,
      );
      return;
    }
    const data = state.kind === "presence" ? subscriptionData(members) : {};
    state.subscribed = true;
    this.send(
      encodeFrame("pusher_internal:subscription_succeeded", data, channel),
    );
    if (state.kind !== "user") counts.add(state.room, sink);
    // The replay of the last event (if any) follows `joined`; else a miss.
    if (
      state.cache !== undefined && (state.cache.empty || recovered === false)
    ) {
      metrics.inc("pusher_cache_misses_total");
      this.send(encodeFrame("pusher:cache_miss", undefined, channel));
      this.#deps.webhooks?.cacheMiss(this.#deps.app.id, channel);
    }
  }

  #hubError(message: string, ref: string | number | undefined): void {
    for (const [channel, state] of this.#deps.channels) {
      if (state.joinId !== ref || state.subscribed) continue;
      this.#deps.unsubscribe(channel);
      this.#deps.metrics.inc("pusher_errors_total", 1, "hub");
      this.subscriptionError(channel, "SubscriptionError", message, 500);
      return;
    }
    this.error("hub", null, message);
  }

  /** Sends `pusher:subscription_error {type, error, status}` on `channel`. */
  subscriptionError(
    channel: string,
    type: string,
    error: string,
    status: number,
  ): void {
    this.send(
      encodeFrame(
        "pusher:subscription_error",
        { type, error, status },
        channel,
      ),
    );
  }

  /** Sends `pusher:error {code, message}` and counts it under `reason`. */
  error(reason: string, code: number | null, message: string): void {
    this.#deps.metrics.inc("pusher_errors_total", 1, reason);
    this.send(encodeFrame("pusher:error", { code, message }));
  }

  /** Sends one frame while the socket is open. */
  send(frame: string): void {
    const { socket } = this.#deps;
    if (this.#deps.closed() || socket.readyState !== 1) return;
    try {
      socket.send(frame);
    } catch {
      this.sendFailed();
    }
  }

  /** A send threw: the session closes with 1011. */
  sendFailed(): void {
    this.#deps.close(CLOSE_CODE.INTERNAL_ERROR, "Send failed");
  }
}
