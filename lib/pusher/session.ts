/**
 * One Pusher client connection. It speaks Pusher protocol 7 on the socket
 * and roomcast to the hub: a channel subscription is a room join on the same
 * hub, registry, log and bus as native clients, so both kinds of client see
 * one stream. Public and private channels share one hub connection; each
 * presence channel gets its own, whose member id is the signed `user_id`
 * (presence is kept per member, so a user is added once across tabs and
 * nodes and the joiner never hears about itself).
 *
 * @module
 */

import { CLOSE_CODE } from "../protocol/mod.ts";
import type { Connection, SocketLike } from "../rooms/connection.ts";
import type { Hub } from "../hub/hub.ts";
import type { Logger } from "../support/log.ts";
import type { Metrics } from "../support/metrics.ts";
import type { Json, PresenceMember } from "../protocol/mod.ts";
import { TokenBucket } from "../support/rate_limit.ts";
import type { PusherApp } from "../support/pusher_apps.ts";
import { FrameGuard } from "./frame_guard.ts";
import {
  clientEventRefusal,
  hubToPusherClose,
  PUSHER_CLOSE,
} from "./limits.ts";
import { checkSubscribe, isChannelRequest, joinFrame } from "./subscribe.ts";
import {
  type FrameTranslator,
  type HubOutput,
  subscriptionData,
} from "./translate.ts";
import {
  type ChannelKind,
  encodeFrame,
  type PusherClientFrame,
  toRoomcast,
} from "./wire.ts";

const RATE_TEXT = "Client event rejected due to rate limit";

/** Connection-wide limits (from `Config`). */
export interface SessionLimits {
  /** Largest frame in UTF-8 bytes; larger closes with 4301. */
  maxMessageBytes: number;
  /** Channels one connection may subscribe to. */
  maxRoomsPerConnection: number;
  /** Frames per second (any kind) and burst; excess gets `pusher:error` 4301. */
  rateLimitPerS: number;
  rateLimitBurst: number;
  /** Refused frames in a row before the connection is closed with 4301. */
  rateLimitStrikes: number;
  /** `activity_timeout` announced in the handshake, seconds. */
  activityTimeoutS: number;
}

/** What a session is built from. */
export interface SessionDeps {
  hub: Hub;
  app: PusherApp;
  socket: SocketLike;
  socketId: string;
  translator: FrameTranslator;
  metrics: Metrics;
  log: Logger;
  limits: SessionLimits;
  now?: () => number;
}

interface ChannelState {
  kind: ChannelKind;
  /** The hub connection that is the member: the shared one, or the presence member's own. */
  connection: Connection;
  /** `subscription_succeeded` was sent. */
  subscribed: boolean;
  /** The join's id, echoed as `ref` by a hub error about it. */
  joinId: number;
  userId?: string;
}

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
  #nextJoin = 0;
  #closed = false;

  /** Registers with the hub and sends `pusher:connection_established`. */
  constructor(deps: SessionDeps) {
    this.#deps = deps;
    this.socketId = deps.socketId;
    this.#now = deps.now ?? Date.now;
    const { limits, app } = deps;
    const now = this.#now();
    this.#guard = new FrameGuard({
      maxMessageBytes: limits.maxMessageBytes,
      rateLimitPerS: limits.rateLimitPerS,
      rateLimitBurst: limits.rateLimitBurst,
      rateLimitStrikes: limits.rateLimitStrikes,
      now: this.#now,
    });
    this.#clientEvents = new TokenBucket(
      app.maxClientEventsPerS,
      app.maxClientEventsPerS,
      now,
    );
    this.#shared = deps.hub.connect(this.#adapter());
    deps.metrics.inc("pusher_connections_total");
    this.#send(encodeFrame("pusher:connection_established", {
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
      this.#error(verdict.reason, verdict.code, verdict.message);
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
      this.#error("internal", null, "Internal error");
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
    const { hub } = this.#deps;
    for (const state of this.#channels.values()) {
      if (state.connection !== this.#shared) hub.disconnect(state.connection);
    }
    this.#channels.clear();
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
        this.#send(encodeFrame("pusher:pong", {}));
        return;
      case "pusher:pong":
        return;
      case "pusher:subscribe":
        this.#subscribe(frame.data);
        return;
      case "pusher:unsubscribe": {
        const channel = isChannelRequest(frame.data);
        if (channel !== undefined) this.#unsubscribe(channel);
        else {this.#error(
            "bad_frame",
            null,
            'pusher:unsubscribe needs data {"channel": <name>}',
          );}
        return;
      }
      default:
        this.#error(
          "unsupported",
          null,
          `Unsupported event "${event.slice(0, 64)}"`,
        );
    }
  }

  #subscribe(data: Json | undefined): void {
    const { app, hub, limits } = this.#deps;
    const verdict = checkSubscribe(app, this.socketId, data);
    if (!verdict.ok) {
      this.#deps.metrics.inc("pusher_errors_total", 1, verdict.type);
      if (verdict.channel === undefined) {
        this.#error("bad_frame", null, verdict.error);
      } else {
        this.#subscriptionError(
          verdict.channel,
          verdict.type,
          verdict.error,
          verdict.status,
        );
      }
      return;
    }
    const { channel } = verdict;
    if (this.#channels.has(channel)) return; // already subscribed or subscribing
    if (this.#channels.size >= limits.maxRoomsPerConnection) {
      this.#deps.metrics.inc("pusher_errors_total", 1, "LimitReached");
      this.#subscriptionError(
        channel,
        "LimitReached",
        `At most ${limits.maxRoomsPerConnection} channels per connection`,
        403,
      );
      return;
    }
    const connection = verdict.kind === "presence"
      ? hub.connect(this.#adapter(), { memberId: verdict.userId ?? "" })
      : this.#shared;
    const joinId = ++this.#nextJoin;
    const state: ChannelState = {
      kind: verdict.kind,
      connection,
      subscribed: false,
      joinId,
    };
    if (verdict.userId !== undefined) state.userId = verdict.userId;
    this.#channels.set(channel, state);
    hub.receive(connection, JSON.stringify(joinFrame(verdict, joinId)));
  }

  #unsubscribe(channel: string): void {
    const state = this.#channels.get(channel);
    if (state === undefined) return;
    this.#channels.delete(channel);
    const { hub } = this.#deps;
    if (state.connection === this.#shared) {
      hub.receive(
        this.#shared,
        JSON.stringify({ type: "leave", room: channel }),
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
      this.#error(refusal.reason, refusal.code, refusal.message);
      return;
    }
    if (!this.#clientEvents.take(this.#now())) {
      this.#error("client_rate", PUSHER_CLOSE.CLIENT_EVENT_RATE, RATE_TEXT);
      return;
    }
    metrics.inc("pusher_client_events_total");
    const data = toRoomcast(frame.event, frame.data ?? null, state?.userId);
    // `from` is the socket id: the sender's own sessions skip it (never echoed).
    hub.publish(channel, data, { from: this.socketId }).catch((error) => {
      this.#deps.log.error("Client event publish failed", {
        channel,
        error: String(error),
      });
      this.#error("internal", null, "Client event could not be published");
    });
  }

  /** A hub connection's socket: frames go through the translator, closes close the socket. */
  #adapter(): SocketLike {
    const socket = this.#deps.socket;
    return {
      get readyState() {
        return socket.readyState;
      },
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
      send: (frame: string) =>
        this.#fromHub(this.#deps.translator.translate(frame)),
      close: (code?: number, reason?: string) =>
        this.close(hubToPusherClose(code), reason ?? ""),
    };
  }

  #fromHub(out: HubOutput): void {
    switch (out.kind) {
      case "message":
        if (out.from !== this.socketId) this.#send(out.frame);
        return;
      case "presence":
        if (this.#channels.get(out.channel)?.subscribed === true) {
          this.#send(out.frame);
        }
        return;
      case "joined":
        this.#joined(out.channel, out.members);
        return;
      case "error":
        this.#hubError(out.message, out.ref);
        return;
      case "ignore":
        if (out.type === "invalid") {
          this.#deps.metrics.inc("pusher_dropped_total", 1, "invalid");
        }
        return;
    }
  }

  #joined(channel: string, members: PresenceMember[]): void {
    const state = this.#channels.get(channel);
    if (state === undefined) return;
    if (state.subscribed) {
      // A later `joined` announces lost messages: Pusher cannot say so.
      this.#deps.metrics.inc("pusher_dropped_total", 1, "loss_notice");
      return;
    }
    const max = this.#deps.app.maxPresenceMembers;
    if (state.kind === "presence" && members.length > max) {
      this.#unsubscribe(channel);
      this.#deps.metrics.inc("pusher_errors_total", 1, "LimitReached");
      this.#subscriptionError(
        channel,
        "LimitReached",
        `At most ${max} members per presence channel`,
        403,
      );
      return;
    }
    const data = state.kind === "presence" ? subscriptionData(members) : {};
    state.subscribed = true;
    this.#send(
      encodeFrame("pusher_internal:subscription_succeeded", data, channel),
    );
  }

  #hubError(message: string, ref: string | number | undefined): void {
    for (const [channel, state] of this.#channels) {
      if (state.joinId !== ref || state.subscribed) continue;
      this.#unsubscribe(channel);
      this.#deps.metrics.inc("pusher_errors_total", 1, "hub");
      this.#subscriptionError(channel, "SubscriptionError", message, 500);
      return;
    }
    this.#error("hub", null, message);
  }

  #subscriptionError(
    channel: string,
    type: string,
    error: string,
    status: number,
  ): void {
    this.#send(
      encodeFrame(
        "pusher:subscription_error",
        { type, error, status },
        channel,
      ),
    );
  }

  #error(reason: string, code: number | null, message: string): void {
    this.#deps.metrics.inc("pusher_errors_total", 1, reason);
    this.#send(encodeFrame("pusher:error", { code, message }));
  }

  #send(frame: string): void {
    const { socket } = this.#deps;
    if (this.#closed || socket.readyState !== 1) return;
    try {
      socket.send(frame);
    } catch {
      this.close(CLOSE_CODE.INTERNAL_ERROR, "Send failed");
    }
  }
}
