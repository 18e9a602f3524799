/**
 * The dashboard's view of every node: the latest stats snapshot of each
 * (its own included) and a bounded ring of samples per node for the charts.
 * Bounded in nodes (`maxNodes`; more are dropped and counted), in samples
 * per node (the ring) and in rooms per snapshot (the sender's limit, checked
 * by the bus). A node not heard from for `timeoutMs` is forgotten, as is
 * one that posts `node-down`.
 *
 * @module
 */

import {
  type NodeStats,
  STAT_FIGURES,
  type StatFigure,
} from "../protocol/mod.ts";
import type { Metrics } from "../support/metrics.ts";
import {
  type ClusterSeries,
  clusterSeries,
  Ring,
  type Sample,
} from "./series.ts";

/** Options of {@linkcode ClusterView}. */
export interface ClusterViewOptions {
  /** This node's id: never forgotten. */
  selfId: string;
  /** Nodes tracked at once. */
  maxNodes: number;
  /** Samples kept per node. */
  samples: number;
  /** The sampling interval, ms (the charts' resolution). */
  intervalMs: number;
  /** A node silent this long is forgotten, ms. */
  timeoutMs: number;
  metrics: Metrics;
  /** Clock, ms. @default {Date.now} */
  now?: () => number;
}

/** One row of the nodes table. */
export interface NodeRow {
  node: string;
  label: string;
  engine: string;
  version: string;
  uptimeS: number;
  /** This node's own row. */
  self: boolean;
  /** Seconds since its last snapshot arrived. */
  ageS: number;
  figures: Record<StatFigure, number>;
  /** Rooms in its snapshot. */
  rooms: number;
}

interface Entry {
  stats: NodeStats;
  receivedAt: number;
  ring: Ring<Sample>;
}

/** Every node's latest stats and recent samples. */
export class ClusterView {
  readonly #nodes = new Map<string, Entry>();
  readonly #options: ClusterViewOptions;
  readonly #now: () => number;

  /** An empty view. */
  constructor(options: ClusterViewOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Nodes known. */
  get size(): number {
    return this.#nodes.size;
  }

  /** Records a snapshot (this node's or one from the bus). */
  record(stats: NodeStats): void {
    this.sweep();
    const now = this.#now();
    let entry = this.#nodes.get(stats.node);
    if (entry === undefined) {
      if (this.#nodes.size >= this.#options.maxNodes) {
        this.#options.metrics.inc("admin_dropped_total", 1, "nodes");
        return;
      }
      entry = { stats, receivedAt: now, ring: new Ring(this.#options.samples) };
      this.#nodes.set(stats.node, entry);
    }
    entry.stats = stats;
    entry.receivedAt = now;
    entry.ring.push({ at: now, figures: stats.figures });
  }

  /** Forgets a node (it shut down). */
  forget(node: string): void {
    if (node !== this.#options.selfId) this.#nodes.delete(node);
  }

  /** Forgets the nodes silent for longer than `timeoutMs`. */
  sweep(): void {
    const cutoff = this.#now() - this.#options.timeoutMs;
    for (const [node, entry] of this.#nodes) {
      if (node !== this.#options.selfId && entry.receivedAt < cutoff) {
        this.#nodes.delete(node);
      }
    }
  }

  /** The nodes table, this node first, then by label. */
  nodes(): NodeRow[] {
    this.sweep();
    const now = this.#now();
    const rows = [...this.#nodes.values()].map(({ stats, receivedAt }) => ({
      node: stats.node,
      label: stats.label,
      engine: stats.engine,
      version: stats.version,
      uptimeS: Math.max(0, Math.round((stats.at - stats.startedAt) / 1000)),
      self: stats.node === this.#options.selfId,
      ageS: Math.round((now - receivedAt) / 100) / 10,
      figures: { ...stats.figures },
      rooms: stats.rooms.length,
    }));
    return rows.sort((a, b) =>
      Number(b.self) - Number(a.self) || a.label.localeCompare(b.label) ||
      a.node.localeCompare(b.node)
    );
  }

  /** The latest figures summed over every node. */
  totals(): Record<StatFigure, number> | undefined {
    let sum: Record<StatFigure, number> | undefined;
    for (const { stats } of this.#nodes.values()) {
      if (sum === undefined) sum = { ...stats.figures };
      else {
        for (const figure of STAT_FIGURES) sum[figure] += stats.figures[figure];
      }
    }
    return sum;
  }

  /**
   * Connections per room over every node but `except`, from the snapshots
   * (each node's top rooms).
   */
  roomConnections(
    except?: string,
  ): Map<string, { connections: number; nodes: number }> {
    const rooms = new Map<string, { connections: number; nodes: number }>();
    for (const { stats } of this.#nodes.values()) {
      if (stats.node === except) continue;
      for (const { room, connections } of stats.rooms) {
        const entry = rooms.get(room) ?? { connections: 0, nodes: 0 };
        entry.connections += connections;
        entry.nodes += 1;
        rooms.set(room, entry);
      }
    }
    return rooms;
  }

  /** Connections to `room` per node, from the snapshots. */
  roomNodes(room: string): { node: string; connections: number }[] {
    const out: { node: string; connections: number }[] = [];
    for (const { stats } of this.#nodes.values()) {
      const found = stats.rooms.find((r) => r.room === room);
      if (found !== undefined) {
        out.push({ node: stats.node, connections: found.connections });
      }
    }
    return out;
  }

  /** The cluster's series over the last `windowMs`. */
  series(windowMs: number): ClusterSeries {
    this.sweep();
    const rings = [...this.#nodes.values()].map((e) => e.ring.toArray());
    return clusterSeries(
      rings,
      this.#options.intervalMs,
      this.#now(),
      windowMs,
    );
  }
}
