/**
 * Runs one contestant through one case: starts the server pinned to its
 * core, waits for its readiness line, runs the generator pinned to the other
 * core, reads RSS for storms, and stops the server by PID.
 *
 * @module
 */

import type { Contestant, LaunchContext } from "./contestants.ts";
import { type GenParams, runLoadgen } from "./loadgen.ts";
import { rssKb, spawnWatched, type Watched } from "./processes.ts";
import type { BenchCase } from "./scenarios.ts";
import type { RunRecord } from "./stats.ts";

/** Everything a run needs besides the contestant and the case. */
export interface RunContext {
  launch: LaunchContext;
  /** Path of the compiled generator. */
  loadgen: string;
  /** CPU for servers (undefined: no pinning). */
  serverCore?: number | undefined;
  /** CPU for the generator (undefined: no pinning). */
  generatorCore?: number | undefined;
}

/** A started contestant server. */
export interface StartedServer {
  proc: Watched;
  port: number;
  /** Stops the server by PID and removes its run folder. */
  stop(): Promise<void>;
}

/** Starts `contestant` and resolves once it printed its readiness line. */
export async function startContestant(
  ctx: RunContext,
  contestant: Contestant,
  readyTimeoutMs = 30_000,
): Promise<StartedServer> {
  const runDir = await Deno.makeTempDir({ prefix: "roomcast_bench_run_" });
  const launch = contestant.launch({ ...ctx.launch, runDir });
  const proc = spawnWatched({
    cmd: launch.cmd,
    args: launch.args,
    env: launch.env,
    cwd: ctx.launch.root,
    core: ctx.serverCore,
  });
  const stop = async () => {
    await proc.stop(5000);
    await Deno.remove(runDir, { recursive: true }).catch(() => {});
  };
  try {
    const match = await proc.waitFor(contestant.ready, readyTimeoutMs);
    return { proc, port: Number(match[1]), stop };
  } catch (error) {
    await stop();
    throw new Error(
      `${contestant.id} did not start: ${String(error)}\n${
        proc.tail().join("\n")
      }`,
    );
  }
}

/** Runs `contestant` through `benchCase` once with `params`. */
export async function runOnce(
  ctx: RunContext,
  contestant: Contestant,
  benchCase: BenchCase,
  params: GenParams,
  rep: number,
): Promise<RunRecord> {
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
  let server: StartedServer | undefined;
  try {
    server = await startContestant(ctx, contestant);
    const pid = server.proc.pid;
    if (params.mode === "storm") record.rssIdleKb = await rssKb(pid);
    const result = await runLoadgen({
      binary: ctx.loadgen,
      port: server.port,
      proto: contestant.proto,
      path: contestant.path,
      ...(contestant.placement ? { placement: contestant.placement } : {}),
      serverPid: pid,
      ...(contestant.genArgs ? { extraArgs: contestant.genArgs } : {}),
      core: ctx.generatorCore,
      onStormReady: async () => {
        await new Promise((r) => setTimeout(r, benchCase.settleMs ?? 2000));
        record.rssLoadedKb = await rssKb(pid);
      },
    }, params);
    record.result = result;
    if (
      record.rssIdleKb !== undefined && record.rssLoadedKb !== undefined &&
      result.connected > 0
    ) {
      record.rssPerConnKb = (record.rssLoadedKb - record.rssIdleKb) /
        result.connected;
    }
    record.ok = result.error === null;
    if (!record.ok) record.error = result.error ?? "unknown";
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
  } finally {
    if (server) await server.stop();
    record.wallS = (Date.now() - started) / 1000;
  }
  return record;
}
