/**
 * Smoke test of the issue #12–#14 contestants (part of `deno task test`):
 * with tiny counts, the C generator drives roomcast's Pusher endpoint, the
 * bare-Deno Pusher ceiling and Soketi through Pusher subscribers and the signed HTTP API, roomcast's SSE
 * stream, and roomcast on 2 processes joined by a redis-server (also the
 * per-node scaling case). It checks that every message arrived and what
 * each node's bus received, never a speed. Without `cc`, `redis-server` or
 * a working Soketi install the affected parts fail under CI=true and are
 * skipped loudly otherwise.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { LaunchContext } from "./contestants.ts";
import { compileLoadgen, type GenParams, haveCc } from "./loadgen.ts";
import { ensureSoketi } from "./peers_soketi.ts";
import { findContestant } from "./roster.ts";
import { type RunContext, runOnce } from "./runner.ts";
import { runNodesOnce } from "./runner_nodes.ts";
import { type BenchCase, buildCases, limitsFor } from "./scenarios.ts";
import type { RunRecord } from "./stats.ts";
import { skipWithoutRedis } from "../_support/redis.ts";

const BENCH_DIR = decodeURIComponent(new URL(".", import.meta.url).pathname);
const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname);
const PEERS_DIR = `${BENCH_DIR}.peers/`;
const ccFound = await haveCc();
const inCi = Deno.env.get("CI") === "true";

function loud(what: string): void {
  Deno.stderr.writeSync(
    new TextEncoder().encode(`\n!!! bench_issues_smoke_test: ${what} !!!\n\n`),
  );
}

if (!ccFound && !inCi) loud("SKIPPED, no C compiler (`cc`) on PATH");

const CASES = buildCases(true, limitsFor(20_000));

function benchCase(id: string): BenchCase {
  const found = CASES.find((c) => c.id === id);
  assert.ok(found, `case ${id}`);
  return found;
}

const TINY: GenParams = {
  mode: "window",
  subs: 20,
  msgs: 100,
  warmup: 10,
  window: 4,
  timeLimit: 20,
  connectLimit: 10,
};

/**
 * Runs `fn` with a compiled generator. `roomcastEnv` is added to every
 * roomcast server: the single-process parts keep history in memory, so a
 * machine busy with the rest of the suite cannot make the Deno KV
 * write-behind refuse publishes (`overloaded`); this test is about the
 * harness, and the bench itself runs roomcast as shipped.
 */
async function withContext(
  fn: (ctx: RunContext) => Promise<void>,
  roomcastEnv: Record<string, string> = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "roomcast_bench_issues_" });
  try {
    const loadgen = `${dir}/loadgen`;
    await compileLoadgen(loadgen);
    const launch: LaunchContext = {
      root: ROOT,
      benchDir: BENCH_DIR,
      peersDir: PEERS_DIR,
      deno: Deno.execPath(),
      node: "node",
      bun: undefined,
      roomcastEnv,
      runDir: dir,
    };
    await fn({ launch, loadgen });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every measured delivery arrived once, and the server refused nothing. */
function assertComplete(record: RunRecord, deliveries: number): void {
  const id = record.contestant;
  assert.ok(record.ok, `${id}: ${record.error}`);
  const r = record.result;
  assert.ok(r, `${id}: no result`);
  assert.equal(r.expected, deliveries, `${id}: expected`);
  assert.equal(r.delivered, r.expected, `${id}: delivered`);
  assert.equal(r.lost, 0, `${id}: lost`);
  assert.equal(r.duplicates, 0, `${id}: duplicates`);
  assert.equal(r.serverErrors, 0, `${id}: server errors ${r.diagnostics}`);
}

Deno.test({
  name:
    "bench issues: Pusher subscribers and signed HTTP API publishes reach every subscriber (roomcast Pusher, the bare-Deno Pusher ceiling, Soketi)",
  ignore: !ccFound && !inCi,
  async fn() {
    assert.ok(ccFound, "cc is required under CI=true");
    const soketi = await ensureSoketi(PEERS_DIR, () => {});
    if (!soketi) {
      assert.ok(!inCi, "Soketi must install and load under CI=true");
      loud("Soketi not installed or not loading: its part is SKIPPED");
    }
    await withContext(async (ctx) => {
      const c = benchCase("pusher-fanout-500");
      const ids = ["roomcast-pusher", "deno-bare-pusher"];
      for (const id of soketi ? [...ids, "soketi"] : ids) {
        const record = await runOnce(ctx, findContestant(id), c, TINY, 1);
        assertComplete(record, 20 * 100);
        // One signed request per message (warm-up and probes included).
        assert.ok((record.result?.httpRequests ?? 0) >= 110, `${id}: requests`);
      }
    }, { HISTORY: "memory" });
  },
});

Deno.test({
  name:
    "bench issues: SSE subscribers (GET /sse, join by POST) count every delivery",
  ignore: !ccFound && !inCi,
  async fn() {
    assert.ok(ccFound, "cc is required under CI=true");
    await withContext(async (ctx) => {
      const c = benchCase("sse-fanout-500");
      const record = await runOnce(ctx, findContestant("roomcast-sse"), c, {
        ...TINY,
        subs: 10,
      }, 1);
      assertComplete(record, 10 * 100);
      assert.equal(record.result?.transport, "sse");
      assert.equal(record.result?.httpRequests, 10, "one join POST each");
    }, { HISTORY: "memory" });
  },
});

Deno.test({
  name:
    "bench issues: Redis engine on 2 nodes, subscribers on both; disjoint rooms reach no other node",
  ignore: (!ccFound && !inCi) || skipWithoutRedis(),
  async fn() {
    assert.ok(ccFound, "cc is required under CI=true");
    await withContext(async (ctx) => {
      const fan = await runNodesOnce(
        ctx,
        findContestant("roomcast-redis"),
        benchCase("redis-fanout-500"),
        TINY,
        1,
      );
      assertComplete(fan, 20 * 100);
      assert.equal(fan.nodes?.length, 2);
      assert.equal(fan.result?.serverCpus?.length, 3, "2 nodes + redis");
      // The publisher is on node 0: node 1's subscribers got every message over Redis.
      assert.ok((fan.nodes?.[1]?.messagesReceived ?? 0) >= 110, "node 1 bus");
      assert.ok((fan.nodes?.[0]?.redisCommands ?? 0) > 0, "node 0 Redis");

      const scale = benchCase("scale-rooms");
      const record = await runNodesOnce(
        ctx,
        findContestant("redis-scale-2"),
        scale,
        {
          ...scale.params,
          rooms: 2,
          members: 3,
          rate: 100,
          msgs: 60,
          warmup: 10,
        },
        1,
      );
      // 4 rooms of 3 (per node 2 rooms at 100 msg/s): 120 messages × 2 receivers each.
      assertComplete(record, 120 * 2);
      for (const node of record.nodes ?? []) {
        assert.equal(node.messagesReceived, 0, "no room of another node");
      }
    });
  },
});
