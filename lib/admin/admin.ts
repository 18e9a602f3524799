/**
 * The operator dashboard's server side on one isolate: its sessions, the
 * room tap, the cluster view, and the timer that samples this node and
 * posts its stats snapshot on the bus every `ADMIN_STATS_INTERVAL_MS`.
 *
 * @module
 */

import type { Bus } from "../bus/bus.ts";
import type { Hub } from "../hub/hub.ts";
import { STAT_FIGURES, type StatFigure } from "../protocol/mod.ts";
import type { ConfigGroup } from "../support/config.ts";
import type { Metrics } from "../support/metrics.ts";
import { ClusterView } from "./cluster.ts";
import {
  LagProbe,
  type NodeIdentity,
  readFigures,
  snapshot,
  topRooms,
} from "./node_stats.ts";
import { RoomTap } from "./room_tap.ts";
import { SessionStore } from "./sessions.ts";

/** Options of {@linkcode Admin}. */
export interface AdminOptions {
  config: ConfigGroup<"admin">;
  /** The login token (`ADMIN_TOKEN`, else `API_KEY`): sessions are signed with a key derived from it. */
  secret: string;
  identity: NodeIdentity;
  metrics: Metrics;
  /** Clock, ms. @default {Date.now} */
  now?: () => number;
}

/** Intervals of silence after which a node is forgotten. */
const SILENT_INTERVALS = 3;

/** Sessions, room tap and cluster view of one isolate. */
export class Admin {
  /** Logged-in operators. */
  readonly sessions: SessionStore;
  /** Room activity and live tails. */
  readonly tap: RoomTap;
  /** Every node's stats. */
  readonly cluster: ClusterView;
  /** The settings of the `admin` group. */
  readonly config: ConfigGroup<"admin">;
  readonly #options: AdminOptions;
  readonly #now: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #probe: LagProbe | undefined;
  #unsubscribe: (() => void) | undefined;
  #bus: Bus | undefined;

  /** Builds the parts; {@linkcode Admin.start} starts sampling. */
  constructor(options: AdminOptions) {
    const { config, metrics } = options;
    this.#options = options;
    this.config = config;
    this.#now = options.now ?? Date.now;
    const now = this.#now;
    this.sessions = new SessionStore({
      secret: options.secret,
      onRevoke: (id, expiresAt) =>
        this.#bus?.publish({ kind: "admin-revoke", id, expiresAt }),
      maxSessions: config.adminMaxSessions,
      ttlMs: config.adminSessionTtlS * 1000,
      now,
      onSize: (size) => metrics.set("admin_sessions", size),
    });
    this.tap = new RoomTap({
      maxRooms: config.adminTrackedRooms,
      maxTails: config.adminMaxTails,
      payloads: !config.adminReadOnly,
      metrics,
      now,
    });
    this.cluster = new ClusterView({
      selfId: options.identity.node,
      maxNodes: config.adminMaxNodes,
      samples:
        Math.ceil(config.adminSeriesS * 1000 / config.adminStatsIntervalMs) + 1,
      intervalMs: config.adminStatsIntervalMs,
      timeoutMs: SILENT_INTERVALS * config.adminStatsIntervalMs,
      metrics,
      now,
    });
  }

  /**
   * The bus to give the hub: `bus`, with the tap noting room messages and
   * this view reading the other nodes' snapshots.
   */
  wrapBus(bus: Bus): Bus {
    this.#bus = bus;
    this.#unsubscribe = bus.subscribe((event) => {
      if (event.kind === "node-stats") this.cluster.record(event.stats);
      else if (event.kind === "node-down") this.cluster.forget(event.node);
      else if (event.kind === "admin-revoke") {
        this.sessions.revoke(event.id, event.expiresAt, true);
      }
    });
    return this.tap.wrap(bus);
  }

  /** Samples this node now and every interval, posting each snapshot on `bus`. */
  start(hub: Hub, bus: Bus): void {
    if (this.#timer !== undefined) return;
    this.#probe = new LagProbe();
    const tick = () => {
      this.tap.sample();
      this.sessions.sweep();
      const stats = snapshot(
        this.#options.identity,
        readFigures(this.#options.metrics, hub, this.#probe?.take() ?? 0),
        topRooms(hub, this.config.adminStatsRooms),
        this.#now(),
      );
      this.cluster.record(stats);
      bus.publish({ kind: "node-stats", stats });
    };
    tick();
    this.#timer = setInterval(tick, this.config.adminStatsIntervalMs);
    Deno.unrefTimer(this.#timer);
  }

  /**
   * The latest figures summed over every node, this one read afresh from
   * its metrics (the others as of their last snapshot).
   */
  totals(hub: Hub): Record<StatFigure, number> {
    const own = readFigures(this.#options.metrics, hub, 0);
    const sum = { ...own };
    for (const row of this.cluster.nodes()) {
      if (row.self) {
        sum.lagMs = row.figures.lagMs;
        continue;
      }
      for (const figure of STAT_FIGURES) {
        if (figure === "lagMs") {
          sum.lagMs = Math.max(sum.lagMs, row.figures.lagMs);
        } else sum[figure] += row.figures[figure];
      }
    }
    return sum;
  }

  /** Stops sampling and ends the open tails. */
  close(): void {
    clearInterval(this.#timer);
    this.#probe?.stop();
    this.#unsubscribe?.();
    this.tap.close();
  }
}
