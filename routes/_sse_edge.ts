/**
 * The checks every request of the HTTP fallback transport passes, the same
 * as `/ws`'s: drain and readiness, the Origin allow-list, capacity and
 * per-IP limits (streams count as connections), then the token (header
 * `Authorization: Bearer`, `?token=` or the `roomcast_token` cookie) or an
 * anonymous identity. CORS headers go to allowed origins only.
 *
 * @module
 */

import type { Context } from "hono";
import { AuthError, type Verifier } from "../lib/support/auth.ts";
import type { ConfigGroup } from "../lib/support/config.ts";
import type { ConnectOptions, Hub } from "../lib/hub/hub.ts";
import { jsonError } from "../lib/support/http_error.ts";
import type { Metrics } from "../lib/support/metrics.ts";
import type { RefusalLog } from "../lib/support/refusal_log.ts";
import { KeyedLimiter } from "../lib/support/rate_limit.ts";
import { principalOf } from "../lib/sse/sessions.ts";
import { identify, TOKEN_PROTOCOL_PREFIX } from "./_identity.ts";
import type { OpenSockets } from "./_open_sockets.ts";
import { remoteIp } from "./_remote_ip.ts";
import { originAllowed } from "./ws.ts";
import { readAtMost } from "../lib/support/read_at_most.ts";

/** What the edge checks need. */
export interface SseEdgeDeps {
  hub: Hub;
  sockets: OpenSockets;
  config:
    & ConfigGroup<"limits">
    & ConfigGroup<"security">
    & ConfigGroup<"sse">;
  metrics: Metrics;
  refusals: RefusalLog;
  verifier: Verifier | undefined;
  ready?: () => boolean;
  now?: () => number;
}

/** Who a request speaks for. */
export interface SseCaller {
  who: ConnectOptions;
  /** See `principalOf` (lib/sse/sessions.ts). */
  principal: string;
  ip: string;
}

/** The edge checks, with their own per-IP open rate. */
export class SseEdge {
  readonly #deps: SseEdgeDeps;
  readonly #opens: KeyedLimiter;

  /** Checks with `deps`. */
  constructor(deps: SseEdgeDeps) {
    this.#deps = deps;
    const perS = deps.config.maxUpgradesPerSPerIp;
    this.#opens = new KeyedLimiter(perS, 2 * perS);
  }

  /** A refusal: counted by reason, answered as JSON (with CORS when allowed). */
  refuse(
    c: Context,
    status: number,
    reason: string,
    message: string,
    headers: Record<string, string> = {},
  ): Response {
    this.#deps.metrics.inc("sse_refused_total", 1, reason);
    return jsonError(status, reason, message, { ...this.cors(c), ...headers });
  }

  /** CORS headers for an allowed cross-origin request; none otherwise. */
  cors(c: Context): Record<string, string> {
    const origin = c.req.header("origin");
    if (
      origin === undefined ||
      !originAllowed(c.req.raw, this.#deps.config.allowedOrigins)
    ) return {};
    return {
      "access-control-allow-origin": origin,
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": "content-type",
      vary: "Origin",
    };
  }

  /** Whether the request's Origin (if any) is allowed. */
  originOk(c: Context): boolean {
    return originAllowed(c.req.raw, this.#deps.config.allowedOrigins);
  }

  /** The checks before a stream opens (as `/ws` before an upgrade), or undefined. */
  admitStream(c: Context): Response | undefined {
    const { hub, sockets, config, ready, now = Date.now } = this.#deps;
    if (hub.draining) {
      return this.refuse(c, 503, "draining", "The server is shutting down", {
        "retry-after": "1",
      });
    }
    if (ready !== undefined && !ready()) {
      return this.refuse(c, 503, "not_ready", "The engine is not connected", {
        "retry-after": "1",
      });
    }
    if (!this.originOk(c)) {
      return this.refuse(c, 403, "forbidden_origin", "Origin not allowed");
    }
    const ip = remoteIp(c);
    if (sockets.size >= config.maxConnections) {
      return this.refuse(c, 503, "capacity", "Server at capacity", {
        "retry-after": "5",
      });
    }
    if (!this.#opens.take(ip, now())) {
      return this.refuse(c, 429, "ip_rate", "Too many connection attempts", {
        "retry-after": "1",
      });
    }
    if (sockets.countFrom(ip) >= config.maxConnectionsPerIp) {
      return this.refuse(c, 429, "ip_connections", "Too many connections", {
        "retry-after": "5",
      });
    }
    return undefined;
  }

  /** The caller's identity as `/ws` would judge it, or a 401. */
  async authenticate(c: Context): Promise<SseCaller | Response> {
    const { config, metrics, refusals, verifier } = this.#deps;
    const ip = remoteIp(c);
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")
      ?.[1];
    const offered = bearer === undefined
      ? []
      : [`${TOKEN_PROTOCOL_PREFIX}${bearer}`];
    let who: ConnectOptions;
    try {
      who = await identify(c, offered, verifier, config.allowAnonymous);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      metrics.inc("auth_failures_total", 1, error.reason);
      refusals.refuse("info", `sse:${error.reason}`, "SSE refused: bad token", {
        reason: error.reason,
        ip,
      });
      return this.refuse(c, 401, "unauthorized", error.message, {
        "www-authenticate": "Bearer",
      });
    }
    if (who.memberId === undefined) {
      metrics.inc("auth_failures_total", 1, "missing");
      return this.refuse(c, 401, "unauthorized", "A token is required", {
        "www-authenticate": "Bearer",
      });
    }
    const named = who.access === undefined && c.req.query("user") !== undefined;
    return { who, principal: principalOf(who, named), ip };
  }
}

/** The request body as text, or undefined when it passes `maxBytes`. */
export async function readBounded(
  request: Request,
  maxBytes: number,
): Promise<string | undefined> {
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > maxBytes) return undefined;
  const bytes = await readAtMost(request.body, maxBytes);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}
