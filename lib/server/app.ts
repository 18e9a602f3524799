/**
 * Builds the hono application: routes, static client, error handling. Never
 * calls `Deno.serve` (see `server.ts`), so it can be tested with
 * `app.request()`.
 *
 * @module
 */

import { Hono } from "hono";
import { serveStatic } from "hono/deno";
import { etag } from "hono/etag";
import { mountAdmin, mountAdminDisabled } from "../../routes/admin.ts";
import { mountApi } from "../../routes/api.ts";
import type { Admin } from "../admin/admin.ts";
import { mountHealth } from "../../routes/health.ts";
import { mountClientConfig } from "../../routes/client_config.ts";
import { mountMetrics } from "../../routes/metrics.ts";
import { mountPusher } from "../../routes/pusher.ts";
import { mountToken } from "../../routes/token.ts";
import { isWsPath, mountWs, OpenSockets } from "../../routes/ws.ts";
import { mountSse, type SseTransport } from "../../routes/sse.ts";
import type { Bus } from "../bus/bus.ts";
import type { Verifier } from "../support/auth.ts";
import { type Config, configGroup } from "../support/config.ts";
import type { Hub } from "../hub/hub.ts";
import { jsonError } from "../support/http_error.ts";
import type { Logger } from "../support/log.ts";
import type { Metrics } from "../support/metrics.ts";
import { RefusalLog } from "../support/refusal_log.ts";

/** What the application is built from. */
export interface AppDeps {
  hub: Hub;
  log: Logger;
  metrics: Metrics;
  config: Config;
  nodeId: string;
  /** Checks client tokens; undefined when no key is configured. */
  verifier?: Verifier;
  /** Readiness for `/readyz`. @default {() => true} */
  ready?: () => boolean;
  /** Process start, ms since the Unix epoch. @default {Date.now()} */
  startedAt?: number;
  /** Folder served at `/`. @default {the repository's static/ folder} */
  staticRoot?: string;
  /** The dashboard's parts; without them `/admin` is not mounted. */
  admin?: Admin;
  /** The bus the hub uses; with it the SSE fallback (`/sse`) is mounted. */
  bus?: Bus;
}

/** A refusal log for `config`, counting what it holds back in `metrics`. */
export function createRefusalLog(
  config: Config,
  log: Logger,
  metrics: Metrics,
): RefusalLog {
  return new RefusalLog({
    log,
    intervalMs: config.refusalLogIntervalMs,
    maxCauses: config.refusalLogMaxCauses,
    onSuppressed: (n) => metrics.inc("refusal_logs_suppressed_total", n),
  });
}

/** The application and the sockets it opened. */
export interface App {
  app: Hono;
  /**
   * What `Deno.serve` calls: `GET /ws` goes straight to its handler (the
   * same checks, without hono's routing and context), the rest to `app`.
   */
  fetch: (
    req: Request,
    info: Deno.ServeHandlerInfo,
  ) => Response | Promise<Response>;
  sockets: OpenSockets;
  /** Where refusals are logged; `close()` it on shutdown (pending summaries). */
  refusals: RefusalLog;
  /** The SSE fallback's sessions (with `deps.bus`); `close()` it on shutdown. */
  sse?: SseTransport;
}

/** The repository's `static/` folder, wherever the process was started. */
export const STATIC_ROOT: string = decodeURIComponent(
  new URL("../../static", import.meta.url).pathname,
);

/**
 * Creates the hono app serving `/ws`, `/healthz`, `/api`, `/metrics` and the
 * static client.
 *
 * @example Usage
 * ```ts ignore
 * const { fetch } = createApp({ hub, log, metrics, config, nodeId: "n1" });
 * Deno.serve({ port: 0 }, fetch);
 * ```
 */
export function createApp(deps: AppDeps): App {
  const app = new Hono();
  const sockets = new OpenSockets();
  const refusals = createRefusalLog(deps.config, deps.log, deps.metrics);
  const ws = mountWs(app, {
    hub: deps.hub,
    sockets,
    config: {
      ...configGroup(deps.config, "limits"),
      ...configGroup(deps.config, "security"),
    },
    metrics: deps.metrics,
    refusals,
    verifier: deps.verifier,
    ...(deps.ready === undefined ? {} : { ready: deps.ready }),
  });
  const sse = deps.bus === undefined ? undefined : mountSse(app, {
    hub: deps.hub,
    bus: deps.bus,
    sockets,
    config: {
      ...configGroup(deps.config, "limits"),
      ...configGroup(deps.config, "security"),
      ...configGroup(deps.config, "sse"),
    },
    metrics: deps.metrics,
    refusals,
    verifier: deps.verifier,
    ...(deps.ready === undefined ? {} : { ready: deps.ready }),
  });
  // Pusher protocol (GET /app/:key, /apps/:id/...) when an app is configured.
  mountPusher(app, {
    hub: deps.hub,
    sockets,
    config: deps.config,
    metrics: deps.metrics,
    log: deps.log,
    nodeId: deps.nodeId,
    ...(deps.ready === undefined ? {} : { ready: deps.ready }),
  });
  if (deps.config.dev) {
    mountToken(app, configGroup(deps.config, "security"));
  }
  mountClientConfig(app, {
    tokenRequired: !deps.config.allowAnonymous && deps.verifier !== undefined,
    demoTokens: deps.config.dev && deps.config.authSecret !== "",
    maxMessageBytes: deps.config.maxMessageBytes,
    tokenDocs:
      'docs/deploy.md, "Token endpoint": your backend signs a JWT with AUTH_SECRET',
  });
  mountHealth(app, {
    hub: deps.hub,
    nodeId: deps.nodeId,
    startedAt: deps.startedAt ?? Date.now(),
    ...(deps.ready === undefined ? {} : { ready: deps.ready }),
  });
  mountApi(app, {
    hub: deps.hub,
    log: deps.log,
    metrics: deps.metrics,
    refusals,
    apiKey: deps.config.apiKey,
    maxBodyBytes: deps.config.maxMessageBytes,
    maxJsonDepth: deps.config.maxJsonDepth,
    maxHistoryRead: deps.config.maxHistoryRead,
  });
  mountMetrics(app, {
    hub: deps.hub,
    metrics: deps.metrics,
    refusals,
    token: deps.config.metricsToken || deps.config.apiKey,
    nodeId: deps.nodeId,
  });
  if (deps.admin !== undefined) {
    mountAdmin(app, {
      admin: deps.admin,
      hub: deps.hub,
      log: deps.log,
      metrics: deps.metrics,
      refusals,
      nodeId: deps.nodeId,
      token: deps.config.adminToken || deps.config.apiKey,
      allowedOrigins: deps.config.allowedOrigins,
      maxBodyBytes: deps.config.maxMessageBytes,
      maxJsonDepth: deps.config.maxJsonDepth,
      staticRoot: deps.staticRoot ?? STATIC_ROOT,
    });
  } else mountAdminDisabled(app);
  app.use("/*", etag());
  app.use("/*", serveStatic({ root: deps.staticRoot ?? STATIC_ROOT }));
  app.notFound(() => jsonError(404, "not_found", "No such resource"));
  const failed = (error: unknown) => {
    deps.log.error("Request failed", { error: String(error) });
    return jsonError(500, "internal", "Internal server error");
  };
  app.onError(failed);
  const fetch = (req: Request, info: Deno.ServeHandlerInfo) => {
    if (req.method !== "GET" || !isWsPath(req.url)) return app.fetch(req, info);
    try {
      const answer = ws(req, info);
      return answer instanceof Promise ? answer.catch(failed) : answer;
    } catch (error) {
      return failed(error);
    }
  };
  return {
    app,
    fetch,
    sockets,
    refusals,
    ...(sse === undefined ? {} : { sse }),
  };
}
