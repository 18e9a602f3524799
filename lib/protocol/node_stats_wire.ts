/**
 * The stats snapshot each node posts on the bus every few seconds for the
 * operator dashboard (clients never see it), and its validator. A snapshot
 * is small and bounded: a fixed set of named figures, a few short strings
 * and at most {@linkcode MAX_STATS_ROOMS} rooms.
 *
 * @module
 */

import { isRecord } from "./json.ts";
import { isValidRoomName } from "./messages.ts";

/**
 * The figures of a snapshot, all non-negative numbers. Counters (`_total`
 * in `/metrics`) only grow while the node lives; gauges are the current
 * value. The dashboard turns counters into rates.
 */
export const STAT_FIGURES = [
  // gauges
  "connections",
  "rooms",
  "historyBacklog",
  "historyBacklogBytes",
  "rssBytes",
  "heapBytes",
  "lagMs",
  // counters
  "publishes",
  "deliveries",
  "bytesIn",
  "bytesOut",
  "refusedRate",
  "refusedSize",
  "refusedAuth",
  "refusedOrigin",
  "refusedCapacity",
  "slowConsumers",
  "busGaps",
  "repairs",
  "lost",
] as const;

/** The name of one figure. */
export type StatFigure = typeof STAT_FIGURES[number];

/** Figures that are gauges; the others are counters. */
export const STAT_GAUGES: ReadonlySet<StatFigure> = new Set<StatFigure>([
  "connections",
  "rooms",
  "historyBacklog",
  "historyBacklogBytes",
  "rssBytes",
  "heapBytes",
  "lagMs",
]);

/** Most rooms one snapshot may carry. */
export const MAX_STATS_ROOMS = 1_000;

/** Longest text field of a snapshot (node id, label, engine, version). */
export const MAX_STATS_TEXT = 128;

/** One room as seen by one node. */
export interface NodeRoomStats {
  room: string;
  /** Connections joined to the room on that node. */
  connections: number;
}

/** What one node says about itself. */
export interface NodeStats {
  /** The sending node's bus id. */
  node: string;
  /** Where it runs, e.g. `pid 4242 worker`. */
  label: string;
  /** Engine and history, e.g. `embedded/kv`. */
  engine: string;
  /** roomcast and Deno versions. */
  version: string;
  /** When the node started, ms since the Unix epoch. */
  startedAt: number;
  /** When the snapshot was taken, on the sender's clock (ms). */
  at: number;
  figures: Record<StatFigure, number>;
  /** Its rooms with the most connections, at most the sender's limit. */
  rooms: NodeRoomStats[];
}

/**
 * Validates a stats snapshot received from another node. Returns it, or a
 * string saying what is wrong with it. Unknown figures are ignored (a newer
 * sender); a missing one is an error.
 *
 * @example Usage
 * ```ts
 * import { parseNodeStats, STAT_FIGURES } from "./node_stats_wire.ts";
 * import assert from "node:assert/strict";
 *
 * const figures = Object.fromEntries(STAT_FIGURES.map((f) => [f, 0]));
 * const stats = { node: "n", label: "pid 1", engine: "embedded/memory", version: "1", startedAt: 0, at: 1, figures, rooms: [] };
 * assert.deepEqual(parseNodeStats(stats), stats);
 * assert.equal(parseNodeStats({ ...stats, at: -1 }), "bad at");
 * ```
 */
export function parseNodeStats(value: unknown): NodeStats | string {
  if (!isRecord(value)) return "stats is not an object";
  const { node, label, engine, version, startedAt, at, figures, rooms } = value;
  if (!isText(node) || node === "") return "bad node";
  if (!isText(label)) return "bad label";
  if (!isText(engine)) return "bad engine";
  if (!isText(version)) return "bad version";
  if (!isCount(startedAt)) return "bad startedAt";
  if (!isCount(at)) return "bad at";
  if (!isRecord(figures)) return "figures is not an object";
  const parsed = zeroFigures();
  for (const figure of STAT_FIGURES) {
    const n = figures[figure];
    if (!isCount(n)) return `bad figure ${figure}`;
    parsed[figure] = n;
  }
  if (!Array.isArray(rooms) || rooms.length > MAX_STATS_ROOMS) {
    return "bad rooms";
  }
  const list: NodeRoomStats[] = [];
  for (const item of rooms) {
    if (!isRecord(item)) return "room is not an object";
    const { room, connections } = item;
    if (!isValidRoomName(room)) return "bad room";
    if (!isCount(connections)) return "bad room connections";
    list.push({ room, connections });
  }
  return {
    node,
    label,
    engine,
    version,
    startedAt,
    at,
    figures: parsed,
    rooms: list,
  };
}

/** Every figure at 0. */
export function zeroFigures(): Record<StatFigure, number> {
  return {
    connections: 0,
    rooms: 0,
    historyBacklog: 0,
    historyBacklogBytes: 0,
    rssBytes: 0,
    heapBytes: 0,
    lagMs: 0,
    publishes: 0,
    deliveries: 0,
    bytesIn: 0,
    bytesOut: 0,
    refusedRate: 0,
    refusedSize: 0,
    refusedAuth: 0,
    refusedOrigin: 0,
    refusedCapacity: 0,
    slowConsumers: 0,
    busGaps: 0,
    repairs: 0,
    lost: 0,
  };
}

function isText(s: unknown): s is string {
  return typeof s === "string" && s.length <= MAX_STATS_TEXT;
}

function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isFinite(n) && n >= 0;
}
