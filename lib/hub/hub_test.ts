import assert from "node:assert/strict";
import { MemoryNetwork } from "../bus/memory.ts";
import { MemoryLog } from "../room_log/memory.ts";
import { makeHub, open } from "./_test_utils.ts";

Deno.test("Hub.connect() greets with welcome", async () => {
  const { hub, close } = makeHub();
  const { socket, connection } = open(hub);
  assert.deepEqual(socket.messages(), [{
    type: "welcome",
    connectionId: connection.id,
    heartbeatMs: 500,
    protocol: 1,
    memberId: connection.id,
    maxMessageBytes: 100,
    rateLimit: { perSecond: 1_000, burst: 1_000 },
  }]);
  await close();
});

Deno.test("Hub delivers a publish to members with per-room offsets and an ack", async () => {
  const { hub, close } = makeHub();
  const a = open(hub);
  const b = open(hub);
  const outsider = open(hub);
  hub.receive(a.connection, '{"type":"join","room":"r"}');
  hub.receive(b.connection, '{"type":"join","room":"r"}');
  hub.receive(outsider.connection, '{"type":"join","room":"other"}');
  await Promise.all([a, b, outsider].map((c) => c.socket.waitFor("joined", 1)));
  const joined = a.socket.messages("joined")[0]!;
  assert.deepEqual([joined.room, joined.offset], ["r", 0]);
  const epoch = joined.epoch;
  hub.receive(
    a.connection,
    '{"type":"publish","room":"r","data":"one","id":"m1"}',
  );
  hub.receive(b.connection, '{"type":"publish","room":"r","data":"two"}');
  await a.socket.waitFor("message", 2);
  await b.socket.waitFor("message", 2);
  await a.socket.waitFor("ack", 1);
  const expected = [
    {
      type: "message",
      room: "r",
      data: "one",
      offset: 1,
      epoch,
      ts: 1000,
      from: a.connection.id,
    },
    {
      type: "message",
      room: "r",
      data: "two",
      offset: 2,
      epoch,
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
  // A new member starts after the latest offset.
  const c = open(hub);
  hub.receive(c.connection, '{"type":"join","room":"r"}');
  await c.socket.waitFor("joined", 1);
  assert.equal(c.socket.messages("joined")[0]?.offset, 2);
  await close();
});

Deno.test("Hub skips the sender when echo is false", async () => {
  const { hub, close } = makeHub();
  const a = open(hub);
  const b = open(hub);
  hub.receive(a.connection, '{"type":"join","room":"r"}');
  hub.receive(b.connection, '{"type":"join","room":"r"}');
  await a.socket.waitFor("joined", 1);
  await b.socket.waitFor("joined", 1);
  hub.receive(
    a.connection,
    '{"type":"publish","room":"r","data":1,"echo":false,"id":3}',
  );
  hub.receive(a.connection, '{"type":"publish","room":"r","data":2,"id":4}');
  await a.socket.waitFor("ack", 2);
  await b.socket.waitFor("message", 2);
  assert.deepEqual(a.socket.messages("message").map((m) => m.data), [2]);
  assert.deepEqual(a.socket.messages("ack"), [
    { type: "ack", id: 3, offset: 1 },
    { type: "ack", id: 4, offset: 2 },
  ]);
  await close();
});

Deno.test("Hub resumes a join: replays the gap, then continues live, once each", async () => {
  const { hub, close } = makeHub();
  const pub = open(hub);
  hub.receive(pub.connection, '{"type":"join","room":"r"}');
  await pub.socket.waitFor("joined", 1);
  const epoch = String(pub.socket.messages("joined")[0]!.epoch);
  for (let i = 1; i <= 5; i++) {
    hub.receive(pub.connection, `{"type":"publish","room":"r","data":${i}}`);
  }
  await pub.socket.waitFor("message", 5);
  const back = open(hub);
  hub.receive(
    back.connection,
    JSON.stringify({ type: "join", room: "r", since: { offset: 2, epoch } }),
  );
  hub.receive(pub.connection, '{"type":"publish","room":"r","data":6}');
  await back.socket.waitFor("message", 4);
  const { members: _m1, ...resumed } = back.socket.messages("joined")[0]!;
  assert.deepEqual(resumed, {
    type: "joined",
    room: "r",
    offset: 2,
    epoch,
    recovered: true,
  });
  assert.deepEqual(back.socket.messages("message").map((m) => m.offset), [
    3,
    4,
    5,
    6,
  ]);
  // A foreign epoch cannot be resumed: recovered false, current position.
  const lost = open(hub);
  hub.receive(
    lost.connection,
    '{"type":"join","room":"r","since":{"offset":1,"epoch":"gone"}}',
  );
  await lost.socket.waitFor("joined", 1);
  const { members: _m2, ...unrecovered } = lost.socket.messages("joined")[0]!;
  assert.deepEqual(unrecovered, {
    type: "joined",
    room: "r",
    offset: 6,
    epoch,
    recovered: false,
  });
  await close();
});

Deno.test("Hub repairs bus losses from history: members see every message once, in order", async () => {
  let dropping = true;
  let dropped: () => void = () => {};
  const lost = new Promise<void>((resolve) => (dropped = resolve));
  const net = new MemoryNetwork({
    drop: (post) => {
      const carriesMessages = post.events.some((e) => e.kind === "message");
      if (!dropping || !carriesMessages) return false;
      dropped();
      return true;
    },
  });
  const history = new MemoryLog({ maxMessages: 1000, ttlMs: 60_000 });
  const one = makeHub(net, Date.now, history);
  const two = makeHub(net, Date.now, history);
  const sub = open(two.hub);
  two.hub.receive(sub.connection, '{"type":"join","room":"r"}');
  await sub.socket.waitFor("joined", 1);
  const pub = open(one.hub);
  one.hub.receive(pub.connection, '{"type":"join","room":"r"}');
  await pub.socket.waitFor("joined", 1);
  for (let i = 1; i <= 50; i++) {
    one.hub.receive(
      pub.connection,
      `{"type":"publish","room":"r","data":${i}}`,
    );
  }
  await pub.socket.waitFor("message", 50);
  await lost; // the post carrying 1..50 never reached the other hub
  dropping = false; // 51 arrives and reveals the hole
  one.hub.receive(pub.connection, '{"type":"publish","room":"r","data":51}');
  await sub.socket.waitFor("message", 51);
  assert.deepEqual(
    sub.socket.messages("message").map((m) => m.offset),
    Array.from({ length: 51 }, (_, i) => i + 1),
  );
  assert.equal(two.metrics.get("history_repaired_total"), 50);
  await one.close();
  await two.close();
});

Deno.test("Hub answers bad input with error frames and keeps the connection", async () => {
  const { hub, metrics, close } = makeHub();
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
  await close();
});

Deno.test("Hub closes oversize (1009) and binary (1003) senders only", async () => {
  const { hub, close } = makeHub();
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
  await close();
});

Deno.test("Hub leaves every room when a connection goes", async () => {
  const { hub, close } = makeHub();
  const a = open(hub);
  hub.receive(a.connection, '{"type":"join","room":"r1"}');
  hub.receive(a.connection, '{"type":"join","room":"r2"}');
  assert.equal(hub.stats().rooms, 2);
  hub.disconnect(a.connection, 1000);
  hub.disconnect(a.connection, 1005); // close can fire twice on Deno
  assert.deepEqual(hub.stats(), { connections: 0, rooms: 0 });
  await close();
});

Deno.test("Hub answers ping with pong carrying the id and server time", async () => {
  const { hub, close } = makeHub(new MemoryNetwork(), () => 42);
  const a = open(hub);
  hub.receive(a.connection, '{"type":"ping","id":"x"}');
  hub.receive(a.connection, '{"type":"ping"}');
  assert.deepEqual(a.socket.messages("pong"), [
    { type: "pong", id: "x", ts: 42 },
    { type: "pong", ts: 42 },
  ]);
  await close();
});

Deno.test("Hub delivers what another hub publishes, in order, serialized once", async () => {
  const net = new MemoryNetwork();
  const history = new MemoryLog({ maxMessages: 100, ttlMs: 60_000 });
  const one = makeHub(net, () => 1_000, history);
  const two = makeHub(net, () => 1_000, history);
  const sub = open(two.hub);
  two.hub.receive(sub.connection, '{"type":"join","room":"r"}');
  const pub = open(one.hub);
  one.hub.receive(pub.connection, '{"type":"join","room":"r"}');
  await sub.socket.waitFor("joined", 1);
  await pub.socket.waitFor("joined", 1);
  for (let i = 0; i < 5; i++) {
    one.hub.receive(
      pub.connection,
      `{"type":"publish","room":"r","data":${i}}`,
    );
  }
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
  await one.close();
  await two.close();
});

Deno.test("Hub.shutdown() closes everyone with 1012 and refuses new work", async () => {
  const { hub, close } = makeHub();
  const a = open(hub);
  const b = open(hub);
  hub.shutdown();
  assert.equal(a.socket.closedWith?.code, 1012);
  assert.equal(b.socket.closedWith?.code, 1012);
  assert.equal(hub.draining, true);
  assert.equal(hub.stats().connections, 0);
  await close();
});
