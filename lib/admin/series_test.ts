import assert from "node:assert/strict";
import { zeroFigures } from "../protocol/mod.ts";
import { clusterSeries, Ring, type Sample } from "./series.ts";

Deno.test("Ring keeps the newest `capacity` items in order", () => {
  const ring = new Ring<number>(3);
  assert.equal(ring.last(), undefined);
  for (let i = 1; i <= 5; i++) ring.push(i);
  assert.deepEqual(ring.toArray(), [3, 4, 5]);
  assert.equal(ring.length, 3);
  assert.equal(ring.last(), 5);
});

function sample(
  at: number,
  figures: Partial<ReturnType<typeof zeroFigures>>,
): Sample {
  return { at, figures: { ...zeroFigures(), ...figures } };
}

Deno.test("clusterSeries: rates per node summed per bucket, a restart counts 0, a node counts once per bucket", () => {
  const a = [
    sample(0, { publishes: 0 }),
    sample(1_000, { publishes: 10, connections: 2 }),
    sample(2_000, { publishes: 4, connections: 1 }), // restarted: counter went down
  ];
  const b = [
    sample(1_000, { publishes: 100, connections: 5 }),
    sample(1_500, { publishes: 150, connections: 6 }), // same bucket as 1_000
    sample(2_000, { publishes: 250, connections: 7 }),
  ];
  const series = clusterSeries([a, b], 1_000, 2_500, 2_500);
  assert.deepEqual(series.t, [0, 1, 2]);
  assert.deepEqual(series.figures.connections, [0, 2 + 6, 1 + 7]);
  // b at 1_500: (150 - 100) / 0.5 s; a at 2_000: restart → 0; b: 100/0.5 s.
  assert.deepEqual(series.figures.publishes, [null, 10 + 100, 0 + 200]);
  assert.deepEqual(series.nodes, [1, 2, 2]);
});

Deno.test("clusterSeries: samples outside the window are left out; the series starts at the first report", () => {
  const old = [
    sample(0, { connections: 9 }),
    sample(8_000, { connections: 2 }),
    sample(10_000, { connections: 1 }),
  ];
  const series = clusterSeries([old], 1_000, 10_500, 2_000);
  assert.deepEqual(series.t, [8, 9, 10]);
  assert.deepEqual(series.figures.connections, [2, null, 1]);
  const young = clusterSeries([old.slice(2)], 1_000, 10_500, 5_000);
  assert.deepEqual(young.t, [10]);
  assert.equal(clusterSeries([], 1_000, 10_500, 5_000).t.length, 6);
});
