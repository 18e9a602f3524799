/**
 * `GET /app/:key`: the Pusher protocol 7 WebSocket endpoint. The edge checks
 * of `/ws` come first (drain, readiness, capacity, per-IP limits; origins
 * only when `ALLOWED_ORIGINS` is set, since Pusher apps are served from other
 * hosts and private channels are guarded by signatures), then the upgrade.
 * Pusher reports a bad key or protocol on the open socket: `pusher:error`,
 * then a close with the same code (4001, 4007, 4008, 4004).
 *
 * @module
 */

import type { Hono } from "hono";
import type { Config } from "../lib/support/config.ts";
import type { Hub } from "../lib/hub/hub.ts";
import { jsonError } from "../lib/support/http_error.ts";
import type { Logger } from "../lib/support/log.ts";
import type { Metrics } from "../lib/support/metrics.ts";
import type { PusherApps } from "../lib/support/pusher_apps.ts";
import { PUSHER_CLOSE } from "../lib/pusher/limits.ts";
import { PusherSession } from "../lib/pusher/session.ts";
import type { ChannelCounts } from "../lib/pusher/channel_counts.ts";
import type { SessionWebhooks } from "../lib/pusher/session_deps.ts";
import { FrameTranslator } from "../lib/pusher/translate.ts";
import { encodeFrame, PUSHER_PROTOCOL } from "../lib/pusher/wire.ts";
import { KeyedLimiter } from "../lib/support/rate_limit.ts";
import { handshakeRefusal, upgradeWebSocket } from "./_handshake.ts";
import type { OpenSockets } from "./_open_sockets.ts";
import { remoteIp } from "./_remote_ip.ts";
import { originAllowed } from "./ws.ts";

/** What the Pusher WebSocket route needs. */
export interface PusherWsDeps {
  hub: Hub;
  apps: PusherApps;
  /** This isolate's subscription counts. */
  counts: ChannelCounts;
  /** Where sessions report `client_event` and `cache_miss`, when any app has webhooks. */
  webhooks?: SessionWebhooks;
  /** The sockets of `/ws` too: one capacity, one drain. */
  sockets: OpenSockets;
  config: Config;
  metrics: Metrics;
  log: Logger;
  /** This isolate's id: the first half of every `socket_id` is derived from it. */
  nodeId: string;
  ready?: () => boolean;
  now?: () => number;
}

/** Mounts `GET /app/:key`. */
export function mountPusherWs(app: Hono, deps: PusherWsDeps): void {
  const { config, metrics, hub, sockets, apps } = deps;
  const now = deps.now ?? Date.now;
  const translator = new FrameTranslator();
  const upgrades = new KeyedLimiter(
    config.maxUpgradesPerSPerIp,
    2 * config.maxUpgradesPerSPerIp,
  );
  const perApp = new Map<string, number>();
  // socket_id is `\d+\.\d+`: this isolate's number, then a counter.
  const node =
    parseInt(deps.nodeId.replace(/[^0-9a-f]/gi, "").slice(0, 8), 16) ||
    1;
  let counter = 0;
  const refuse = (status: number, reason: string, message: string) => {
    metrics.inc("upgrades_refused_total", 1, reason);
    return jsonError(
      status,
      reason,
      message,
      status === 429 || status === 503 ? { "retry-after": "1" } : {},
    );
  };

  app.get("/app/:key", (c) => {
    const req = c.req.raw;
    const refusal = handshakeRefusal(req.headers);
    if (refusal?.code === "upgrade_required") {
      return jsonError(426, refusal.code, refusal.message, refusal.headers);
    }
    if (refusal !== undefined) {
      return refuse(refusal.status, refusal.code, refusal.message);
    }
    if (hub.draining) {
      return refuse(503, "draining", "The server is shutting down; reconnect");
    }
    if (deps.ready !== undefined && !deps.ready()) {
      return refuse(
        503,
        "not_ready",
        "The server's engine is not connected yet",
      );
    }
    if (
      config.allowedOrigins.length > 0 &&
      !originAllowed(req, config.allowedOrigins)
    ) {
      return refuse(403, "forbidden_origin", "Origin not allowed");
    }
    const ip = remoteIp(c);
    if (sockets.size >= config.maxConnections) {
      return refuse(503, "capacity", "Server at capacity; retry later");
    }
    if (!upgrades.take(ip, now())) {
      return refuse(429, "ip_rate", "Too many connection attempts");
    }
    if (sockets.countFrom(ip) >= config.maxConnectionsPerIp) {
      return refuse(429, "ip_connections", "Too many connections from here");
    }
    const upgraded = upgradeWebSocket(req, {
      idleTimeout: config.idleTimeoutS,
    });
    if (upgraded instanceof Response) return upgraded;
    const { socket, response } = upgraded;
    sockets.add(socket, ip);
    const key = c.req.param("key");
    const protocol = new URL(req.url).searchParams.get("protocol");
    socket.addEventListener("open", () => {
      const refusal = (code: number, message: string) => {
        metrics.inc("pusher_refused_total", 1, String(code));
        socket.send(encodeFrame("pusher:error", { code, message }));
        socket.close(code, message);
      };
      const found = apps.byKey(key);
      if (found === undefined) {
        return refusal(
          PUSHER_CLOSE.APP_NOT_FOUND,
          `App key ${key.slice(0, 64)} not in this cluster`,
        );
      }
      if (protocol === null) {
        return refusal(
          PUSHER_CLOSE.NO_PROTOCOL,
          "No protocol version supplied",
        );
      }
      if (protocol !== String(PUSHER_PROTOCOL)) {
        return refusal(
          PUSHER_CLOSE.UNSUPPORTED_PROTOCOL,
          `Unsupported protocol version ${
            protocol.slice(0, 16)
          }; this server speaks ${PUSHER_PROTOCOL}`,
        );
      }
      const open = perApp.get(found.id) ?? 0;
      if (found.maxConnections > 0 && open >= found.maxConnections) {
        return refusal(
          PUSHER_CLOSE.OVER_QUOTA,
          "Application is over connection quota",
        );
      }
      perApp.set(found.id, open + 1);
      const session = new PusherSession({
        hub,
        app: found,
        socket,
        socketId: `${node}.${++counter}`,
        translator,
        counts: deps.counts,
        ...(deps.webhooks === undefined ? {} : { webhooks: deps.webhooks }),
        metrics,
        log: deps.log,
        limits: {
          maxMessageBytes: config.maxMessageBytes,
          maxRoomsPerConnection: config.maxRoomsPerConnection,
          rateLimitPerS: config.rateLimitPerS,
          rateLimitBurst: config.rateLimitBurst,
          rateLimitStrikes: config.rateLimitStrikes,
          activityTimeoutS: config.pusherActivityTimeoutS,
        },
        now,
      });
      socket.addEventListener(
        "message",
        (event) => session.receive(event.data),
      );
      let counted = true;
      // `close` can fire twice on Deno: count the app's connection down once.
      socket.addEventListener("close", () => {
        session.closed();
        if (!counted) return;
        counted = false;
        const left = (perApp.get(found.id) ?? 1) - 1;
        if (left > 0) perApp.set(found.id, left);
        else perApp.delete(found.id);
      });
    });
    return response;
  });
}
