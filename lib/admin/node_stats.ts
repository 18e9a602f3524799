/**
 * This node's stats snapshot, read from the same {@linkcode Metrics} as
 * `/metrics` plus the process (RSS, heap) and an event-loop lag probe.
 *
 * @module
 */

import type { Hub } from "../hub/hub.ts";
import {
  type NodeRoomStats,
  type NodeStats,
  PROTOCOL_VERSION,
  type StatFigure,
} from "../protocol/mod.ts";
import type { Metrics } from "../support/metrics.ts";

/** Who this node is, for its snapshots. */
export interface NodeIdentity {
  node: string;
  /** Where it runs, e.g. `pid 4242 worker`. */
  label: string;
  /** e.g. `embedded/kv`, `redis`. */
  engine: string;
  startedAt: number;
}

/** The version string of a snapshot: protocol and runtime. */
export const NODE_VERSION =
  `roomcast/${PROTOCOL_VERSION} deno/${Deno.version.deno}`;

/** `pid <pid> main` or `pid <pid> worker`. */
export function processLabel(): string {
  const worker = "WorkerGlobalScope" in globalThis;
  return `pid ${Deno.pid} ${worker ? "worker" : "main"}`;
}

/**
 * The figures of `metrics` (the `/metrics` counters, summed over their
 * labels where a figure groups several) and the hub's current counts.
 */
export function readFigures(
  metrics: Metrics,
  hub: Hub,
  lagMs: number,
): Record<StatFigure, number> {
  const { connections, rooms } = hub.stats();
  const memory = Deno.memoryUsage();
  const refused = (reason: string) =>
    metrics.get("upgrades_refused_total", reason);
  return {
    connections,
    rooms,
    historyBacklog: metrics.get("history_backlog"),
    historyBacklogBytes: metrics.get("history_backlog_bytes"),
    rssBytes: memory.rss,
    heapBytes: memory.heapUsed,
    lagMs,
    publishes: metrics.total("publishes_total"),
    deliveries: metrics.total("messages_out_total"),
    bytesIn: metrics.total("bytes_in_total"),
    bytesOut: metrics.total("bytes_out_total"),
    refusedRate: metrics.total("rate_limited_total") + refused("ip_rate"),
    refusedSize: metrics.get("connections_closed_total", "1009") +
      metrics.get("api_refused_total", "too_large") +
      metrics.get("protocol_errors_total", "too_deep"),
    refusedAuth: metrics.total("auth_failures_total") +
      metrics.get("api_refused_total", "missing") +
      metrics.get("api_refused_total", "invalid") +
      metrics.total("metrics_refused_total") +
      metrics.get("admin_refused_total", "bad_token"),
    refusedOrigin: refused("forbidden_origin") +
      metrics.get("admin_refused_total", "origin"),
    refusedCapacity: refused("capacity") + refused("ip_connections") +
      refused("draining") + metrics.total("publishes_refused_total"),
    slowConsumers: metrics.total("slow_consumers_total"),
    busGaps: metrics.total("bus_gaps_total"),
    repairs: metrics.total("history_repaired_total"),
    lost: metrics.total("messages_lost_total"),
  };
}

/** The `limit` local rooms with the most connections. */
export function topRooms(hub: Hub, limit: number): NodeRoomStats[] {
  if (limit === 0) return [];
  return hub.roomList()
    .filter((r) => r.localConnections > 0)
    .sort((a, b) => b.localConnections - a.localConnections)
    .slice(0, limit)
    .map((r) => ({ room: r.room, connections: r.localConnections }));
}

/** A snapshot of this node now. */
export function snapshot(
  identity: NodeIdentity,
  figures: Record<StatFigure, number>,
  rooms: NodeRoomStats[],
  at: number,
): NodeStats {
  return {
    node: identity.node,
    label: identity.label,
    engine: identity.engine,
    version: NODE_VERSION,
    startedAt: identity.startedAt,
    at,
    figures,
    rooms,
  };
}

/**
 * Measures event-loop lag: a timer every `everyMs` notes how late it fired;
 * {@linkcode LagProbe.take} returns the worst since the last call.
 */
export class LagProbe {
  #worst = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expected = 0;
  readonly #everyMs: number;

  /** Starts probing. */
  constructor(everyMs = 250) {
    this.#everyMs = everyMs;
    this.#arm();
  }

  #arm(): void {
    this.#expected = performance.now() + this.#everyMs;
    const timer = setTimeout(() => {
      this.#worst = Math.max(this.#worst, performance.now() - this.#expected);
      this.#arm();
    }, this.#everyMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** The worst lag since the last call, ms (rounded to 0.1). */
  take(): number {
    const worst = Math.round(Math.max(0, this.#worst) * 10) / 10;
    this.#worst = 0;
    return worst;
  }

  /** Stops probing. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
