/**
 * One Pusher client connection, its client-frame half (the hub-output half
 * is `session_output.ts`). It speaks Pusher protocol 7 on the socket and
 * roomcast to the hub: a channel subscription is a room join on the same
 * hub, registry, log and bus as native clients, so both kinds of client see
 * one stream. Public and private channels share one hub connection; each
 * presence channel gets its own, whose member id is the signed `user_id`
 * (presence is kept per member, so a user is added once across tabs and
 * nodes and the joiner never hears about itself). A `pusher:signin` opens
 * one more, whose member id is the signed-in user: it holds
 * `#server-to-user-<id>`, and the hub's `terminate(id)` closes it (and with
 * it the socket, 4009) on every node. A `cache-` channel joins from the
 * room's head − 1, so the log replays the last event.
 *
 * @module
 */

import type { Connection } from "../rooms/connection.ts";
import type { Json } from "../protocol/mod.ts";
import { TokenBucket } from "../support/rate_limit.ts";
import { FrameGuard } from "./frame_guard.ts";
import {
  clientEventRefusal,
  hubToPusherClose,
  PUSHER_CLOSE,
} from "./limits.ts";
import { isChannelRequest } from "./subscribe.ts";
import { subscribe, type SubscribeParts } from "./_session_subscribe.ts";
import type { CountSink } from "./channel_counts.ts";
import { type ChannelState, SessionOutput } from "./session_output.ts";
import { checkSignin } from "./signin.ts";
import type { SessionDeps } from "./session_deps.ts";
import { encodeFrame, type PusherClientFrame, toRoomcast } from "./wire.ts";
import { clientEventHook } from "./webhook_feed.ts";
import { HubSocket } from "./hub_socket.ts";

const RATE_TEXT = "Client event rejected due to rate limit";

export type { SessionDeps, SessionLimits } from "./session_deps.ts";

/** The Pusher side of one socket. */
export class PusherSession {
  /** The `socket_id`: `\d+\.\d+`, stamped as `from` on its client events. */
  readonly socketId: string;
  readonly #deps: SessionDeps;
  readonly #now: () => number;
  readonly #shared: Connection;
  readonly #channels = new Map<string, ChannelState>();
  readonly #guard: FrameGuard;
  readonly #clientEvents: TokenBucket;
  readonly #out: SessionOutput;
  readonly #sink: CountSink;
  /** The socket of every hub connection of this session (one per session). */
  readonly #hubSocket: HubSocket;
  /** What a `pusher:subscribe` works on (made once). */
  readonly #subscribeParts: SubscribeParts;
  /** The signed-in user and its hub connection (member id = user id). */
  #user: { id: string; connection: Connection } | undefined;
  #nextJoin = 0;
  #closed = false;

  /** Registers with the hub and sends `pusher:connection_established`. */
  constructor(deps: SessionDeps) {
    this.#deps = deps;
    this.socketId = deps.socketId;
    this.#now = deps.now ?? Date.now;
    const { limits, app } = deps;
    this.#guard = new FrameGuard({ ...limits, now: this.#now });
    this.#clientEvents = new TokenBucket(
      app.maxClientEventsPerS,
      app.maxClientEventsPerS,
      this.#now(),
    );
    this.#sink = {
      wantsCount: app.enableSubscriptionCount,
      sendCount: (frame) => this.#out.send(frame),
    };
    this.#out = new SessionOutput({
      socket: deps.socket,
      socketId: this.socketId,
      app,
      metrics: deps.metrics,
      counts: deps.counts,
      channels: this.#channels,
      // Presence channels count users, not subscriptions (as with Pusher).
      sink: this.#sink,
      unsubscribe: (channel) => this.#unsubscribe(channel),
      close: (code, reason) => this.close(code, reason),
      closed: () => this.#closed,
      ...(deps.webhooks === undefined ? {} : { webhooks: deps.webhooks }),
    });
    this.#hubSocket = new HubSocket({
      socket: deps.socket,
      socketId: this.socketId,
      translator: deps.translator,
      output: this.#out,
      close: (code, reason) => this.close(hubToPusherClose(code), reason ?? ""),
    });
    this.#shared = deps.hub.connect(this.#hubSocket);
    this.#subscribeParts = {
      deps,
      socketId: this.socketId,
      channels: this.#channels,
      out: this.#out,
      hubSocket: this.#hubSocket,
      shared: this.#shared,
      user: () => this.#user,
      nextJoin: () => ++this.#nextJoin,
      closed: () => this.#closed,
      unsubscribe: (channel) => this.#unsubscribe(channel),
    };
    deps.metrics.inc("pusher_connections_total");
    this.#out.send(encodeFrame("pusher:connection_established", {
      "socket_id": this.socketId,
      "activity_timeout": limits.activityTimeoutS,
    }));
  }

  /** Handles one frame from the client. Never throws. */
  receive(data: unknown): void {
    if (this.#closed) return;
    const verdict = this.#guard.inspect(data);
    if (verdict.kind === "close") {
      this.close(verdict.code, verdict.reason);
      return;
    }
    if (verdict.kind === "error") {
      this.#out.error(verdict.reason, verdict.code, verdict.message);
      return;
    }
    const { frame } = verdict;
    try {
      this.#dispatch(frame);
    } catch (error) {
      this.#deps.log.error("Pusher frame failed", {
        event: frame.event.slice(0, 64),
        error: String(error),
      });
      this.#out.error("internal", null, "Internal error");
    }
  }

  /** Closes the socket with a Pusher code and leaves every channel. Idempotent. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#deps.metrics.inc("pusher_closed_total", 1, String(code));
    try {
      this.#deps.socket.close(code, reason);
    } catch {
      // Already closing.
    }
    this.closed();
  }

  /** The socket closed (either side): every hub connection goes. Idempotent. */
  closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const { hub, counts } = this.#deps;
    for (const state of this.#channels.values()) {
      if (state.subscribed) counts.remove(state.room, this.#sink);
      if (state.connection !== this.#shared) hub.disconnect(state.connection);
    }
    this.#channels.clear();
    if (this.#user !== undefined) hub.disconnect(this.#user.connection);
    hub.disconnect(this.#shared);
  }

  #dispatch(frame: PusherClientFrame): void {
    const { event } = frame;
    if (event.startsWith("client-")) {
      this.#clientEvent(frame);
      return;
    }
    switch (event) {
      case "pusher:ping":
        this.#out.send(encodeFrame("pusher:pong", {}));
        return;
      case "pusher:pong":
        return;
      case "pusher:subscribe":
        subscribe(this.#subscribeParts, frame.data);
        return;
      case "pusher:unsubscribe": {
        const channel = isChannelRequest(frame.data);
        if (channel !== undefined) this.#unsubscribe(channel);
        else {this.#out.error(
            "bad_frame",
            null,
            'pusher:unsubscribe needs data {"channel": <name>}',
          );}
        return;
      }
      case "pusher:signin":
        this.#signin(frame.data);
        return;
      default:
        this.#out.error(
          "unsupported",
          null,
          `Unsupported event "${event.slice(0, 64)}"`,
        );
    }
  }

  #signin(data: Json | undefined): void {
    const verdict = checkSignin(this.#deps.app, this.socketId, data);
    if (!verdict.ok) {
      this.#out.error("signin", verdict.code, verdict.message);
      if (verdict.code !== null) this.close(verdict.code, verdict.message);
      return;
    }
    if (this.#user !== undefined && this.#user.id !== verdict.userId) {
      this.#out.error("signin", null, "Already signed in as another user");
      return;
    }
    // The user's own hub connection: `terminate(id)` finds it on any node.
    this.#user ??= {
      id: verdict.userId,
      connection: this.#deps.hub.connect(this.#hubSocket, {
        memberId: verdict.userId,
      }),
    };
    this.#deps.metrics.inc("pusher_signins_total");
    this.#out.send(
      encodeFrame("pusher:signin_success", { "user_data": verdict.userData }),
    );
  }

  #unsubscribe(channel: string): void {
    const state = this.#channels.get(channel);
    if (state === undefined) return;
    this.#channels.delete(channel);
    const { hub, counts } = this.#deps;
    if (state.subscribed) counts.remove(state.room, this.#sink);
    if (state.connection === this.#shared || state.kind === "user") {
      hub.receive(
        state.connection,
        JSON.stringify({ type: "leave", room: state.room }),
      );
    } else {
      hub.disconnect(state.connection);
    }
  }

  #clientEvent(frame: PusherClientFrame): void {
    const { app, hub, metrics } = this.#deps;
    const channel = frame.channel ?? "";
    const state = this.#channels.get(channel);
    const refusal = clientEventRefusal(
      app,
      frame,
      state?.kind,
      state?.subscribed === true,
    );
    if (refusal !== undefined) {
      this.#out.error(refusal.reason, refusal.code, refusal.message);
      return;
    }
    if (!this.#clientEvents.take(this.#now())) {
      this.#out.error("client_rate", PUSHER_CLOSE.CLIENT_EVENT_RATE, RATE_TEXT);
      return;
    }
    metrics.inc("pusher_client_events_total");
    const data = toRoomcast(frame.event, frame.data ?? null, state?.userId);
    this.#deps.webhooks?.clientEvent(
      app.id,
      clientEventHook(channel, frame, this.socketId, state?.userId),
    );
    // `from` is the socket id: the sender's own sessions skip it (never echoed).
    hub.publish(state!.room, data, { from: this.socketId }).catch((error) => {
      this.#deps.log.error("Client event publish failed", {
        channel,
        error: String(error),
      });
      this.#out.error("internal", null, "Client event could not be published");
    });
  }
}
