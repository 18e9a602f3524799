/**
 * Statistics over repetitions: median [min–max] and CV per metric, paired
 * ratios (contestant ÷ baseline within the same repetition), and the
 * generator-bound / noisy labels.
 *
 * @module
 */

import type { GenParams, GenResult } from "./loadgen.ts";
import type { NodeFigures } from "./runner_nodes.ts";

/** One contestant in one case in one repetition. */
export interface RunRecord {
  rep: number;
  caseId: string;
  contestant: string;
  ok: boolean;
  error?: string;
  startedAt: string;
  wallS: number;
  params: GenParams;
  result?: GenResult;
  /** Storm: server RSS before connecting and after settling, KiB. */
  rssIdleKb?: number | undefined;
  rssLoadedKb?: number | undefined;
  rssPerConnKb?: number | undefined;
  /** Multi-node contestants (runner_nodes.ts): each node's figures. */
  nodes?: NodeFigures[];
  /** CPU of their redis-server over the measured window, in cores. */
  redisCpu?: number | undefined;
}

/** Median, range and coefficient of variation of some values. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Standard deviation ÷ mean (0 for one value). */
  cv: number;
  n: number;
}

/** Metrics the report can show. */
export type Metric =
  | "deliveriesPerS"
  | "p50Ms"
  | "p99Ms"
  | "p999Ms"
  | "serverCpu"
  | "generatorCpu"
  | "otherCpu"
  | "usPerDelivery"
  | "connectionsPerS"
  | "rssPerConnKb"
  | "lost"
  | "connectFailed"
  /** Second-half ÷ first-half deliveries/s of one run (1 = steady). */
  | "steadyRatio";

/** Server CPU below this (in cores) means the server was not saturated. */
export const SATURATED_CPU = 0.9;

/** Other processes' CPU above this (in cores) marks a run as noisy. */
export const NOISY_OTHER_CPU = 0.2;

/** The value of `metric` in `record`, if measured. */
export function metricValue(
  record: RunRecord,
  metric: Metric,
): number | undefined {
  const r = record.result;
  const pick = (v: number | null | undefined) =>
    typeof v === "number" && Number.isFinite(v) ? v : undefined;
  switch (metric) {
    case "usPerDelivery":
      return pick(r?.serverCpuUsPerDelivery);
    case "rssPerConnKb":
      return pick(record.rssPerConnKb);
    case "connectFailed":
      return pick(r?.connectFailed);
    case "steadyRatio": {
      const first = pick(r?.firstHalfPerS), second = pick(r?.secondHalfPerS);
      return first && second !== undefined ? second / first : undefined;
    }
    default:
      return pick(r?.[metric]);
  }
}

/** Summarizes `values`; undefined when empty. */
export function summarize(values: readonly number[]): Summary | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  const variance = sorted.reduce((a, b) => a + (b - mean) ** 2, 0) /
    Math.max(1, sorted.length - 1);
  return {
    median,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    cv: mean !== 0 && sorted.length > 1 ? Math.sqrt(variance) / mean : 0,
    n: sorted.length,
  };
}

/** Successful records of one cell. */
export function cellRecords(
  records: readonly RunRecord[],
  caseId: string,
  contestant: string,
): RunRecord[] {
  return records.filter((r) =>
    r.ok && r.caseId === caseId && r.contestant === contestant
  );
}

/** Summary of `metric` over the successful runs of one cell. */
export function cellSummary(
  records: readonly RunRecord[],
  caseId: string,
  contestant: string,
  metric: Metric,
): Summary | undefined {
  return summarize(
    cellRecords(records, caseId, contestant)
      .map((r) => metricValue(r, metric))
      .filter((v): v is number => v !== undefined),
  );
}

/**
 * Paired ratios of `metric`: `a ÷ b` within each repetition where both ran
 * successfully, then summarized across repetitions.
 */
export function pairedRatio(
  records: readonly RunRecord[],
  caseId: string,
  a: string,
  b: string,
  metric: Metric,
): Summary | undefined {
  const ratios: number[] = [];
  for (const ra of cellRecords(records, caseId, a)) {
    const rb = cellRecords(records, caseId, b).find((r) => r.rep === ra.rep);
    if (!rb) continue;
    const va = metricValue(ra, metric), vb = metricValue(rb, metric);
    if (va !== undefined && vb !== undefined && vb !== 0) ratios.push(va / vb);
  }
  return summarize(ratios);
}

/** Labels for one cell: generator-bound, losses, failures, noise. */
export function cellNotes(
  records: readonly RunRecord[],
  caseId: string,
  contestant: string,
  saturating: boolean,
): string[] {
  const all = records.filter((r) =>
    r.caseId === caseId && r.contestant === contestant
  );
  const ok = all.filter((r) => r.ok);
  const notes: string[] = [];
  const failed = all.length - ok.length;
  if (failed > 0) {
    const why = all.find((r) => !r.ok)?.error ?? "unknown";
    notes.push(`${failed} failed (${why.slice(0, 60)})`);
  }
  const cpu = cellSummary(records, caseId, contestant, "serverCpu");
  const other = cellSummary(records, caseId, contestant, "otherCpu");
  const busy = other !== undefined && other.median > NOISY_OTHER_CPU;
  if (saturating && cpu && cpu.median < SATURATED_CPU) {
    notes.push(
      busy
        ? `not saturated: server CPU ${cpu.median.toFixed(2)}, other load ${
          other.median.toFixed(2)
        }`
        : `generator-bound (server CPU ${cpu.median.toFixed(2)})`,
    );
  }
  const lost = ok.reduce((a, r) => a + (r.result?.lost ?? 0), 0);
  if (lost > 0) notes.push(`lost ${lost}`);
  const dup = ok.reduce((a, r) => a + (r.result?.duplicates ?? 0), 0);
  if (dup > 0) notes.push(`duplicates ${dup}`);
  const errs = ok.reduce((a, r) => a + (r.result?.serverErrors ?? 0), 0);
  if (errs > 0) {
    const first = ok.flatMap((r) => r.result?.diagnostics ?? [])
      .find((l) => l.includes("server error"));
    notes.push(
      `server error frames ${errs}${
        first
          ? ` (${first.replace("loadgen: server error: ", "").slice(0, 80)})`
          : ""
      }`,
    );
  }
  const cf = ok.reduce((a, r) => a + (r.result?.connectFailed ?? 0), 0);
  if (cf > 0) notes.push(`connect failures ${cf}`);
  const timedOut = ok.filter((r) => r.result?.timedOut).length;
  if (timedOut > 0) notes.push(`${timedOut} hit the time limit`);
  const noisy =
    ok.filter((r) => (metricValue(r, "otherCpu") ?? 0) > NOISY_OTHER_CPU)
      .length;
  const explained = notes.some((n) => n.startsWith("not saturated"));
  if (noisy > 0 && !explained) {
    notes.push(`noisy: ${noisy}/${ok.length} with other CPU > 0.2`);
  }
  return notes;
}
