/**
 * `GET /ws`: the WebSocket edge. In order: upgrade check, drain, origin
 * allow-list, capacity and per-IP limits, then the token, all **before** a
 * socket exists; then `Deno.upgradeWebSocket` and hand-off to the hub.
 *
 * @module
 */

import type { Hono } from "hono";
import { AuthError, type Verifier } from "../lib/support/auth.ts";
import type { ConfigGroup } from "../lib/support/config.ts";
import type { ConnectOptions, Hub } from "../lib/hub/hub.ts";
import type { Connection } from "../lib/rooms/connection.ts";
import { jsonError } from "../lib/support/http_error.ts";
import type { Metrics } from "../lib/support/metrics.ts";
import type { RefusalLog } from "../lib/support/refusal_log.ts";
import type { LogFields } from "../lib/support/log.ts";
import { SUBPROTOCOL, SUBPROTOCOL_BATCH } from "../lib/protocol/mod.ts";
import { KeyedLimiter } from "../lib/support/rate_limit.ts";
import { remoteIpOf } from "./_remote_ip.ts";
import {
  handshakeRefusal,
  protocolList,
  upgradeWebSocket,
} from "./_handshake.ts";
import { identifyRequest, TOKEN_PROTOCOL_PREFIX } from "./_identity.ts";
import { OpenSockets } from "./_open_sockets.ts";

export { OpenSockets, TOKEN_PROTOCOL_PREFIX };

/** What the WebSocket route needs. */
export interface WsDeps {
  hub: Hub;
  sockets: OpenSockets;
  /** The edge's settings: limits and security. */
  config: ConfigGroup<"limits"> & ConfigGroup<"security">;
  metrics: Metrics;
  /** Where refused upgrades are logged (aggregated, rate limited). */
  refusals: RefusalLog;
  /** Checks tokens; undefined when no key is configured. */
  verifier: Verifier | undefined;
  /** Whether the engine can serve (Redis connected). @default {() => true} */
  ready?: () => boolean;
  now?: () => number;
}

/**
 * The `/ws` handler for a bare request and `Deno.serve`'s handler info (the
 * peer address is read from it). What {@linkcode mountWs} returns, so the
 * server can answer `GET /ws` before hono's routing.
 */
export type WsHandler = (
  req: Request,
  info: unknown,
) => Response | Promise<Response>;

/**
 * Mounts `GET /ws` and returns its handler, which the server calls directly
 * for `GET /ws` (see {@linkcode isWsPath}); the hono route serves the rest
 * (`app.request()`, `HEAD`, percent-encoded paths).
 */
export function mountWs(app: Hono, deps: WsDeps): WsHandler {
  const { config, metrics, hub, sockets } = deps;
  const now = deps.now ?? Date.now;
  const upgrades = new KeyedLimiter(
    config.maxUpgradesPerSPerIp,
    2 * config.maxUpgradesPerSPerIp,
  );
  const refuse = (
    status: number,
    reason: string,
    message: string,
    headers: HeadersInit = {},
    fields: LogFields = {},
  ) => {
    metrics.inc("upgrades_refused_total", 1, reason);
    // Once per cause, then a summary per interval: never the token or a payload.
    deps.refusals.refuse(
      status === 403 ? "warn" : "info",
      `upgrade:${reason}`,
      `Upgrade refused (${status} ${reason}): ${message}`,
      { status, reason, ...fields },
    );
    return jsonError(status, reason, message, headers);
  };

  const handle: WsHandler = (req, info) => {
    const ip = remoteIpOf(info);
    // Read once: the checks, the offer and the answer all need it.
    const protocols = req.headers.get("sec-websocket-protocol");
    const refusal = handshakeRefusal(req.headers, protocols);
    if (refusal?.code === "upgrade_required") {
      return jsonError(426, refusal.code, refusal.message, refusal.headers);
    }
    if (refusal !== undefined) {
      return refuse(
        refusal.status,
        refusal.code,
        refusal.message,
        refusal.headers,
      );
    }
    if (hub.draining) {
      return refuse(503, "draining", "The server is shutting down; reconnect", {
        "retry-after": "1",
      });
    }
    if (deps.ready !== undefined && !deps.ready()) {
      return refuse(
        503,
        "not_ready",
        "The server's engine is not connected yet",
        {
          "retry-after": "1",
        },
      );
    }
    if (!originAllowed(req, config.allowedOrigins)) {
      return refuse(
        403,
        "forbidden_origin",
        "Origin not allowed",
        {},
        {
          origin: (req.headers.get("origin") ?? "").slice(0, 200),
          allowed: config.allowedOrigins.length > 0
            ? "ALLOWED_ORIGINS"
            : "the request's own host (set ALLOWED_ORIGINS for other origins)",
          ip,
        },
      );
    }
    if (sockets.size >= config.maxConnections) {
      return refuse(503, "capacity", "Server at capacity; retry later", {
        "retry-after": "5",
      }, { ip });
    }
    if (!upgrades.take(ip, now())) {
      return refuse(429, "ip_rate", "Too many connection attempts", {
        "retry-after": "1",
      }, { ip });
    }
    if (sockets.countFrom(ip) >= config.maxConnectionsPerIp) {
      return refuse(429, "ip_connections", "Too many connections from here", {
        "retry-after": "5",
      }, { ip });
    }

    const offered = protocolList(protocols);
    const badToken = (error: unknown): Response => {
      if (!(error instanceof AuthError)) throw error;
      metrics.inc("auth_failures_total", 1, error.reason);
      deps.refusals.refuse(
        "info",
        `upgrade:${error.reason}`,
        "Upgrade refused (401 unauthorized): bad token",
        { status: 401, reason: error.reason, ip },
      );
      return jsonError(401, "unauthorized", error.message, {
        "www-authenticate": "Bearer",
      });
    };
    let who: ConnectOptions | Promise<ConnectOptions>;
    try {
      who = identifyRequest(
        req,
        offered,
        deps.verifier,
        config.allowAnonymous,
      );
    } catch (error) {
      return badToken(error);
    }
    // Without a token the upgrade completes in this task (no await).
    if (who instanceof Promise) {
      return who.then((w) => admit(req, ip, protocols, offered, w), badToken);
    }
    return admit(req, ip, protocols, offered, who);
  };
  app.get("/ws", (c) => handle(c.req.raw, c.env));

  /** Upgrades an identified request and hands the socket to the hub. */
  const admit = (
    req: Request,
    ip: string,
    protocols: string | null,
    offered: string[],
    who: ConnectOptions,
  ): Response => {
    if (who.memberId === undefined && !config.allowAnonymous) {
      metrics.inc("auth_failures_total", 1, "missing");
      deps.refusals.refuse(
        "info",
        "upgrade:missing",
        "Upgrade refused (401 unauthorized): the client sent no token; your backend mints one (docs/deploy.md)",
        { status: 401, reason: "missing", ip },
      );
      return jsonError(401, "unauthorized", "A token is required", {
        "www-authenticate": "Bearer",
      });
    }

    // Answer with one of our fixed protocol names, never with a token entry;
    // batch frames when the client offers them.
    const batch = offered.includes(SUBPROTOCOL_BATCH);
    const protocol = batch
      ? SUBPROTOCOL_BATCH
      : offered.includes(SUBPROTOCOL)
      ? SUBPROTOCOL
      : undefined;
    const upgraded = upgradeWebSocket(req, {
      idleTimeout: config.idleTimeoutS,
      offered: protocols,
      ...(protocol === undefined ? {} : { protocol }),
    });
    if (upgraded instanceof Response) return upgraded;
    const { socket, response } = upgraded;
    sockets.hold(socket, ip);
    let connection: Connection | undefined;
    socket.addEventListener("open", () => {
      const opened = hub.connect(socket, { ...who, batch });
      connection = opened;
      socket.addEventListener(
        "message",
        (event) => hub.receive(opened, event.data),
      );
    });
    // One listener for both: the socket's slot, and the hub once it opened.
    // `close` can fire twice on Deno; both are idempotent.
    socket.addEventListener("close", (event) => {
      sockets.release(socket);
      if (connection !== undefined) hub.disconnect(connection, event.code);
    });
    return response;
  };
  return handle;
}

/**
 * Whether `url` (a request's absolute URL) has the path `/ws` exactly, with
 * or without a query: the requests the server hands to the `/ws` handler
 * without hono's routing.
 */
export function isWsPath(url: string): boolean {
  const path = url.indexOf("/", url.indexOf("//") + 2);
  if (path === -1 || !url.startsWith("/ws", path)) return false;
  const next = url.charCodeAt(path + 3);
  return Number.isNaN(next) || next === 63 /* ? */ || next === 35 /* # */;
}

/**
 * Origin check against cross-site WebSocket hijacking: exact match with the
 * allow-list, or, when it is empty, the request's own host. Clients that send
 * no Origin (servers, CLIs) pass here and are judged by their token.
 */
export function originAllowed(req: Request, allowed: string[]): boolean {
  const origin = req.headers.get("origin");
  if (origin === null) return true;
  if (allowed.length > 0) return allowed.includes(origin);
  try {
    return new URL(origin).host === req.headers.get("host");
  } catch {
    return false; // "null" and other opaque origins
  }
}
