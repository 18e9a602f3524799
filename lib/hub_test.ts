import assert from "node:assert/strict";
import { FakeSocket } from "./_fake_socket.ts";
import { createBus } from "./bus/bus.ts";
import { MemoryNetwork } from "./bus/memory.ts";
import { exceedsUtf8Bytes, Hub } from "./hub.ts";
import { silentLogger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { MemorySequencer } from "./sequencer.ts";

function makeHub(net = new MemoryNetwork(), now = () => 1_000) {
  const metrics = new Metrics();
  const bus = createBus(net.connect());
  const hub = new Hub({
    bus,
    metrics,
    log: silentLogger,
    sequencer: new MemorySequencer({ epoch: "ep" }),
    limits: { maxMessageBytes: 100, maxBufferedBytes: 1_000, heartbeatMs: 500 },
    now,
  });
  return { hub, bus, metrics };
}

function open(hub: Hub) {
  const socket = new FakeSocket();
  const connection = hub.connect(socket);
  return { socket, connection };
}

Deno.test("Hub.connect() greets with welcome", async () => {
  const { hub, bus } = makeHub();
  const { socket, connection } = open(hub);
  assert.deepEqual(socket.messages(), [{
    type: "welcome",
    connectionId: connection.id,
    heartbeatMs: 500,
    protocol: 1,
  }]);
  await bus.close();
});

Deno.test("Hub delivers a publish to members with per-room offsets and an ack", async () => {
  const { hub, bus } = makeHub();
  const a = open(hub);
  const b = open(hub);
  const outsider = open(hub);
  hub.receive(a.connection, '{"type":"join","room":"r"}');
  hub.receive(b.connection, '{"type":"join","room":"r"}');
  hub.receive(outsider.connection, '{"type":"join","room":"other"}');
  assert.deepEqual(a.socket.messages("joined"), [
    { type: "joined", room: "r", offset: 0, epoch: "ep" },
  ]);
  hub.receive(
    a.connection,
    '{"type":"publish","room":"r","data":"one","id":"m1"}',
  );
  hub.receive(b.connection, '{"type":"publish","room":"r","data":"two"}');
  const expected = [
    {
      type: "message",
      room: "r",
      data: "one",
      offset: 1,
      epoch: "ep",
      ts: 1000,
      from: a.connection.id,
    },
    {
      type: "message",
      room: "r",
      data: "two",
      offset: 2,
      epoch: "ep",
      ts: 1000,
      from: b.connection.id,
    },
  ];
  assert.deepEqual(a.socket.messages("message"), expected);
  assert.deepEqual(b.socket.messages("message"), expected);
  assert.deepEqual(a.socket.messages("ack"), [{
    type: "ack",
    id: "m1",
    offset: 1,
  }]);
  assert.deepEqual(outsider.socket.messages("message"), []);
  // A new member learns the latest offset.
  const c = open(hub);
  hub.receive(c.connection, '{"type":"join","room":"r"}');
  assert.equal(c.socket.messages("joined")[0]?.offset, 2);
  await bus.close();
});

Deno.test("Hub skips the sender when echo is false", async () => {
  const { hub, bus } = makeHub();
  const a = open(hub);
  const b = open(hub);
  hub.receive(a.connection, '{"type":"join","room":"r"}');
  hub.receive(b.connection, '{"type":"join","room":"r"}');
  hub.receive(
    a.connection,
    '{"type":"publish","room":"r","data":1,"echo":false,"id":3}',
  );
  assert.equal(a.socket.messages("message").length, 0);
  assert.deepEqual(a.socket.messages("ack"), [{
    type: "ack",
    id: 3,
    offset: 1,
  }]);
  assert.equal(b.socket.messages("message").length, 1);
  await bus.close();
});

Deno.test("Hub answers bad input with error frames and keeps the connection", async () => {
  const { hub, bus, metrics } = makeHub();
  const a = open(hub);
  hub.receive(a.connection, "{oops");
  hub.receive(a.connection, '{"type":"teleport"}');
  hub.receive(a.connection, '{"type":"join","room":"no spaces"}');
  hub.receive(a.connection, '{"type":"publish","room":"r","data":1,"id":"p"}');
  hub.receive(a.connection, '{"type":"leave","room":"r"}');
  assert.deepEqual(
    a.socket.messages("error").map((e) => [e.code, e.ref]),
    [
      ["bad_json", undefined],
      ["unknown_type", undefined],
      ["bad_room", undefined],
      ["not_joined", "p"],
      ["not_joined", undefined],
    ],
  );
  assert.equal(a.socket.closedWith, undefined);
  assert.equal(metrics.total("protocol_errors_total"), 5);
  await bus.close();
});

Deno.test("Hub closes oversize (1009) and binary (1003) senders only", async () => {
  const { hub, bus } = makeHub();
  const big = open(hub);
  const bin = open(hub);
  const other = open(hub);
  hub.receive(other.connection, '{"type":"join","room":"r"}');
  hub.receive(big.connection, "x".repeat(101));
  hub.receive(bin.connection, new Uint8Array([1, 2]));
  assert.equal(big.socket.closedWith?.code, 1009);
  assert.equal(bin.socket.closedWith?.code, 1003);
  assert.equal(other.socket.closedWith, undefined);
  assert.equal(hub.stats().connections, 1);
  await bus.close();
});

Deno.test("Hub leaves every room when a connection goes", async () => {
  const { hub, bus } = makeHub();
  const a = open(hub);
  hub.receive(a.connection, '{"type":"join","room":"r1"}');
  hub.receive(a.connection, '{"type":"join","room":"r2"}');
  assert.equal(hub.stats().rooms, 2);
  hub.disconnect(a.connection, 1000);
  hub.disconnect(a.connection, 1005); // close can fire twice on Deno
  assert.deepEqual(hub.stats(), { connections: 0, rooms: 0 });
  await bus.close();
});

Deno.test("Hub answers ping with pong carrying the id and server time", async () => {
  const { hub, bus } = makeHub(new MemoryNetwork(), () => 42);
  const a = open(hub);
  hub.receive(a.connection, '{"type":"ping","id":"x"}');
  hub.receive(a.connection, '{"type":"ping"}');
  assert.deepEqual(a.socket.messages("pong"), [
    { type: "pong", id: "x", ts: 42 },
    { type: "pong", ts: 42 },
  ]);
  await bus.close();
});

Deno.test("Hub delivers what another hub publishes, in order, serialized once", async () => {
  const net = new MemoryNetwork();
  const one = makeHub(net);
  const two = makeHub(net);
  const sub = open(two.hub);
  two.hub.receive(sub.connection, '{"type":"join","room":"r"}');
  const pub = open(one.hub);
  one.hub.receive(pub.connection, '{"type":"join","room":"r"}');
  for (let i = 0; i < 5; i++) {
    one.hub.receive(
      pub.connection,
      `{"type":"publish","room":"r","data":${i}}`,
    );
  }
  await one.bus.close(); // flushes the tick's post
  await sub.socket.waitFor("message", 5);
  assert.deepEqual(
    sub.socket.messages("message").map((m) => [m.data, m.offset]),
    [
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
    ],
  );
  // The frame sent remotely is byte-identical to the local one.
  assert.deepEqual(
    sub.socket.sent.filter((s) => s.includes('"message"')),
    pub.socket.sent.filter((s) => s.includes('"message"')),
  );
  await two.bus.close();
});

Deno.test("Hub.shutdown() closes everyone with 1012 and refuses new work", async () => {
  const { hub, bus } = makeHub();
  const a = open(hub);
  const b = open(hub);
  hub.shutdown();
  assert.equal(a.socket.closedWith?.code, 1012);
  assert.equal(b.socket.closedWith?.code, 1012);
  assert.equal(hub.draining, true);
  assert.equal(hub.stats().connections, 0);
  await bus.close();
});

Deno.test("exceedsUtf8Bytes() counts multibyte characters at the boundary", () => {
  assert.equal(exceedsUtf8Bytes("a".repeat(10), 10), false);
  assert.equal(exceedsUtf8Bytes("a".repeat(11), 10), true);
  assert.equal(exceedsUtf8Bytes("é".repeat(5), 10), false); // 2 bytes each
  assert.equal(exceedsUtf8Bytes("é".repeat(5) + "a", 10), true);
  assert.equal(exceedsUtf8Bytes("€".repeat(3), 9), false); // 3 bytes each
  assert.equal(exceedsUtf8Bytes("😀".repeat(2), 8), false); // 4 bytes each
  assert.equal(exceedsUtf8Bytes("😀".repeat(2) + "a", 8), true);
});
