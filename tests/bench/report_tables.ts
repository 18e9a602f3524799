/**
 * The tables of docs/benchmarks.md: one per case (its columns depend on what
 * the case measures) and roomcast ÷ each peer.
 *
 * @module
 */

import { fmt } from "./progress.ts";
import type { BenchResults } from "./report.ts";
import type { BenchCase } from "./scenarios.ts";
import {
  cellNotes,
  cellSummary,
  type Metric,
  pairedRatio,
  type Summary,
} from "./stats.ts";

const PEERS = ["deno-bare", "ws", "socketio", "bun"];

function cell(s: Summary | undefined, digits = 0, cv = false): string {
  if (!s) return "–";
  const range = s.n > 1 ? ` [${fmt(s.min, digits)}–${fmt(s.max, digits)}]` : "";
  const spread = cv && s.n > 1 ? ` (CV ${(s.cv * 100).toFixed(0)} %)` : "";
  return `${fmt(s.median, digits)}${range}${spread}`;
}

function ratioCell(s: Summary | undefined): string {
  return cell(s, 2);
}

/** Notes joined for a table cell (pipes and newlines escaped). */
function notesCell(notes: string[]): string {
  return notes.join("; ").replace(/\|/g, "\\|").replace(/\s+/g, " ");
}

/** Short name of contestant `id`. */
export function labelOf(results: BenchResults, id: string): string {
  return results.contestants.find((c) => c.id === id)?.short ?? id;
}

/** Contestants of `c` that have runs, in order. */
export function ran(results: BenchResults, c: BenchCase): string[] {
  return c.contestants.filter((id) =>
    results.runs.some((r) => r.caseId === c.id && r.contestant === id)
  );
}

/** The Markdown table of one case. */
export function caseTable(results: BenchResults, c: BenchCase): string[] {
  const runs = results.runs;
  const base = labelOf(results, c.baseline);
  const s = (id: string, m: Metric) => cellSummary(runs, c.id, id, m);
  const r = (id: string, m: Metric) =>
    ratioCell(pairedRatio(runs, c.id, id, c.baseline, m));
  const rows: string[][] = [];
  let head: string[];
  if (c.kind === "throughput") {
    head = [
      "Contestant",
      "deliveries/s",
      `× ${base}`,
      "p50 ms",
      "p99 ms",
      "p999 ms",
      "server CPU",
      "µs CPU/delivery",
      "generator CPU",
      "other CPU",
      "notes",
    ];
    for (const id of ran(results, c)) {
      rows.push([
        labelOf(results, id),
        cell(s(id, "deliveriesPerS"), 0, true),
        r(id, "deliveriesPerS"),
        cell(s(id, "p50Ms"), 2),
        cell(s(id, "p99Ms"), 2),
        cell(s(id, "p999Ms"), 2),
        cell(s(id, "serverCpu"), 2),
        cell(s(id, "usPerDelivery"), 2),
        cell(s(id, "generatorCpu"), 2),
        cell(s(id, "otherCpu"), 2),
        notesCell(cellNotes(runs, c.id, id, !c.unsaturated)),
      ]);
    }
  } else if (c.kind === "latency") {
    head = [
      "Contestant",
      "p50 ms",
      "p99 ms",
      "p999 ms",
      `p99 × ${base}`,
      "server CPU",
      "µs CPU/delivery",
      `µs/delivery × ${base}`,
      "other CPU",
      "notes",
    ];
    for (const id of ran(results, c)) {
      rows.push([
        labelOf(results, id),
        cell(s(id, "p50Ms"), 2),
        cell(s(id, "p99Ms"), 2),
        cell(s(id, "p999Ms"), 2),
        r(id, "p99Ms"),
        cell(s(id, "serverCpu"), 2),
        cell(s(id, "usPerDelivery"), 2),
        r(id, "usPerDelivery"),
        cell(s(id, "otherCpu"), 2),
        notesCell(cellNotes(runs, c.id, id, false)),
      ]);
    }
  } else {
    head = [
      "Contestant",
      "connections/s",
      `× ${base}`,
      "failures",
      "RSS idle → loaded (MB)",
      "KB per connection",
      `× ${base}`,
      "notes",
    ];
    for (const id of ran(results, c)) {
      const ok = runs.filter((x) =>
        x.ok && x.caseId === c.id && x.contestant === id
      );
      const mb = (v: number | undefined) => v === undefined ? NaN : v / 1024;
      const idle = ok.map((x) => mb(x.rssIdleKb)).sort((a, b) => a - b);
      const loaded = ok.map((x) => mb(x.rssLoadedKb)).sort((a, b) => a - b);
      const mid = (v: number[]) => v[Math.floor(v.length / 2)];
      rows.push([
        labelOf(results, id),
        cell(s(id, "connectionsPerS"), 0, true),
        r(id, "connectionsPerS"),
        cell(s(id, "connectFailed")),
        ok.length ? `${fmt(mid(idle), 0)} → ${fmt(mid(loaded), 0)}` : "–",
        cell(s(id, "rssPerConnKb"), 1),
        r(id, "rssPerConnKb"),
        notesCell(cellNotes(runs, c.id, id, false)),
      ]);
    }
  }
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ];
}

/** The metric a case is judged by. */
export function headline(c: BenchCase): { metric: Metric; name: string } {
  if (c.kind === "latency") return { metric: "p99Ms", name: "p99 latency" };
  if (c.kind === "storm") {
    return { metric: "rssPerConnKb", name: "RSS per connection" };
  }
  return { metric: "deliveriesPerS", name: "deliveries/s" };
}

/** roomcast ÷ each peer, paired, for every case with roomcast. */
export function peerTable(results: BenchResults): string[] {
  const peers = PEERS.filter((p) =>
    results.runs.some((r) => r.contestant === p)
  );
  const lines = [
    `| Case | roomcast | metric | ${
      peers.map((p) => `÷ ${labelOf(results, p)}`).join(" | ")
    } |`,
    `| --- | --- | --- | ${peers.map(() => "---").join(" | ")} |`,
  ];
  if (peers.length === 0) return [];
  const row = (c: BenchCase, id: string, metric: Metric, name: string) => {
    const cells = peers.map((p) =>
      ratioCell(pairedRatio(results.runs, c.id, id, p, metric))
    );
    lines.push(
      `| \`${c.id}\` | ${labelOf(results, id)} | ${name} | ${
        cells.join(" | ")
      } |`,
    );
  };
  for (const c of results.cases) {
    if (!c.contestants.includes("roomcast") || c.scenario === "hop") continue;
    if (c.pairs) continue; // issue cases report their own pairs
    const h = headline(c);
    row(c, "roomcast", h.metric, h.name);
    // Frame coalescing is a throughput lever: compare it too.
    const batched = c.kind === "throughput" &&
      results.runs.some((r) => r.caseId === c.id && r.contestant === BATCH);
    if (batched) row(c, BATCH, h.metric, h.name);
    if (c.kind === "latency") {
      row(c, "roomcast", "usPerDelivery", "µs CPU/delivery");
    }
    if (c.kind === "storm") {
      row(c, "roomcast", "connectionsPerS", "connections/s");
    }
  }
  return lines;
}

/** The roomcast contestant that negotiates frame coalescing. */
const BATCH = "roomcast-batch";
