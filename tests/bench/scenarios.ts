/**
 * The scenarios and their cases, with the counts of a full run and of
 * `--quick`. Every case is bounded by a message (or connection) count and by
 * a time limit; the generator also has a self-exit timer.
 *
 * @module
 */

import type { GenParams } from "./loadgen.ts";
import { issueCases } from "./scenarios_issues.ts";

/** Scenario names accepted by `--scenario`. */
export const SCENARIOS = [
  "fanout",
  "fixed",
  "rooms",
  "storm",
  "hop",
  // issues #12, #13, #14 (scenarios_issues.ts)
  "pusher",
  "redis",
  "scale",
  "sse",
] as const;

/** One of {@linkcode SCENARIOS}. */
export type ScenarioName = typeof SCENARIOS[number];

/** What a case measures, which decides its table and headline metric. */
export type CaseKind = "throughput" | "latency" | "storm";

/** One measured configuration, run for every eligible contestant. */
export interface BenchCase {
  id: string;
  scenario: ScenarioName;
  title: string;
  kind: CaseKind;
  /** Contestant ids this case runs, in order. */
  contestants: readonly string[];
  /** Paired ratios are taken against this contestant. */
  baseline: string;
  params: GenParams;
  /** Fixed load: offer this fraction of the baseline's capacity in `capacityCase`. */
  offered?: { fraction: number; capacityCase: string };
  /** Throughput cases that do not try to saturate the server (no generator-bound label). */
  unsaturated?: boolean;
  /** Storm: wait this long after the last handshake before reading RSS. */
  settleMs?: number;
  /** Multi-node cases: `rooms` and `rate` are per node (× the contestant's nodes). */
  perNode?: boolean;
  /** Paired ratios printed as targets in the report and the summary. */
  pairs?: readonly CasePair[];
}

/** A paired ratio `a ÷ b` of `metric` a case reports, with its target. */
export interface CasePair {
  a: string;
  b: string;
  metric: "deliveriesPerS" | "p99Ms";
  /** e.g. "≥ 1.5" or "≤ 1.5". */
  target?: string;
}

/** Main contestants (every scenario except the cross-isolate hop). */
export const MAIN_CONTESTANTS: readonly string[] = [
  "roomcast",
  "roomcast-batch",
  "roomcast-memory",
  "roomcast-par",
  "deno-bare",
  "ws",
  "socketio",
  "bun",
];

const HOP_CONTESTANTS = [
  "roomcast",
  "roomcast-par-same",
  "roomcast-par-cross",
];

/** Default offered load when bare Deno's capacity was not measured (deliveries/s). */
export const DEFAULT_CAPACITY = 130_000;

/** Sizes that depend on the machine. */
export interface Limits {
  /** Largest fan-out N (fd limit permitting, at most 9000). */
  maxFanout: number;
  /** Storm connections (at most 10,000). */
  stormConnections: number;
}

/** Largest fan-out and storm sizes allowed by a per-process fd limit. */
export function limitsFor(fdLimit: number): Limits {
  const half = Math.floor((fdLimit - 1000) / 2 / 1000) * 1000;
  return {
    maxFanout: Math.max(1000, Math.min(9000, half)),
    stormConnections: Math.max(1000, Math.min(10_000, fdLimit - 1000)),
  };
}

/** The cases of a full run (`quick = false`) or of `--quick`. */
export function buildCases(quick: boolean, limits: Limits): BenchCase[] {
  const q = <T>(full: T, small: T): T => quick ? small : full;
  const bigN = q(limits.maxFanout, Math.min(3000, limits.maxFanout));
  const fanout = (n: number, msgs: number): BenchCase => ({
    id: `fanout-${n}`,
    scenario: "fanout",
    title: `Fan-out 1→${n.toLocaleString("en-US")}, one room, W = 4`,
    kind: "throughput",
    contestants: MAIN_CONTESTANTS,
    baseline: "deno-bare",
    params: {
      mode: "window",
      subs: n,
      msgs,
      warmup: Math.ceil(msgs / 10),
      window: 4,
      timeLimit: q(60, 20),
      connectLimit: q(20, 10),
    },
  });
  // At least 2,000 measured messages at 1→100 and 1→1000 (450k and 2M
  // deliveries, ≈ 3–4 s and ≈ 15 s for bare Deno): shorter runs at 1→1000
  // end before the server reaches steady state (GC, buffers). The largest N
  // keeps ~450k deliveries (2,000 messages to 9,000 would take minutes).
  const cases: BenchCase[] = [
    fanout(100, q(4500, 1000)),
    fanout(1000, q(2000, 100)),
    fanout(bigN, Math.max(10, Math.round(q(450_000, 90_000) / bigN))),
  ];
  const fixedN = q(1000, 500);
  cases.push({
    id: `fixed-${fixedN}`,
    scenario: "fixed",
    title: `Fixed load, 1→${fixedN}, half of bare Deno's capacity`,
    kind: "latency",
    contestants: MAIN_CONTESTANTS,
    baseline: "deno-bare",
    offered: { fraction: 0.5, capacityCase: "fanout-1000" },
    params: {
      mode: "rate",
      subs: fixedN,
      rate: 0,
      timeLimit: q(20, 10),
      connectLimit: q(20, 10),
    },
  });
  const rooms = q(100, 20), members = 10;
  cases.push({
    id: `rooms-${rooms}x${members}`,
    scenario: "rooms",
    title:
      `${rooms} rooms × ${members}, everyone publishing (1 in flight each)`,
    kind: "throughput",
    contestants: MAIN_CONTESTANTS,
    baseline: "deno-bare",
    params: {
      mode: "rooms",
      rooms,
      members,
      msgs: q(40_000, 4000),
      warmup: q(4000, 400),
      window: 1,
      timeLimit: q(40, 20),
      connectLimit: q(20, 10),
    },
  });
  const storm = q(limits.stormConnections, 2000);
  cases.push({
    id: `storm-${storm}`,
    scenario: "storm",
    title: `Connection storm, ${
      storm.toLocaleString("en-US")
    } connections (256 handshakes in flight)`,
    kind: "storm",
    contestants: MAIN_CONTESTANTS,
    baseline: "deno-bare",
    settleMs: q(2000, 1000),
    params: {
      mode: "storm",
      subs: storm,
      conc: 256,
      timeLimit: q(40, 20),
      connectLimit: q(40, 20),
      hold: 30,
    },
  });
  const hopN = 500;
  cases.push({
    id: `hop-fanout-${hopN}`,
    scenario: "hop",
    title: `Cross-isolate hop, fan-out 1→${hopN}, W = 4`,
    kind: "throughput",
    contestants: HOP_CONTESTANTS,
    baseline: "roomcast",
    params: {
      mode: "window",
      subs: hopN,
      msgs: q(600, 100),
      warmup: q(60, 10),
      window: 4,
      timeLimit: q(40, 20),
      connectLimit: q(20, 10),
    },
  });
  cases.push({
    id: "hop-relay",
    scenario: "hop",
    title: "Cross-isolate hop, relay 1→1, one message in flight",
    kind: "throughput",
    unsaturated: true,
    contestants: HOP_CONTESTANTS,
    baseline: "roomcast",
    params: {
      mode: "window",
      subs: 1,
      msgs: q(2000, 500),
      warmup: q(200, 50),
      window: 1,
      timeLimit: q(20, 10),
      connectLimit: 10,
    },
  });
  cases.push(...issueCases(quick));
  return cases;
}

/** Longest time limit a fixed-load run is given, s: a load test stops by itself. */
export const FIXED_MAX_S = 3600;

/**
 * Rate-mode parameters for a fixed-load case given the measured capacity
 * (or an explicit `fixedRate` in msg/s): 4 seconds' worth of messages (2 with
 * `quick`) unless `fixedMsgs` says how many, with a time limit that fits them.
 */
export function fixedLoad(
  c: BenchCase,
  capacity: number,
  quick: boolean,
  fixedRate?: number,
  fixedMsgs?: number,
): GenParams {
  const subs = c.params.subs ?? 1000;
  const fraction = c.offered?.fraction ?? 0.5;
  const rate = fixedRate ??
    Math.max(1, Math.round(capacity * fraction / subs));
  const seconds = quick ? 2 : 4;
  const msgs = fixedMsgs ?? Math.max(100, Math.round(rate * seconds));
  const warmup = Math.max(10, Math.round(msgs / 10));
  // Twice the planned duration, so a server that falls behind still finishes;
  // never more than FIXED_MAX_S (the run then ends as timed out).
  const planned = Math.min(
    FIXED_MAX_S,
    Math.ceil(2 * (msgs + warmup) / rate) + 5,
  );
  return {
    ...c.params,
    rate,
    msgs,
    warmup,
    timeLimit: Math.max(c.params.timeLimit, planned),
  };
}
