import assert from "node:assert/strict";
import {
  MAX_META_BYTES,
  parsePresenceSnapshot,
  parsePresenceUpdate,
  type PresenceChange,
  type PresenceSnapshot,
  PresenceTable,
  type PresenceUpdate,
} from "./presence_table.ts";
import type { Json } from "../protocol/mod.ts";

const TIMEOUT = 10_000;

function table(nodeId: string): PresenceTable {
  return new PresenceTable({ nodeId, timeoutMs: TIMEOUT });
}

function join(room: string, id: string, meta: Json = null): PresenceChange {
  return { room, event: "join", member: { id, meta } };
}

function leave(room: string, id: string, meta: Json = null): PresenceChange {
  return { room, event: "leave", member: { id, meta } };
}

function update(
  node: string,
  room: string,
  id: string,
  connections: number,
  meta: Json = null,
  metaAt = 0,
): PresenceUpdate {
  return { node, room, member: { id, meta }, metaAt, connections };
}

Deno.test("PresenceTable: two tabs on one node join once and leave after the last", () => {
  const a = table("a");
  const first = a.addLocal("r", "ann", "c1", { n: 1 }, 0);
  assert.deepEqual(first.changes, [join("r", "ann", { n: 1 })]);
  assert.deepEqual(first.update, update("a", "r", "ann", 1, { n: 1 }));
  const second = a.addLocal("r", "ann", "c2", { n: 1 }, 5);
  assert.deepEqual(second.changes, []);
  assert.equal(second.update?.connections, 2);
  assert.equal(second.update?.metaAt, 0, "meta unchanged keeps its time");
  const again = a.addLocal("r", "ann", "c2", { n: 1 }, 6);
  assert.deepEqual(again, { changes: [], update: undefined });
  const closeOne = a.removeLocal("r", "ann", "c1");
  assert.deepEqual(closeOne.changes, []);
  assert.equal(closeOne.update?.connections, 1);
  assert.deepEqual(a.members("r"), [{ id: "ann", meta: { n: 1 } }]);
  const closeLast = a.removeLocal("r", "ann", "c2");
  assert.deepEqual(closeLast.changes, [leave("r", "ann", { n: 1 })]);
  assert.deepEqual(closeLast.update, update("a", "r", "ann", 0, { n: 1 }));
  assert.deepEqual(a.removeLocal("r", "ann", "c2"), {
    changes: [],
    update: undefined,
  });
});

Deno.test("PresenceTable: a member on two nodes leaves when gone from both", () => {
  const a = table("a");
  assert.deepEqual(a.applyUpdate(update("b", "r", "ann", 1), 0), [
    join("r", "ann"),
  ]);
  const local = a.addLocal("r", "ann", "c1", null, 1);
  assert.deepEqual(local.changes, [], "already present via node b");
  assert.equal(local.update?.connections, 1, "b still needs to hear of a");
  assert.deepEqual(a.removeLocal("r", "ann", "c1").changes, []);
  assert.deepEqual(a.members("r"), [{ id: "ann", meta: null }]);
  assert.deepEqual(a.applyUpdate(update("b", "r", "ann", 0), 2), [
    leave("r", "ann"),
  ]);
  assert.deepEqual(a.members("r"), []);
});

Deno.test("PresenceTable: a lost update is healed by the next snapshot", () => {
  const a = table("a");
  const b = table("b");
  b.applyUpdate(a.addLocal("r", "ann", "c1", null, 0).update!, 0);
  a.addLocal("r", "abe", "c2", null, 1); // join lost
  a.removeLocal("r", "ann", "c1"); // leave lost
  assert.deepEqual(b.members("r"), [{ id: "ann", meta: null }]);
  const changes = b.applySnapshot(a.snapshot(), 2);
  assert.deepEqual(changes, [join("r", "abe"), leave("r", "ann")]);
  assert.deepEqual(b.members("r"), a.members("r"));
});

Deno.test("PresenceTable.applySnapshot() replaces what was known of the node", () => {
  const a = table("a");
  a.applyUpdate(update("b", "r", "ann", 2), 0);
  a.applyUpdate(update("b", "s", "bob", 1), 0);
  a.applyUpdate(update("c", "s", "bob", 1), 0);
  const snapshot: PresenceSnapshot = {
    node: "b",
    rooms: { r: [{ id: "ann", meta: null, metaAt: 0, connections: 1 }] },
  };
  assert.deepEqual(a.applySnapshot(snapshot, 1), [], "bob is still on c");
  assert.deepEqual(a.applySnapshot({ node: "b", rooms: {} }, 2), [
    leave("r", "ann"),
  ]);
  assert.deepEqual(a.rooms(), ["s"]);
  assert.deepEqual(
    a.applySnapshot({
      node: "b",
      rooms: { t: [{ id: "cid", meta: 1, metaAt: 0, connections: 0 }] },
    }, 3),
    [],
    "an entry with 0 connections is absent",
  );
});

Deno.test("PresenceTable.expire() drops nodes silent for more than timeoutMs", () => {
  const a = table("a");
  a.addLocal("r", "ann", "c1", null, 0);
  a.applyUpdate(update("b", "r", "ann", 1), 0);
  a.applyUpdate(update("b", "r", "bob", 1), 0);
  a.applyUpdate(update("b", "s", "bob", 1), 0);
  a.applySnapshot({ node: "c", rooms: {} }, 5_000);
  assert.deepEqual(a.nodes(), ["a", "b", "c"]);
  assert.deepEqual(a.expire(TIMEOUT), [], "exactly timeoutMs is not late");
  assert.deepEqual(a.expire(TIMEOUT + 1), [
    leave("r", "bob"),
    leave("s", "bob"),
  ]);
  assert.deepEqual(a.nodes(), ["a", "c"]);
  assert.deepEqual(a.members("r"), [{ id: "ann", meta: null }]);
  assert.deepEqual(a.expire(1_000_000), [], "this node never expires");
  assert.deepEqual(a.nodes(), ["a"]);
});

Deno.test("PresenceTable: any message refreshes the node's last-heard time", () => {
  const a = table("a");
  a.applyUpdate(update("b", "r", "ann", 1), 0);
  const ann = { id: "ann", meta: null, metaAt: 0, connections: 1 };
  a.applySnapshot({ node: "b", rooms: { r: [ann] } }, 8_000);
  assert.deepEqual(a.expire(TIMEOUT + 1), []);
  a.applyUpdate(update("b", "r", "bob", 1), 9_000);
  assert.deepEqual(a.expire(8_000 + TIMEOUT + 1), [], "refreshed at 9000");
  assert.deepEqual(a.expire(9_000 + TIMEOUT + 1), [
    leave("r", "ann"),
    leave("r", "bob"),
  ]);
});

Deno.test("PresenceTable.forgetNode() drops a node at once", () => {
  const a = table("a");
  a.applyUpdate(update("b", "r", "ann", 1), 0);
  a.applyUpdate(update("c", "r", "ann", 1), 0);
  a.applyUpdate(update("b", "r", "bob", 3), 0);
  assert.deepEqual(a.forgetNode("b"), [leave("r", "bob")]);
  assert.deepEqual(a.nodes(), ["a", "c"]);
  assert.deepEqual(a.forgetNode("b"), []);
  assert.deepEqual(a.forgetNode("c"), [leave("r", "ann")]);
  assert.deepEqual(a.forgetNode("a"), [], "this node cannot be forgotten");
  assert.deepEqual(a.rooms(), []);
});

Deno.test("PresenceTable ignores messages from its own node id", () => {
  const a = table("a");
  const { update: own } = a.addLocal("r", "ann", "c1", null, 0);
  assert.deepEqual(a.applyUpdate({ ...own!, connections: 0 }, 1), []);
  assert.deepEqual(a.applySnapshot({ node: "a", rooms: {} }, 1), []);
  assert.deepEqual(a.applyUpdate(update("a", "r", "eve", 1), 1), []);
  assert.deepEqual(a.members("r"), [{ id: "ann", meta: null }]);
  assert.deepEqual(a.nodes(), ["a"]);
});

Deno.test("PresenceTable.members() picks the latest meta whatever the arrival order", () => {
  const messages = [
    update("b", "r", "ann", 1, "from b", 20),
    update("c", "r", "ann", 1, "from c", 10),
    update("d", "r", "ann", 1, "from d", 20),
    update("c", "r", "zed", 1),
    update("b", "r", "bob", 1),
  ];
  const x = table("x");
  const y = table("y");
  for (const m of messages) x.applyUpdate(m, 0);
  for (const m of messages.toReversed()) y.applyUpdate(m, 0);
  const expected = [
    { id: "ann", meta: "from b" }, // metaAt 20 ties with d; "b" < "d"
    { id: "bob", meta: null },
    { id: "zed", meta: null },
  ];
  assert.deepEqual(x.members("r"), expected);
  assert.deepEqual(y.members("r"), expected);
  x.addLocal("r", "ann", "c1", "local", 30);
  assert.equal(x.members("r")[0]?.meta, "local", "newer meta wins");
  x.removeLocal("r", "ann", "c1");
  assert.equal(x.members("r")[0]?.meta, "from b");
  x.addLocal("r", "ann", "c1", "again", 40);
  const changed = x.addLocal("r", "ann", "c1", "changed", 50);
  assert.deepEqual(changed.changes, [{
    room: "r",
    event: "update",
    member: { id: "ann", meta: "changed" },
  }]);
  assert.deepEqual(changed.update, update("x", "r", "ann", 1, "changed", 50));
  assert.equal(x.members("r")[0]?.meta, "changed");
});

Deno.test("PresenceTable keeps no state once everyone left", () => {
  const a = table("a");
  a.addLocal("r", "ann", "c1", null, 0);
  a.addLocal("s", "ann", "c1", null, 0);
  a.applyUpdate(update("b", "r", "bob", 1), 0);
  a.removeLocal("r", "ann", "c1");
  a.removeLocal("s", "ann", "c1");
  a.applyUpdate(update("b", "r", "bob", 0), 1);
  assert.deepEqual(a.rooms(), []);
  assert.equal(a.memberCount("r"), 0);
  assert.deepEqual(a.snapshot(), { node: "a", rooms: {} });
  assert.deepEqual(a.expire(1 + TIMEOUT + 1), []);
  assert.deepEqual(a.nodes(), ["a"]);
  // The freed maps are rebuilt correctly.
  assert.deepEqual(a.addLocal("r", "ann", "c9", null, 2).changes, [
    join("r", "ann"),
  ]);
  assert.equal(a.memberCount("r"), 1);
});

Deno.test("PresenceTable.addLocal() rejects bad input", () => {
  const a = table("a");
  assert.throws(() => a.addLocal("no spaces", "ann", "c", null, 0), TypeError);
  assert.throws(() => a.addLocal("r", "", "c", null, 0), TypeError);
  assert.throws(
    () => a.addLocal("r", "x".repeat(129), "c", null, 0),
    TypeError,
  );
  const big = "x".repeat(MAX_META_BYTES);
  assert.throws(() => a.addLocal("r", "ann", "c", big, 0), RangeError);
  assert.deepEqual(a.rooms(), [], "nothing recorded on failure");
});

Deno.test("PresenceTable: two nodes converge over a lossy bus through snapshots", () => {
  const a = table("a");
  const b = table("b");
  let sent = 0;
  function deliver(to: PresenceTable, message: PresenceUpdate | undefined) {
    if (message === undefined || sent++ % 2 === 0) return; // every other is lost
    const parsed = parsePresenceUpdate(JSON.parse(JSON.stringify(message)));
    assert.notEqual(typeof parsed, "string");
    if (typeof parsed !== "string") to.applyUpdate(parsed, 1);
  }
  for (let i = 0; i < 6; i++) {
    deliver(b, a.addLocal("r", `u${i}`, `a${i}`, { i }, 1).update);
    deliver(a, b.addLocal("r", `u${i % 3}`, `b${i}`, { i }, 1).update);
  }
  deliver(b, a.removeLocal("r", "u5", "a5").update);
  deliver(b, a.removeLocal("r", "u4", "a4").update);
  assert.notDeepEqual(a.members("r"), b.members("r"), "messages were lost");
  for (const [from, to] of [[a, b], [b, a]] as const) {
    const snapshot = parsePresenceSnapshot(
      JSON.parse(JSON.stringify(from.snapshot())),
    );
    assert.notEqual(typeof snapshot, "string");
    if (typeof snapshot !== "string") to.applySnapshot(snapshot, 2);
  }
  assert.deepEqual(a.members("r"), b.members("r"));
  assert.deepEqual(a.members("r").map((m) => m.id), ["u0", "u1", "u2", "u3"]);
});
