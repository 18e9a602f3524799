/**
 * The end-of-run summary printed to the console (also with `--no-report`):
 * per case and contestant the headline median [min–max] and CV, the paired
 * ratios against bare Deno and Bun, and the steady-state check (second half
 * ÷ first half of each run's deliveries/s).
 *
 * @module
 */

import { fmt } from "./progress.ts";
import type { BenchResults } from "./report.ts";
import { issueCaseConsole } from "./report_nodes.ts";
import { headline, labelOf, ran } from "./report_tables.ts";
import {
  cellSummary,
  type Metric,
  pairedRatio,
  type Summary,
} from "./stats.ts";

/** Against these, when they ran, every contestant gets a paired ratio. */
const RATIO_PEERS = ["deno-bare", "bun"];

function range(s: Summary | undefined, digits: number): string {
  if (!s) return "–";
  const spread = s.n > 1
    ? ` [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`
    : "";
  return `${fmt(s.median, digits)}${spread}`;
}

/** Lines of the summary, one block per case. */
export function consoleSummary(results: BenchResults): string[] {
  const lines: string[] = ["Summary (medians [min–max] over repetitions):"];
  for (const c of results.cases) {
    const ids = ran(results, c);
    if (ids.length === 0) continue;
    const { metric, name } = headline(c);
    lines.push(`  ${c.id}: ${name}`);
    for (const id of ids) {
      const s = (m: Metric) => cellSummary(results.runs, c.id, id, m);
      const main = s(metric);
      const digits = metric === "deliveriesPerS" ? 0 : 2;
      const parts = [
        `${range(main, digits)}${
          main && main.n > 1 ? ` CV ${(main.cv * 100).toFixed(1)} %` : ""
        }`,
      ];
      if (c.kind !== "storm") {
        parts.push(
          `p50 ${range(s("p50Ms"), 2)}`,
          `p99 ${range(s("p99Ms"), 2)}`,
        );
      }
      parts.push(`server CPU ${range(s("serverCpu"), 2)}`);
      parts.push(`other CPU ${range(s("otherCpu"), 2)}`);
      for (const peer of RATIO_PEERS) {
        if (peer === id || !ids.includes(peer)) continue;
        const ratio = pairedRatio(results.runs, c.id, id, peer, metric);
        parts.push(`÷ ${labelOf(results, peer)} ${range(ratio, 2)}`);
        if (c.kind === "latency") {
          const p50 = pairedRatio(results.runs, c.id, id, peer, "p50Ms");
          parts.push(`p50 ÷ ${labelOf(results, peer)} ${range(p50, 2)}`);
        }
      }
      const steady = s("steadyRatio");
      if (c.kind === "throughput" && steady) {
        parts.push(`2nd ÷ 1st half ${range(steady, 2)}`);
      }
      lines.push(`    ${labelOf(results, id)}: ${parts.join(", ")}`);
    }
    lines.push(...issueCaseConsole(results, c));
  }
  return lines;
}
