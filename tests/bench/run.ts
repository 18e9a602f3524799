/**
 * `deno task bench`: runs every contestant through every case, one after
 * another, on loopback; writes tests/bench/results/<date>.json and
 * regenerates docs/benchmarks.md and docs/benchmarks.svg. See `--help` and
 * docs/benchmarks.md for the method.
 *
 * @module
 */

import { parseCli, USAGE } from "./cli.ts";
import { type LaunchContext, ROOMCAST_BENCH_ENV } from "./contestants.ts";
import { compileLoadgen, type GenParams, haveCc } from "./loadgen.ts";
import { METHOD_MARKDOWN } from "./method.ts";
import { LIMITS_MARKDOWN } from "./limits.ts";
import {
  ensurePeers,
  fdLimit,
  lookPeers,
  type Peers,
  systemInfo,
} from "./peers.ts";
import { capture, stopAll } from "./processes.ts";
import { duration, fmt, say } from "./progress.ts";
import { type BenchResults, renderMarkdown, renderSvg } from "./report.ts";
import { ensureSoketi } from "./peers_soketi.ts";
import { ALL_CONTESTANTS, findContestant as contestant } from "./roster.ts";
import { type RunContext, runOnce } from "./runner.ts";
import { runNodesOnce } from "./runner_nodes.ts";
import {
  type BenchCase,
  buildCases,
  DEFAULT_CAPACITY,
  fixedLoad,
  limitsFor,
} from "./scenarios.ts";
import type { RunRecord } from "./stats.ts";
import { consoleSummary } from "./summary.ts";

const BENCH_DIR = decodeURIComponent(new URL(".", import.meta.url).pathname);
const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname);
const PEERS_DIR = `${BENCH_DIR}.peers/`;
const RESULTS_DIR = `${BENCH_DIR}results/`;

function summaryLine(c: BenchCase, r: RunRecord): string {
  if (!r.ok || !r.result) return `FAILED: ${(r.error ?? "").split("\n")[0]}`;
  const g = r.result;
  const cpu = `server CPU ${fmt(g.serverCpu, 2)}, gen ${
    fmt(g.generatorCpu, 2)
  }, other ${fmt(g.otherCpu, 2)}`;
  const loss =
    (g.lost || g.duplicates ? `, lost ${g.lost}, dup ${g.duplicates}` : "") +
    (g.serverErrors ? `, ${g.serverErrors} server errors` : "") +
    (g.timedOut ? ", hit the time limit" : "");
  if (c.kind === "storm") {
    return `${fmt(g.connectionsPerS)} conn/s, ${g.connectFailed} failed, ${
      fmt(r.rssPerConnKb, 1)
    } KB/conn, ${cpu}`;
  }
  const lat = `p50 ${fmt(g.p50Ms, 2)} ms, p99 ${fmt(g.p99Ms, 2)} ms`;
  if (c.kind === "latency") {
    return `${lat}, ${
      fmt(g.serverCpuUsPerDelivery, 2)
    } µs/delivery, ${cpu}${loss}`;
  }
  return `${fmt(g.deliveriesPerS)} deliveries/s, ${lat}, ${cpu}${loss}`;
}

function selected(id: string, only: string[] | undefined): boolean {
  if (!only) return true;
  const c = contestant(id);
  return only.includes(c.id) || only.includes(c.group);
}

/** Writes docs/benchmarks.md and docs/benchmarks.svg from `results`. */
async function writeReport(
  results: BenchResults,
  resultsPath: string,
): Promise<void> {
  const md = renderMarkdown(
    results,
    resultsPath,
    METHOD_MARKDOWN + LIMITS_MARKDOWN,
  );
  await Deno.writeTextFile(`${ROOT}docs/benchmarks.md`, md);
  await Deno.writeTextFile(`${ROOT}docs/benchmarks.svg`, renderSvg(results));
  // `deno fmt` aligns the tables and lays out the SVG, so `--check` passes.
  await capture(Deno.execPath(), [
    "fmt",
    "-q",
    "docs/benchmarks.md",
    "docs/benchmarks.svg",
  ], { cwd: ROOT });
  say("Report: docs/benchmarks.md, docs/benchmarks.svg");
}

async function main(): Promise<number> {
  const opts = parseCli(Deno.args);
  if (opts.help) {
    say(USAGE);
    return 0;
  }
  if (opts.reportFrom !== undefined) {
    const results: BenchResults = JSON.parse(
      await Deno.readTextFile(opts.reportFrom),
    );
    await writeReport(results, opts.reportFrom);
    return 0;
  }
  const startedAt = new Date();
  const skipped: string[] = [];
  if (!await haveCc()) {
    say("cc not found: the load generator needs a C compiler (gcc).");
    return 1;
  }
  const limits = limitsFor(await fdLimit());
  const cases = buildCases(opts.quick, limits)
    .filter((c) => opts.scenarios.includes(c.scenario))
    .filter((c) => opts.cases === undefined || opts.cases.includes(c.id))
    .map((c) => ({
      ...c,
      contestants: c.contestants.filter((id) => selected(id, opts.only)),
    }))
    .filter((c) => c.contestants.length > 0);
  const wanted = new Set(cases.flatMap((c) => c.contestants));

  const peers: Peers = [...wanted].some((id) => contestant(id).peer)
    ? await ensurePeers(PEERS_DIR, say)
    : await lookPeers(PEERS_DIR);
  const missing = (id: string, ok: boolean, why: string) => {
    if (wanted.has(id) && !ok) {
      wanted.delete(id);
      skipped.push(`${id} (${why})`);
    }
  };
  missing("ws", peers.versions.ws !== undefined, "ws not installed");
  missing(
    "socketio",
    peers.versions["socket.io"] !== undefined,
    "socket.io not installed",
  );
  missing("bun", peers.bun !== undefined, "bun not installed");
  const node = await capture("node", ["--version"]);
  missing("ws", node !== undefined, "node not found");
  missing("socketio", node !== undefined, "node not found");
  if (wanted.has("soketi") && node !== undefined) {
    const soketi = await ensureSoketi(PEERS_DIR, say);
    if (soketi) peers.versions.soketi = soketi;
  }
  missing("soketi", peers.versions.soketi !== undefined, "Soketi not working");
  const redis = await capture("redis-server", ["--version"]);
  for (const id of [...wanted]) {
    if (contestant(id).nodes) {
      missing(id, redis !== undefined, "redis-server not found");
    }
  }

  await Deno.mkdir(`${PEERS_DIR}bin`, { recursive: true });
  const loadgen = `${PEERS_DIR}bin/loadgen`;
  say("Compiling the load generator (cc -O2) …");
  await compileLoadgen(loadgen);

  const cores = navigator.hardwareConcurrency;
  const pin = opts.pin && cores >= 2 &&
    await capture("taskset", ["-c", "0", "true"]) !== undefined;
  const launch: LaunchContext = {
    root: ROOT,
    benchDir: BENCH_DIR,
    peersDir: PEERS_DIR,
    deno: Deno.execPath(),
    node: "node",
    bun: peers.bun,
    roomcastEnv: opts.roomcastEnv,
    runDir: "", // each run gets its own (runner.ts)
  };
  const ctx: RunContext = {
    launch,
    loadgen,
    serverCore: pin ? cores - 1 : undefined,
    generatorCore: pin ? 0 : undefined,
  };
  const system = await systemInfo(peers);
  say(
    `${system.cpuModel}, ${system.cores} cores, kernel ${system.kernel}; ` +
      `Deno ${system.versions.deno}, Node ${system.versions.node ?? "–"}, ` +
      `Bun ${system.versions.bun ?? "–"}; fd limit ${system.fdLimit}` +
      (pin
        ? `; servers on CPU ${cores - 1}, generator on CPU 0`
        : "; no pinning"),
  );

  const plan = cases.flatMap((c) =>
    c.contestants.filter((id) => wanted.has(id)).map((id) => ({ c, id }))
  );
  const total = plan.length * opts.reps;
  say(
    `${opts.reps} repetition(s) × ${plan.length} runs = ${total} runs; budget ${opts.maxMinutes} min`,
  );
  const runs: RunRecord[] = [];
  let capacity: number | undefined;
  let partial = false;
  const deadline = Date.now() + opts.maxMinutes * 60_000;
  let done = 0;
  const broken = new Set<string>();
  outer: for (let rep = 1; rep <= opts.reps; rep++) {
    for (const { c, id } of plan) {
      if (Date.now() > deadline) {
        partial = true;
        say("Time budget used up: skipping the remaining runs.");
        break outer;
      }
      if (broken.has(`${c.id}/${id}`)) {
        done++;
        say(
          `[${done}/${total} rep ${rep}] ${c.id} · ${id}: skipped (failed before)`,
        );
        continue;
      }
      let params: GenParams = c.params;
      if (c.offered) {
        params = fixedLoad(
          c,
          capacity ?? DEFAULT_CAPACITY,
          opts.quick,
          opts.fixedRate,
          opts.fixedMsgs,
        );
      }
      const who = contestant(id);
      const record = who.nodes
        ? await runNodesOnce(ctx, who, c, params, rep)
        : await runOnce(ctx, who, c, params, rep);
      runs.push(record);
      done++;
      // A configuration that failed once is not retried in later repetitions.
      if (!record.ok) broken.add(`${c.id}/${id}`);
      if (
        capacity === undefined && id === "deno-bare" &&
        cases.some((x) => x.offered?.capacityCase === c.id) &&
        record.ok && record.result?.deliveriesPerS
      ) {
        capacity = record.result.deliveriesPerS;
      }
      const elapsed = (Date.now() - startedAt.getTime()) / 1000;
      const eta = elapsed / done * (total - done);
      say(
        `[${done}/${total} rep ${rep}] ${c.id} · ${id}: ${
          summaryLine(c, record)
        }  (${duration(elapsed)}, ~${duration(eta)} left)`,
      );
    }
  }

  const results: BenchResults = {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    quick: opts.quick,
    reps: opts.reps,
    command: ["deno task bench", ...Deno.args].join(" "),
    system,
    pinning: pin ? { server: cores - 1, generator: 0 } : {},
    roomcastEnv: { ...ROOMCAST_BENCH_ENV, ...opts.roomcastEnv },
    capacity: capacity ?? DEFAULT_CAPACITY,
    cases,
    contestants: ALL_CONTESTANTS.filter((c) => wanted.has(c.id)).map((c) => ({
      id: c.id,
      short: c.short,
      label: c.label,
    })),
    skipped,
    partial,
    runs,
  };
  await Deno.mkdir(RESULTS_DIR, { recursive: true });
  const stamp = results.startedAt.slice(0, 19).replace(/:/g, "-");
  const file = `${stamp}${opts.quick ? "-quick" : ""}.json`;
  await Deno.writeTextFile(
    `${RESULTS_DIR}${file}`,
    JSON.stringify(results, null, 2) + "\n",
  );
  say(`Results: tests/bench/results/${file}`);
  for (const line of consoleSummary(results)) say(line);
  if (opts.report) await writeReport(results, `tests/bench/results/${file}`);
  const failed = runs.filter((r) => !r.ok).length;
  say(
    `Done in ${
      duration((Date.now() - startedAt.getTime()) / 1000)
    }: ${runs.length} runs, ${failed} failed.`,
  );
  return 0;
}

if (import.meta.main) {
  const onSignal = async () => {
    say("Interrupted: stopping child processes …");
    await stopAll();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    Deno.exit(await main());
  } catch (error) {
    say(error instanceof Error ? error.message : String(error));
    await stopAll();
    Deno.exit(1);
  }
}
