/**
 * Report parts of the issue #12–#14 cases: each case's paired target ratios
 * (e.g. roomcast Pusher ÷ Soketi), and for multi-node contestants (Redis
 * engine) what each node's bus received, the Redis round trip's share of
 * the latency, and the scaling curve's bus CPU per node.
 *
 * @module
 */

import { fmt } from "./progress.ts";
import type { BenchResults } from "./report.ts";
import { labelOf, ran } from "./report_tables.ts";
import type { BenchCase } from "./scenarios.ts";
import {
  pairedRatio,
  type RunRecord,
  summarize,
  type Summary,
} from "./stats.ts";

function range(s: Summary | undefined, digits: number): string {
  if (!s) return "–";
  const spread = s.n > 1
    ? ` [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`
    : "";
  return `${fmt(s.median, digits)}${spread}`;
}

const mean = (v: number[]) =>
  v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;

/** Mean CPU per node of a multi-node run, in cores. */
export function cpuPerNode(r: RunRecord): number | undefined {
  const cpus = (r.nodes ?? []).map((n) => n.cpu).filter((c) => c !== undefined);
  return cpus.length ? mean(cpus) : undefined;
}

/**
 * Share of the mean publish→receive latency spent in Redis round trips on
 * the publishing node (the first): its Redis commands per publish × their
 * mean time (from `/metrics`) ÷ the mean latency.
 */
export function redisShare(r: RunRecord): number | undefined {
  const first = r.nodes?.[0];
  const meanMs = r.result?.meanMs;
  if (!first || !first.publishes || !first.redisCommands || !meanMs) {
    return undefined;
  }
  const perPublishMs = first.redisCommandMs / first.publishes;
  return perPublishMs / meanMs;
}

function runsOf(results: BenchResults, c: BenchCase, id: string): RunRecord[] {
  return results.runs.filter((r) =>
    r.ok && r.caseId === c.id && r.contestant === id
  );
}

function over(
  runs: RunRecord[],
  pick: (r: RunRecord) => number | undefined,
): Summary | undefined {
  return summarize(
    runs.map(pick).filter((v): v is number =>
      v !== undefined && Number.isFinite(v)
    ),
  );
}

/** Lines "a ÷ b, metric: median [min–max] (target …)" of a case. */
export function pairLines(results: BenchResults, c: BenchCase): string[] {
  return (c.pairs ?? []).flatMap((p) => {
    const s = pairedRatio(results.runs, c.id, p.a, p.b, p.metric);
    if (!s) return [];
    const name = p.metric === "p99Ms" ? "p99" : "deliveries/s";
    return [
      `${labelOf(results, p.a)} ÷ ${labelOf(results, p.b)}, ${name}: ${
        range(s, 2)
      }${p.target ? ` (target ${p.target})` : ""}`,
    ];
  });
}

/** Bus CPU per node: CPU per node − the baseline's in the same repetition. */
function busCpu(
  results: BenchResults,
  c: BenchCase,
  id: string,
): Summary | undefined {
  const diffs: number[] = [];
  for (const r of runsOf(results, c, id)) {
    const base = runsOf(results, c, c.baseline).find((b) => b.rep === r.rep);
    const a = cpuPerNode(r), b = base && cpuPerNode(base);
    if (a !== undefined && b !== undefined) diffs.push(a - b);
  }
  return summarize(diffs);
}

/** Per contestant with nodes: the node figures, as Markdown table rows. */
export function nodeTable(results: BenchResults, c: BenchCase): string[] {
  const ids = ran(results, c).filter((id) =>
    runsOf(results, c, id).some((r) => r.nodes)
  );
  if (ids.length === 0) return [];
  const head = [
    "Contestant",
    "nodes",
    "CPU per node",
    "bus CPU per node",
    "redis-server CPU",
    "bus posts received per node",
    "room messages from the bus per node",
    "Redis ms per command",
    "Redis share of latency",
  ];
  const rows = ids.map((id) => {
    const runs = runsOf(results, c, id);
    const perNode = (f: (r: RunRecord) => number[]) =>
      over(runs, (r) => mean(f(r)));
    return [
      labelOf(results, id),
      String(runs[0]?.nodes?.length ?? "–"),
      range(over(runs, cpuPerNode), 3),
      c.scenario === "scale" ? range(busCpu(results, c, id), 3) : "–",
      range(over(runs, (r) => r.redisCpu), 3),
      range(perNode((r) => (r.nodes ?? []).map((n) => n.postsReceived)), 0),
      range(
        perNode((r) => (r.nodes ?? []).map((n) => n.messagesReceived)),
        0,
      ),
      range(
        over(runs, (r) => {
          const n = r.nodes ?? [];
          const cmds = n.reduce((a, x) => a + x.redisCommands, 0);
          return cmds
            ? n.reduce((a, x) => a + x.redisCommandMs, 0) / cmds
            : undefined;
        }),
        3,
      ),
      c.kind === "latency" || c.scenario === "redis"
        ? range(over(runs, redisShare), 2)
        : "–",
    ];
  });
  return [
    "",
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ];
}

/** Extra Markdown after a case's table: targets and node figures. */
export function issueCaseMarkdown(
  results: BenchResults,
  c: BenchCase,
): string[] {
  const pairs = pairLines(results, c);
  return [
    ...(pairs.length ? ["", ...pairs.map((l) => `- ${l}`)] : []),
    ...nodeTable(results, c),
  ];
}

/** Extra console lines of a case (targets, bus CPU per node, Redis share). */
export function issueCaseConsole(
  results: BenchResults,
  c: BenchCase,
): string[] {
  const lines = pairLines(results, c).map((l) => `    ${l}`);
  for (const id of ran(results, c)) {
    const runs = runsOf(results, c, id);
    if (!runs.some((r) => r.nodes)) continue;
    const parts = [`CPU per node ${range(over(runs, cpuPerNode), 3)}`];
    if (c.scenario === "scale") {
      parts.push(`bus CPU per node ${range(busCpu(results, c, id), 3)}`);
    }
    const share = over(runs, redisShare);
    if (share && c.scenario === "redis") {
      parts.push(`Redis share of latency ${range(share, 2)}`);
    }
    lines.push(`    ${labelOf(results, id)}, per node: ${parts.join(", ")}`);
  }
  return lines;
}
