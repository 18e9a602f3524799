/**
 * `GET /healthz`: liveness with uptime and counts. `GET /readyz`: whether
 * a load balancer should send traffic here.
 *
 * @module
 */

import type { Hono } from "hono";
import type { Hub } from "../lib/hub/hub.ts";

/** What the health routes report on. */
export interface HealthDeps {
  hub: Hub;
  nodeId: string;
  /** Whether the server can take traffic (engine connected, not draining). @default {() => true} */
  ready?: () => boolean;
  /** Process start, ms since the Unix epoch. */
  startedAt: number;
  now?: () => number;
}

/** Mounts `GET /healthz` (liveness) and `GET /readyz` (readiness: 503 while the engine is unreachable or the server drains). */
export function mountHealth(app: Hono, deps: HealthDeps): void {
  const now = deps.now ?? Date.now;
  app.get("/healthz", (c) => {
    const { connections, rooms } = deps.hub.stats();
    return c.json({
      status: deps.hub.draining ? "draining" : "ok",
      uptimeS: Math.round((now() - deps.startedAt) / 1000),
      connections,
      rooms,
      node: deps.nodeId,
    });
  });
  app.get("/readyz", (c) => {
    const ready = !deps.hub.draining && (deps.ready?.() ?? true);
    return c.json(
      {
        status: ready ? "ready" : deps.hub.draining ? "draining" : "not ready",
      },
      ready ? 200 : 503,
    );
  });
}
