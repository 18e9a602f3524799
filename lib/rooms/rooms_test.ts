import assert from "node:assert/strict";
import { FakeSocket } from "../../tests/_support/fake_socket.ts";
import { createBus } from "../bus/bus.ts";
import { MemoryNetwork } from "../bus/memory.ts";
import type { Access } from "./connection.ts";
import { MemoryLog } from "../room_log/memory.ts";
import { Hub } from "../hub/hub.ts";
import { silentLogger } from "../support/log.ts";
import { Metrics } from "../support/metrics.ts";

/** A hub whose frames may carry a full 1 KiB meta. */
function makeHub(
  net = new MemoryNetwork(),
  history = new MemoryLog({ maxMessages: 100, ttlMs: 60_000 }),
) {
  const metrics = new Metrics();
  const bus = createBus(net.connect());
  const hub = new Hub({
    bus,
    history,
    metrics,
    log: silentLogger,
    limits: {
      maxMessageBytes: 8_192,
      maxBufferedBytes: 1_000_000,
      heartbeatMs: 500,
      repairDelayMs: 5,
      presenceIntervalMs: 60_000,
      presenceTimeoutMs: 120_000,
      rateLimitPerS: 100_000,
      rateLimitBurst: 100_000,
      rateLimitStrikes: 3,
      maxRoomsPerConnection: 3,
      coalesceMs: 0,
    },
  });
  async function close() {
    hub.shutdown();
    await bus.close();
  }
  return { hub, metrics, close };
}

const NAMED: Access = {
  canJoin: () => true,
  canPublish: () => true,
  name: "A name from the token",
};

function join(hub: Hub, memberId: string, access?: Access) {
  const socket = new FakeSocket();
  const connection = hub.connect(
    socket,
    access === undefined ? { memberId } : { memberId, access },
  );
  const send = (frame: unknown) =>
    hub.receive(connection, JSON.stringify(frame));
  return { socket, connection, send };
}

/** Meta of `bytes` bytes of JSON text. */
function metaOf(bytes: number) {
  return { pad: "x".repeat(bytes - '{"pad":""}'.length) };
}

Deno.test("Rooms: meta that fits only without the token's name is refused with bad_meta and leaves no trace", async () => {
  const { hub, metrics, close } = makeHub();
  const ann = join(hub, "ann", NAMED);
  ann.send({ type: "join", room: "r", id: "j1", meta: metaOf(1_000) });
  await ann.socket.waitFor("error", 1);
  assert.equal(ann.socket.messages("error")[0]!.code, "bad_meta");
  assert.equal(ann.socket.messages("error")[0]!.ref, "j1");
  assert.equal(hub.stats().rooms, 0, "no member left in the registry");
  assert.deepEqual(hub.roomList(), []);
  // A retry is not confirmed as if it had worked.
  ann.send({ type: "join", room: "r", id: "j2", meta: metaOf(1_000) });
  await ann.socket.waitFor("error", 2);
  assert.equal(ann.socket.messages("joined").length, 0);
  // Messages into the room are held for nobody.
  const bob = join(hub, "bob");
  bob.send({ type: "join", room: "r" });
  await bob.socket.waitFor("joined", 1);
  for (let i = 1; i <= 100; i++) {
    bob.send({ type: "publish", room: "r", data: i, id: i });
  }
  await bob.socket.waitFor("ack", 100);
  assert.equal(metrics.get("pending_messages"), 0);
  assert.equal(ann.socket.messages("message").length, 0);
  await close();
});

Deno.test("Rooms: a join failing after the member was registered takes it out again", async () => {
  const { hub, metrics, close } = makeHub();
  // A member id presence refuses: the failure comes after registration.
  const bad = join(hub, "x".repeat(200));
  bad.send({ type: "join", room: "r", id: "j1", meta: { n: 1 } });
  await bad.socket.waitFor("error", 1);
  assert.equal(bad.socket.messages("error")[0]!.code, "internal");
  assert.equal(hub.stats().rooms, 0);
  assert.equal(bad.connection.rooms.size, 0);
  bad.send({ type: "join", room: "r", id: "j2", meta: { n: 1 } });
  await bad.socket.waitFor("error", 2);
  assert.equal(bad.socket.messages("joined").length, 0);
  assert.equal(metrics.get("pending_messages"), 0);
  await close();
});

Deno.test("Rooms: a re-join is answered without the member list", async () => {
  const { hub, close } = makeHub();
  for (let i = 0; i < 20; i++) {
    const other = join(hub, `m${i}`);
    other.send({ type: "join", room: "r", meta: metaOf(500) });
    await other.socket.waitFor("joined", 1);
  }
  const ann = join(hub, "ann");
  ann.send({ type: "join", room: "r", meta: { name: "Ann" } });
  await ann.socket.waitFor("joined", 1);
  const first = ann.socket.sent.length;
  for (let i = 0; i < 10; i++) {
    ann.send({ type: "join", room: "r", meta: { name: "Ann" } });
  }
  await ann.socket.waitFor("joined", 11);
  const replies = ann.socket.sent.slice(first);
  assert.equal(replies.length, 10, "no presence event for unchanged meta");
  for (const reply of replies) {
    assert.ok(!reply.includes("members"), reply);
    assert.ok(reply.length < 100, `${reply.length} characters`);
    assert.equal(JSON.parse(reply).rejoined, true);
  }
  await close();
});

Deno.test("Rooms: a re-join with new meta updates it for everyone, and a closed tab's meta falls back", async () => {
  const { hub, close } = makeHub();
  const watcher = join(hub, "w");
  watcher.send({ type: "join", room: "r" });
  await watcher.socket.waitFor("joined", 1);
  const tab1 = join(hub, "ann");
  tab1.send({ type: "join", room: "r", meta: { name: "Ann" } });
  await watcher.socket.waitFor("presence", 1);
  const tab2 = join(hub, "ann");
  tab2.send({ type: "join", room: "r", meta: { name: "Ann" } });
  await tab2.socket.waitFor("joined", 1);
  tab2.send({ type: "join", room: "r", meta: { name: "Ann", away: true } });
  await watcher.socket.waitFor("presence", 2);
  await tab2.socket.waitFor("presence", 1); // The re-joiner sees it too.
  hub.disconnect(tab2.connection, 1000);
  await watcher.socket.waitFor("presence", 3);
  assert.deepEqual(
    watcher.socket.messages("presence").map((p) => [p.event, p.member]),
    [
      ["join", { id: "ann", meta: { name: "Ann" } }],
      ["update", { id: "ann", meta: { name: "Ann", away: true } }],
      ["update", { id: "ann", meta: { name: "Ann" } }],
    ],
  );
  assert.deepEqual((await hub.roomInfo("r")).members, [
    { id: "ann", meta: { name: "Ann" } },
  ]);
  await close();
});
