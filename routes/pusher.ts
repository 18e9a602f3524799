/**
 * The Pusher protocol routes, mounted when at least one Pusher app is
 * configured: `GET /app/:key` (WebSocket) and the signed HTTP API under
 * `/apps/:id`. See `docs/pusher.md`.
 *
 * @module
 */

import type { Hono } from "hono";
import type { Config } from "../lib/support/config.ts";
import type { Hub } from "../lib/hub/hub.ts";
import type { Logger } from "../lib/support/log.ts";
import type { Metrics } from "../lib/support/metrics.ts";
import { PusherApps } from "../lib/support/pusher_apps.ts";
import { ChannelCounts } from "../lib/pusher/channel_counts.ts";
import type { OpenSockets } from "./_open_sockets.ts";
import { mountPusherApi } from "./pusher_api.ts";
import { mountPusherWs } from "./pusher_ws.ts";
import { createWebhooks } from "../lib/webhooks/open.ts";
import { feedWebhooks } from "../lib/pusher/webhook_feed.ts";

/** What the Pusher routes need. */
export interface PusherDeps {
  hub: Hub;
  sockets: OpenSockets;
  config: Config;
  metrics: Metrics;
  log: Logger;
  nodeId: string;
  ready?: () => boolean;
}

/** Mounts the Pusher routes if `config.pusherApps` has any app; returns whether it did. */
export function mountPusher(app: Hono, deps: PusherDeps): boolean {
  if (deps.config.pusherApps.length === 0) return false;
  const apps = new PusherApps(deps.config.pusherApps);
  const { config, hub } = deps;
  // One per isolate: its subscriptions, and what the others report.
  const counts = new ChannelCounts({
    bus: hub.bus,
    metrics: deps.metrics,
    intervalMs: config.presenceIntervalMs,
    timeoutMs: config.presenceTimeoutMs,
    throttleMs: config.pusherSubscriptionCountMs,
    maxRemote: config.pusherMaxCountedChannels,
  });
  // Webhooks (when an app has one): decided on the state above, sent by one isolate.
  const webhooks = createWebhooks(config, {
    owner: deps.nodeId,
    metrics: deps.metrics,
    log: deps.log,
  });
  const stopFeed = webhooks && feedWebhooks(hub, counts, webhooks);
  hub.onShutdown(() => {
    stopFeed?.();
    counts.close();
    webhooks?.close().catch((error) => {
      deps.log.warn("Webhooks did not close", { error: String(error) });
    });
  });
  mountPusherWs(app, {
    ...deps,
    apps,
    counts,
    ...(webhooks === undefined ? {} : { webhooks }),
  });
  mountPusherApi(app, {
    hub: deps.hub,
    apps,
    counts,
    metrics: deps.metrics,
    log: deps.log,
    maxBodyBytes: deps.config.maxMessageBytes,
  });
  return true;
}
