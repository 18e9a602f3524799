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
import type { OpenSockets } from "./_open_sockets.ts";
import { mountPusherApi } from "./pusher_api.ts";
import { mountPusherWs } from "./pusher_ws.ts";

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
  mountPusherWs(app, { ...deps, apps });
  mountPusherApi(app, {
    hub: deps.hub,
    apps,
    metrics: deps.metrics,
    log: deps.log,
    maxBodyBytes: deps.config.maxMessageBytes,
  });
  return true;
}
