/**
 * Runs a multi-node contestant (issue #13) through one case: starts a
 * redis-server and `nodes` roomcast processes on it (`REDIS_URL`), all
 * pinned to the server core, runs the generator against every node's port
 * (subscribers alternate over them, the fan-out publisher is on the first;
 * rooms mode puts room r on node r mod n) with every process's PID for CPU,
 * and reads each node's `/metrics` before and after for what its bus
 * received and how long its Redis commands took. Stops everything by PID.
 *
 * @module
 */

import type { Contestant } from "./contestants.ts";
import { type GenParams, runLoadgen } from "./loadgen.ts";
import { spawnWatched, type Watched } from "./processes.ts";
import type { RunContext } from "./runner.ts";
import type { BenchCase } from "./scenarios.ts";
import type { RunRecord } from "./stats.ts";

/** What one node did during a run, from its `/metrics` and its CPU. */
export interface NodeFigures {
  /** CPU of the process over the measured window, in cores. */
  cpu: number | undefined;
  postsReceived: number;
  bytesReceived: number;
  messagesReceived: number;
  postsUnwanted: number;
  redisCommands: number;
  redisCommandMs: number;
  publishes: number;
}

const METRICS_TOKEN = "bench-metrics";

const COUNTERS = {
  postsReceived: "bus_posts_received_total",
  bytesReceived: "bus_bytes_received_total",
  messagesReceived: "bus_messages_received_total",
  postsUnwanted: "bus_posts_unwanted_total",
  redisCommands: "redis_commands_total",
  redisCommandMs: "redis_command_ms_total",
  publishes: "publishes_total",
} as const;

type Counters = Record<keyof typeof COUNTERS, number>;

/** Sums every series of `roomcast_<name>` in Prometheus text. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  const re = new RegExp(`^roomcast_${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm");
  for (const m of text.matchAll(re)) {
    const v = Number(m[1]);
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

async function scrape(port: number): Promise<Counters> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  const read = (key: keyof Counters) => metricSum(text, COUNTERS[key]);
  return {
    postsReceived: read("postsReceived"),
    bytesReceived: read("bytesReceived"),
    messagesReceived: read("messagesReceived"),
    postsUnwanted: read("postsUnwanted"),
    redisCommands: read("redisCommands"),
    redisCommandMs: read("redisCommandMs"),
    publishes: read("publishes"),
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Parameters for `nodes` nodes: per-node cases multiply rooms and rate. */
export function nodeParams(
  c: BenchCase,
  params: GenParams,
  nodes: number,
): GenParams {
  if (!c.perNode) return params;
  return {
    ...params,
    ...(params.rooms ? { rooms: params.rooms * nodes } : {}),
    ...(params.rate ? { rate: params.rate * nodes } : {}),
    ...(params.msgs ? { msgs: params.msgs * nodes } : {}),
    ...(params.warmup ? { warmup: params.warmup * nodes } : {}),
  };
}

/** Runs `contestant` (with `nodes`) through `benchCase` once. */
export async function runNodesOnce(
  ctx: RunContext,
  contestant: Contestant,
  benchCase: BenchCase,
  baseParams: GenParams,
  rep: number,
): Promise<RunRecord> {
  const nodes = contestant.nodes ?? 1;
  const params = nodeParams(benchCase, baseParams, nodes);
  const started = Date.now();
  const record: RunRecord = {
    rep,
    caseId: benchCase.id,
    contestant: contestant.id,
    ok: false,
    startedAt: new Date(started).toISOString(),
    wallS: 0,
    params,
  };
  const procs: Watched[] = [];
  const dirs: string[] = [];
  try {
    const redisPort = freePort();
    const redis = spawnWatched({
      cmd: "redis-server",
      args: [
        "--port",
        String(redisPort),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      core: ctx.serverCore,
    });
    procs.push(redis);
    await redis.waitFor(/Ready to accept connections/, 10_000);
    const ports: number[] = [];
    for (let i = 0; i < nodes; i++) {
      const runDir = await Deno.makeTempDir({ prefix: "roomcast_bench_node_" });
      dirs.push(runDir);
      const launch = contestant.launch({ ...ctx.launch, runDir });
      const proc = spawnWatched({
        cmd: launch.cmd,
        args: launch.args,
        env: {
          ...launch.env,
          REDIS_URL: `redis://127.0.0.1:${redisPort}`,
          METRICS_TOKEN,
        },
        cwd: ctx.launch.root,
        core: ctx.serverCore,
      });
      procs.push(proc);
      const match = await proc.waitFor(contestant.ready, 30_000).catch(
        (error) => {
          throw new Error(
            `node ${i} did not start: ${String(error)}\n${
              proc.tail().join("\n")
            }`,
          );
        },
      );
      ports.push(Number(match[1]));
    }
    const nodeProcs = procs.slice(1);
    const before = await Promise.all(ports.map(scrape));
    const result = await runLoadgen({
      binary: ctx.loadgen,
      port: ports[0]!,
      ports,
      proto: contestant.proto,
      path: contestant.path,
      serverPid: nodeProcs[0]!.pid,
      // Server CPU is the whole server side: the nodes and redis-server.
      serverPids: [...nodeProcs.map((p) => p.pid), redis.pid],
      ...(contestant.genArgs ? { extraArgs: contestant.genArgs } : {}),
      core: ctx.generatorCore,
    }, params);
    const after = await Promise.all(ports.map(scrape));
    record.result = result;
    record.nodes = ports.map((_, i) => {
      const a = after[i]!, b = before[i]!;
      const d = (k: keyof Counters) => a[k] - b[k];
      return {
        cpu: result.serverCpus?.[i],
        postsReceived: d("postsReceived"),
        bytesReceived: d("bytesReceived"),
        messagesReceived: d("messagesReceived"),
        postsUnwanted: d("postsUnwanted"),
        redisCommands: d("redisCommands"),
        redisCommandMs: d("redisCommandMs"),
        publishes: d("publishes"),
      };
    });
    record.redisCpu = result.serverCpus?.[nodes];
    record.ok = result.error === null;
    if (!record.ok) record.error = result.error ?? "unknown";
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
  } finally {
    await Promise.all(procs.reverse().map((p) => p.stop(5000)));
    for (const dir of dirs) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    record.wallS = (Date.now() - started) / 1000;
  }
  return record;
}
