/**
 * `GET /healthz`: liveness with uptime and counts.
 *
 * @module
 */

import type { Hono } from "hono";
import type { Hub } from "../lib/hub.ts";

/** What the health route reports on. */
export interface HealthDeps {
  hub: Hub;
  nodeId: string;
  /** Process start, ms since the Unix epoch. */
  startedAt: number;
  now?: () => number;
}

/** Mounts `GET /healthz`. */
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
}
