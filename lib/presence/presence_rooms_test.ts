/**
 * Presence per room: each room's presence travels on the room's topic, a
 * node beats per room it holds members of, and what a node holds in a room
 * it no longer speaks of expires there while the node itself stays known.
 */
import assert from "node:assert/strict";
import { PresenceTable } from "./presence_table.ts";
import { PresenceRelay } from "./presence_relay.ts";
import { createBus } from "../bus/bus.ts";
import { MemoryNetwork } from "../bus/memory.ts";
import { createLogger } from "../support/log.ts";

const TIMEOUT = 10_000;
const ann = { id: "ann", meta: null, metaAt: 0, connections: 1 };
const bob = { id: "bob", meta: null, metaAt: 0, connections: 1 };

Deno.test("PresenceTable: a partial snapshot replaces what its node holds in the rooms it lists only", () => {
  const a = new PresenceTable({ nodeId: "a", timeoutMs: TIMEOUT });
  a.applySnapshot({ node: "b", rooms: { r: [ann], s: [bob] } }, 0);
  const changes = a.applySnapshot(
    { node: "b", rooms: { r: [] }, partial: true },
    1,
  );
  assert.deepEqual(changes, [{
    room: "r",
    event: "leave",
    member: { id: "ann", meta: null },
  }]);
  assert.deepEqual(a.members("s"), [{ id: "bob", meta: null }], "s untouched");
  assert.deepEqual(a.rooms(), ["s"]);
});

Deno.test("PresenceTable.expire() drops a room its node stopped speaking of, and keeps the node", () => {
  const a = new PresenceTable({ nodeId: "a", timeoutMs: TIMEOUT });
  a.applySnapshot({ node: "b", rooms: { r: [ann] }, partial: true }, 0);
  a.applySnapshot({ node: "b", rooms: { s: [bob] }, partial: true }, 0);
  // b goes on beating in s only (it left r, and that leave was lost).
  a.applySnapshot({ node: "b", rooms: { s: [bob] }, partial: true }, 8_000);
  assert.deepEqual(a.expire(TIMEOUT), [], "exactly timeoutMs is not late");
  assert.deepEqual(a.expire(TIMEOUT + 1), [{
    room: "r",
    event: "leave",
    member: { id: "ann", meta: null },
  }]);
  assert.deepEqual(a.nodes(), ["a", "b"]);
  assert.deepEqual(a.members("s"), [{ id: "bob", meta: null }]);
  // A dead node: nothing of it is heard, every room of it goes.
  assert.deepEqual(a.expire(8_000 + TIMEOUT + 1).map((c) => c.member.id), [
    "bob",
  ]);
  assert.deepEqual(a.nodes(), ["a"]);
});

Deno.test("PresenceTable.roomSnapshot() is this node's members of one room, partial", () => {
  const a = new PresenceTable({ nodeId: "a", timeoutMs: TIMEOUT });
  a.addLocal("r", "ann", "c1", null, 5);
  a.addLocal("s", "bob", "c2", null, 5);
  assert.deepEqual(a.roomSnapshot("r"), {
    node: "a",
    rooms: { r: [{ ...ann, metaAt: 5 }] },
    partial: true,
  });
  assert.equal(a.roomSnapshot("t"), undefined);
  assert.deepEqual(a.localRooms().sort(), ["r", "s"]);
});

/** Waits until `check` holds, yielding to the event loop between tries. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !check(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.ok(check());
}

Deno.test("PresenceRelay: a node without members of a room hears none of its presence; once it hears the room, a sync brings it", async () => {
  const net = new MemoryNetwork();
  const log = createLogger({ level: "error" });
  const busA = createBus(net.connect(), { nodeId: "a" });
  const busB = createBus(net.connect(), { nodeId: "b" });
  const relays: PresenceRelay[] = [];
  const relay = (bus: typeof busA) => {
    const r = new PresenceRelay({
      bus,
      log,
      intervalMs: 5,
      timeoutMs: 60_000,
      now: () => Date.now(),
      notify: () => {},
    });
    relays.push(r);
    bus.subscribe((event) => r.onBusEvent(event));
    return r;
  };
  const a = relay(busA);
  const b = relay(busB);
  try {
    await busA.join("r");
    a.join("r", { id: "c1", memberId: "ann" }, null);
    // Heartbeats of r go out every 5 ms; b is not in r.
    await until(() => busA.stats().postsSent >= 5);
    assert.equal(busB.stats().presenceReceived, 0);
    assert.ok(busB.stats().postsUnwanted > 0, "r's posts reached b, undecoded");
    assert.deepEqual(b.members("r"), []);
    await busB.join("r");
    b.sync("r");
    await until(() => b.members("r").length === 1);
    assert.deepEqual(b.members("r"), [{ id: "ann", meta: null }]);
    assert.ok(busB.stats().presenceReceived > 0);
  } finally {
    for (const r of relays) r.close();
    await busA.close();
    await busB.close();
  }
});
