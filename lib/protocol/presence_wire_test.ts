import assert from "node:assert/strict";
import {
  type Json,
  MAX_META_BYTES,
  parsePresenceSnapshot,
  parsePresenceUpdate,
  type PresenceUpdate,
} from "./mod.ts";

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

Deno.test("parsePresenceUpdate() accepts valid updates and rejects bad ones", () => {
  const good = update("b", "lobby:1", "ann", 2, { name: "Ann", tags: [1] }, 5);
  assert.deepEqual(parsePresenceUpdate(good), good);
  const bad: Array<[unknown, RegExp]> = [
    [null, /not an object/],
    [[good], /not an object/],
    [{ ...good, node: "" }, /bad node/],
    [{ ...good, node: 1 }, /bad node/],
    [{ ...good, room: "a b" }, /bad room/],
    [{ ...good, room: undefined }, /bad room/],
    [{ ...good, member: "ann" }, /member/],
    [{ ...good, member: { id: "", meta: null } }, /member id/],
    [{ ...good, member: { id: "x".repeat(129), meta: null } }, /member id/],
    [{ ...good, member: { id: "ann" } }, /meta/],
    [{ ...good, member: { id: "ann", meta: NaN } }, /JSON/],
    [{ ...good, member: { id: "ann", meta: { f: () => 1 } } }, /JSON/],
    [{ ...good, member: { id: "ann", meta: 1n } }, /JSON/],
    [{ ...good, connections: -1 }, /connections/],
    [{ ...good, connections: 1.5 }, /connections/],
    [{ ...good, connections: "1" }, /connections/],
    [{ ...good, connections: 2 ** 53 }, /connections/],
    [{ ...good, metaAt: Infinity }, /metaAt/],
  ];
  for (const [value, reason] of bad) {
    const result = parsePresenceUpdate(value);
    assert.equal(typeof result, "string", `accepted ${String(value)}`);
    assert.match(String(result), reason);
  }
});

Deno.test("parsePresenceUpdate() limits meta to MAX_META_BYTES of UTF-8 JSON", () => {
  assert.equal(MAX_META_BYTES, 1024);
  function withMeta(meta: unknown): unknown {
    return { ...update("b", "r", "ann", 1), member: { id: "ann", meta } };
  }
  const fits = "x".repeat(MAX_META_BYTES - 2); // plus two quotes
  assert.notEqual(typeof parsePresenceUpdate(withMeta(fits)), "string");
  assert.match(String(parsePresenceUpdate(withMeta(fits + "x"))), /exceeds/);
  const euros = "€".repeat(400); // 400 characters, 1200 bytes
  assert.match(String(parsePresenceUpdate(withMeta(euros))), /exceeds/);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.match(String(parsePresenceUpdate(withMeta(cyclic))), /JSON/);
});

Deno.test("parsePresenceUpdate() copies meta instead of keeping the sender's object", () => {
  const meta = { name: "Ann" };
  const parsed = parsePresenceUpdate(update("b", "r", "ann", 1, meta));
  assert.ok(typeof parsed !== "string");
  meta.name = "changed";
  assert.deepEqual(parsed.member.meta, { name: "Ann" });
});

Deno.test("parsePresenceSnapshot() accepts valid snapshots and rejects bad ones", () => {
  const entry = { id: "ann", meta: null, metaAt: 0, connections: 1 };
  const good = { node: "b", rooms: { r: [entry], s: [] } };
  assert.deepEqual(parsePresenceSnapshot(good), good);
  const proto = parsePresenceSnapshot(
    JSON.parse('{"node":"b","rooms":{"__proto__":[]}}'),
  );
  assert.ok(typeof proto !== "string");
  assert.deepEqual(Object.keys(proto.rooms), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(proto.rooms), Object.prototype);
  const bad: Array<[unknown, RegExp]> = [
    ["snapshot", /not an object/],
    [{ rooms: {} }, /bad node/],
    [{ node: "b" }, /rooms/],
    [{ node: "b", rooms: [] }, /rooms/],
    [{ node: "b", rooms: { "a b": [] } }, /bad room/],
    [{ node: "b", rooms: { ["x".repeat(201)]: [] } }, /bad room/],
    [{ node: "b", rooms: { r: entry } }, /not an array/],
    [{ node: "b", rooms: { r: [entry, entry] } }, /duplicate/],
    [
      { node: "b", rooms: { r: [{ ...entry, connections: -1 }] } },
      /connections/,
    ],
    [{ node: "b", rooms: { r: [{ ...entry, id: 7 }] } }, /member id/],
    [
      { node: "b", rooms: { r: [{ ...entry, meta: "€".repeat(400) }] } },
      /exceeds/,
    ],
    [{ node: "b", rooms: { r: [null] } }, /not an object/],
  ];
  for (const [value, reason] of bad) {
    const result = parsePresenceSnapshot(value);
    assert.equal(typeof result, "string", `accepted ${JSON.stringify(value)}`);
    assert.match(String(result), reason);
  }
});
