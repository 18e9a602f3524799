/**
 * Unit tests of the multi-node figures: metric sums from Prometheus text,
 * per-node load, the Redis share of latency, bus CPU per node and the
 * paired target lines.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { BenchResults } from "./report.ts";
import {
  cpuPerNode,
  issueCaseConsole,
  pairLines,
  redisShare,
} from "./report_nodes.ts";
import { metricSum, type NodeFigures, nodeParams } from "./runner_nodes.ts";
import type { BenchCase } from "./scenarios.ts";
import type { GenResult } from "./loadgen.ts";
import type { RunRecord } from "./stats.ts";

const BASE_RESULT: GenResult = {
  mode: "rooms",
  proto: "roomcast",
  subscribers: 0,
  published: 0,
  delivered: 0,
  expected: 0,
  lost: 0,
  duplicates: 0,
  invalid: 0,
  serverErrors: 0,
  durationS: 1,
  deliveriesPerS: null,
  messagesPerS: null,
  p50Ms: null,
  p99Ms: null,
  p999Ms: null,
  maxMs: null,
  meanMs: null,
  latencySamples: 0,
  cpuWindowS: 1,
  generatorCpu: null,
  serverCpu: null,
  otherCpu: null,
  serverCpuUsPerDelivery: null,
  connected: 0,
  connectFailed: 0,
  closedByServer: 0,
  placementRetries: 0,
  connectS: null,
  connectionsPerS: null,
  timedOut: false,
  error: null,
};

function node(cpu: number, extra: Partial<NodeFigures> = {}): NodeFigures {
  return {
    cpu,
    postsReceived: 0,
    bytesReceived: 0,
    messagesReceived: 0,
    postsUnwanted: 0,
    redisCommands: 0,
    redisCommandMs: 0,
    publishes: 0,
    ...extra,
  };
}

function run(
  contestant: string,
  rep: number,
  nodes: NodeFigures[] | undefined,
  deliveriesPerS: number,
  meanMs = 10,
): RunRecord {
  return {
    rep,
    caseId: "c",
    contestant,
    ok: true,
    startedAt: "",
    wallS: 1,
    params: { mode: "rooms", timeLimit: 1 },
    ...(nodes ? { nodes } : {}),
    result: { ...BASE_RESULT, deliveriesPerS, meanMs },
  };
}

const CASE: BenchCase = {
  id: "c",
  scenario: "scale",
  title: "t",
  kind: "throughput",
  contestants: ["one", "two"],
  baseline: "one",
  perNode: true,
  params: { mode: "rooms", rooms: 10, rate: 100, msgs: 600, timeLimit: 5 },
  pairs: [{ a: "two", b: "one", metric: "deliveriesPerS", target: "≥ 1.5" }],
};

function results(runs: RunRecord[]): BenchResults {
  return {
    version: 1,
    startedAt: "",
    finishedAt: "",
    quick: false,
    reps: 2,
    command: "",
    system: {
      cpuModel: "",
      cores: 2,
      kernel: "",
      os: "",
      memoryGiB: 1,
      fdLimit: 1024,
      versions: {},
    },
    pinning: {},
    capacity: 1,
    cases: [CASE],
    contestants: [
      { id: "one", short: "1 node", label: "" },
      { id: "two", short: "2 nodes", label: "" },
    ],
    skipped: [],
    partial: false,
    runs,
  };
}

Deno.test("metricSum() adds every labelled series of one metric only", () => {
  const text = [
    "# HELP roomcast_bus_posts_received_total x",
    'roomcast_bus_posts_received_total{kind="room"} 3',
    'roomcast_bus_posts_received_total{kind="node"} 4',
    "roomcast_bus_posts_received_totally 100",
    "roomcast_redis_commands_total 7",
  ].join("\n");
  assert.equal(metricSum(text, "bus_posts_received_total"), 7);
  assert.equal(metricSum(text, "redis_commands_total"), 7);
  assert.equal(metricSum(text, "missing_total"), 0);
});

Deno.test("nodeParams() multiplies the per-node load by the node count", () => {
  const p = nodeParams(CASE, CASE.params, 4);
  assert.deepEqual([p.rooms, p.rate, p.msgs], [40, 400, 2400]);
  const plain = { ...CASE, perNode: false };
  assert.equal(nodeParams(plain, CASE.params, 4), CASE.params);
});

Deno.test("redisShare() is Redis time per publish on the first node ÷ mean latency", () => {
  const r = run(
    "two",
    1,
    [
      node(0.2, { publishes: 100, redisCommands: 200, redisCommandMs: 300 }),
      node(0.1),
    ],
    1000,
    6,
  );
  assert.equal(redisShare(r), 0.5);
  assert.equal(redisShare(run("one", 1, [node(0.1)], 1000)), undefined);
  assert.ok(Math.abs((cpuPerNode(r) ?? 0) - 0.15) < 1e-9);
});

Deno.test("bus CPU per node and target ratios are paired within a repetition", () => {
  const res = results([
    run("one", 1, [node(0.10)], 1000),
    run("two", 1, [node(0.12), node(0.14)], 1800),
    run("one", 2, [node(0.20)], 1000),
    run("two", 2, [node(0.22), node(0.22)], 2200),
  ]);
  assert.deepEqual(pairLines(res, CASE), [
    "2 nodes ÷ 1 node, deliveries/s: 2.00 [1.80–2.20] (target ≥ 1.5)",
  ]);
  const lines = issueCaseConsole(res, CASE).join("\n");
  // (0.13 − 0.10) and (0.22 − 0.20): median 0.025.
  assert.match(
    lines,
    /2 nodes, per node: .*bus CPU per node 0\.025 \[0\.020–0\.030\]/,
  );
});
