/**
 * `GET /metrics`: Prometheus text exposition (version 0.0.4) of this
 * isolate's metrics, guarded by a bearer token: `METRICS_TOKEN`, or
 * `API_KEY` when that is empty. With both empty the endpoint answers 404
 * `metrics_disabled`.
 *
 * Every series carries a `node` label (the isolate's id, as in the logs):
 * with `WORKERS` > 1 a scrape reaches whichever isolate accepted the
 * connection, and the label keeps each isolate's counters apart.
 *
 * @module
 */

import type { Hono } from "hono";
import type { Hub } from "../lib/hub/hub.ts";
import type { Metrics } from "../lib/support/metrics.ts";
import type { RefusalLog } from "../lib/support/refusal_log.ts";
import { bearerGuard } from "./_bearer.ts";

/** The content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

/** What the metrics route needs. */
export interface MetricsDeps {
  hub: Hub;
  metrics: Metrics;
  /** Where refused scrapes are logged (aggregated, rate limited). */
  refusals: RefusalLog;
  /** The bearer token (`METRICS_TOKEN`, else `API_KEY`); empty disables the route. */
  token: string;
  /** This isolate's id; its first 8 characters become the `node` label. */
  nodeId: string;
}

/** Mounts `GET /metrics`. */
export function mountMetrics(app: Hono, deps: MetricsDeps): void {
  const { hub, metrics, refusals } = deps;
  const labels = { node: deps.nodeId.slice(0, 8) };
  app.get(
    "/metrics",
    bearerGuard({
      key: deps.token,
      disabled: {
        code: "metrics_disabled",
        message:
          "Metrics are disabled: set METRICS_TOKEN or API_KEY to enable them",
      },
      metrics,
      metric: "metrics_refused_total",
      refusals,
      cause: "metrics",
      message: "Metrics request refused",
    }),
    () => {
      // The hub keeps these current; set them again so a scrape never lags.
      const { connections, rooms } = hub.stats();
      metrics.set("connections", connections);
      metrics.set("rooms", rooms);
      return new Response(metrics.toPrometheus(labels), {
        headers: {
          "content-type": PROMETHEUS_CONTENT_TYPE,
          "cache-control": "no-store",
        },
      });
    },
  );
}
