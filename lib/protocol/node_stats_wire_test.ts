import assert from "node:assert/strict";
import { parseBusEvent } from "../bus/bus.ts";
import { parseNodeStats, zeroFigures } from "./node_stats_wire.ts";

const good = {
  node: "n1",
  label: "pid 1 main",
  engine: "redis",
  version: "roomcast/1",
  startedAt: 1,
  at: 2,
  figures: zeroFigures(),
  rooms: [{ room: "lobby", connections: 3 }],
};

Deno.test("parseNodeStats: accepts a snapshot, drops unknown figures, refuses what is malformed or unbounded", () => {
  assert.deepEqual(parseNodeStats(good), good);
  assert.deepEqual(
    parseNodeStats({ ...good, figures: { ...good.figures, future: 1 } }),
    good,
  );
  const bad: [unknown, string][] = [
    [null, "stats is not an object"],
    [{ ...good, node: "" }, "bad node"],
    [{ ...good, label: "x".repeat(129) }, "bad label"],
    [{ ...good, at: Number.NaN }, "bad at"],
    [
      { ...good, figures: { ...good.figures, connections: -1 } },
      "bad figure connections",
    ],
    [{ ...good, figures: { connections: 1 } }, "bad figure rooms"],
    [{ ...good, rooms: [{ room: "a b", connections: 1 }] }, "bad room"],
    [
      { ...good, rooms: new Array(1_001).fill({ room: "r", connections: 1 }) },
      "bad rooms",
    ],
    [
      { ...good, rooms: [{ room: "r", connections: "1" }] },
      "bad room connections",
    ],
  ];
  for (const [value, reason] of bad) {
    assert.equal(parseNodeStats(value), reason);
  }
});

Deno.test("parseBusEvent: node-stats events are validated like the others", () => {
  assert.deepEqual(parseBusEvent({ kind: "node-stats", stats: good }), {
    kind: "node-stats",
    stats: good,
  });
  assert.equal(
    parseBusEvent({ kind: "node-stats", stats: { ...good, node: 1 } }),
    "bad node",
  );
});
