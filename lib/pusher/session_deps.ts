/**
 * What a Pusher session is built from: the hub, the app, the socket and the
 * connection-wide limits.
 *
 * @module
 */

import type { SocketLike } from "../rooms/connection.ts";
import type { Hub } from "../hub/hub.ts";
import type { Logger } from "../support/log.ts";
import type { Metrics } from "../support/metrics.ts";
import type { PusherApp } from "../support/pusher_apps.ts";
import type { FrameTranslator } from "./translate.ts";
import type { ChannelCounts } from "./channel_counts.ts";
import type { Webhooks } from "../webhooks/webhooks.ts";

/** The per-connection webhooks a session reports (`client_event`, `cache_miss`). */
export type SessionWebhooks = Pick<Webhooks, "clientEvent" | "cacheMiss">;

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
  /** Subscription counts across isolates (`subscription_count`, the HTTP API). */
  counts: ChannelCounts;
  metrics: Metrics;
  log: Logger;
  limits: SessionLimits;
  /** Where `client_event` and `cache_miss` go, when the app has webhooks. */
  webhooks?: SessionWebhooks;
  now?: () => number;
}
