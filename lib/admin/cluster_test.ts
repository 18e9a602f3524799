import assert from "node:assert/strict";
import { type NodeStats, zeroFigures } from "../protocol/mod.ts";
import { Metrics } from "../support/metrics.ts";
import { ClusterView } from "./cluster.ts";

function stats(
  node: string,
  connections: number,
  rooms: NodeStats["rooms"] = [],
): NodeStats {
  return {
    node,
    label: `pid 1 ${node}`,
    engine: "embedded/memory",
    version: "v",
    startedAt: 0,
    at: 5_000,
    figures: { ...zeroFigures(), connections },
    rooms,
  };
}

Deno.test("ClusterView: nodes bounded in count, forgotten when silent or down, never itself; totals and rooms summed", () => {
  let now = 0;
  const metrics = new Metrics();
  const view = new ClusterView({
    selfId: "self",
    maxNodes: 2,
    samples: 3,
    intervalMs: 100,
    timeoutMs: 300,
    metrics,
    now: () => now,
  });
  view.record(stats("self", 1, [{ room: "r", connections: 1 }]));
  view.record(stats("b", 2, [{ room: "r", connections: 2 }]));
  view.record(stats("c", 3));
  assert.equal(view.size, 2);
  assert.equal(metrics.get("admin_dropped_total", "nodes"), 1);
  assert.equal(view.totals()?.connections, 3);
  assert.deepEqual(view.roomConnections().get("r"), {
    connections: 3,
    nodes: 2,
  });
  assert.deepEqual(view.roomConnections("self").get("r"), {
    connections: 2,
    nodes: 1,
  });
  assert.deepEqual(view.roomNodes("r").map((n) => n.node).sort(), [
    "b",
    "self",
  ]);
  const rows = view.nodes();
  assert.deepEqual(rows.map((r) => [r.node, r.self, r.uptimeS]), [[
    "self",
    true,
    5,
  ], ["b", false, 5]]);
  now = 301;
  assert.deepEqual(view.nodes().map((r) => r.node), ["self"]);
  view.record(stats("b", 2));
  view.forget("b");
  view.forget("self");
  assert.deepEqual(view.nodes().map((r) => r.node), ["self"]);
});
