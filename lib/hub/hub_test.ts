import assert from "node:assert/strict";
import { FakeSocket } from "../../tests/_support/fake_socket.ts";
import { createBus } from "../bus/bus.ts";
import { MemoryNetwork } from "../bus/memory.ts";
import { exceedsUtf8Bytes } from "../support/utf8.ts";
import { Hub } from "./hub.ts";
import { silentLogger } from "../support/log.ts";
import { Metrics } from "../support/metrics.ts";
import { MemoryLog } from "../room_log/memory.ts";

function makeHub(
  net = new MemoryNetwork(),
  now = () => 1_000,
  history = new MemoryLog({ maxMessages: 100, ttlMs: 60_000, now }),
) {
  const metrics = new Metrics();
  const bus = createBus(net.connect());
  const hub = new Hub({
    bus,
    history,
    metrics,
    log: silentLogger,
    limits: {
      maxMessageBytes: 100,
      maxBufferedBytes: 1_000,
      heartbeatMs: 500,
      repairDelayMs: 5,
      presenceIntervalMs: 60_000,
      presenceTimeoutMs: 120_000,
      rateLimitPerS: 1_000,
      rateLimitBurst: 1_000,
      rateLimitStrikes: 3,
      maxRoomsPerConnection: 3,
      coalesceMs: 1,
    },
    now,
  });
  async function close() {
    hub.shutdown();
    await bus.close();
  }
  return { hub, bus, metrics, history, close };
}

function open(hub: Hub) {
  const socket = new FakeSocket();
  const connection = hub.connect(socket);
  return { socket, connection };
}

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

Deno.test("exceedsUtf8Bytes() counts multibyte characters at the boundary", () => {
  assert.equal(exceedsUtf8Bytes("a".repeat(10), 10), false);
  assert.equal(exceedsUtf8Bytes("a".repeat(11), 10), true);
  assert.equal(exceedsUtf8Bytes("é".repeat(5), 10), false); // 2 bytes each
  assert.equal(exceedsUtf8Bytes("é".repeat(5) + "a", 10), true);
  assert.equal(exceedsUtf8Bytes("€".repeat(3), 9), false); // 3 bytes each
  assert.equal(exceedsUtf8Bytes("😀".repeat(2), 8), false); // 4 bytes each
  assert.equal(exceedsUtf8Bytes("😀".repeat(2) + "a", 8), true);
});

Deno.test("Hub presence: one user with tabs on two isolates is one member", async () => {
  const net = new MemoryNetwork();
  const history = new MemoryLog({ maxMessages: 100, ttlMs: 60_000 });
  const one = makeHub(net, Date.now, history);
  const two = makeHub(net, Date.now, history);
  const watcher = { socket: new FakeSocket() };
  const w = one.hub.connect(watcher.socket, { memberId: "watcher" });
  one.hub.receive(w, '{"type":"join","room":"r","meta":{"name":"W"}}');
  await watcher.socket.waitFor("joined", 1);
  assert.deepEqual(watcher.socket.messages("joined")[0]!.members, [
    { id: "watcher", meta: { name: "W" } },
  ]);
  // Ann's first tab, on the other isolate.
  const tab1 = new FakeSocket();
  const c1 = two.hub.connect(tab1, { memberId: "ann" });
  two.hub.receive(c1, '{"type":"join","room":"r","meta":{"name":"Ann"}}');
  await watcher.socket.waitFor("presence", 1);
  assert.deepEqual(watcher.socket.messages("presence"), [
    {
      type: "presence",
      room: "r",
      event: "join",
      member: { id: "ann", meta: { name: "Ann" } },
    },
  ]);
  await tab1.waitFor("joined", 1);
  // Her view: the member list, then any presence event still in flight.
  const listed = tab1.messages("joined")[0]!.members as unknown[];
  if (listed.length < 2) await tab1.waitFor("presence", 1);
  const view = [...listed, ...tab1.messages("presence").map((p) => p.member)];
  assert.deepEqual(view.map((m) => JSON.stringify(m)).sort(), [
    '{"id":"ann","meta":{"name":"Ann"}}',
    '{"id":"watcher","meta":{"name":"W"}}',
  ]);
  // Her second tab, on the watcher's isolate: no new presence event.
  const tab2 = new FakeSocket();
  const c2 = one.hub.connect(tab2, { memberId: "ann" });
  one.hub.receive(c2, '{"type":"join","room":"r","meta":{"name":"Ann"}}');
  await tab2.waitFor("joined", 1);
  two.hub.disconnect(c1, 1000); // first tab closes: she is still present
  one.hub.disconnect(c2, 1000); // last tab closes: she leaves
  await watcher.socket.waitFor("presence", 2);
  assert.deepEqual(
    watcher.socket.messages("presence").map((p) => p.event),
    ["join", "leave"],
  );
  await one.close();
  await two.close();
});

Deno.test("Hub presence: an isolate that shuts down takes its members with it", async () => {
  const net = new MemoryNetwork();
  const history = new MemoryLog({ maxMessages: 100, ttlMs: 60_000 });
  const one = makeHub(net, Date.now, history);
  const two = makeHub(net, Date.now, history);
  const watcher = new FakeSocket();
  one.hub.receive(
    one.hub.connect(watcher, { memberId: "w" }),
    '{"type":"join","room":"r","presence":true}',
  );
  await watcher.waitFor("joined", 1);
  const bob = new FakeSocket();
  two.hub.receive(
    two.hub.connect(bob, { memberId: "bob" }),
    '{"type":"join","room":"r","presence":true}',
  );
  await watcher.waitFor("presence", 1);
  await two.close(); // drains its clients and announces node-down
  await watcher.waitFor("presence", 2);
  assert.deepEqual(
    watcher.messages("presence").map((
      p,
    ) => [p.event, JSON.stringify(p.member)]),
    [
      ["join", '{"id":"bob","meta":null}'],
      ["leave", '{"id":"bob","meta":null}'],
    ],
  );
  await one.close();
});

Deno.test("Hub presence is opt-in: an audience member is not listed but sees who is", async () => {
  const { hub, close } = makeHub();
  const audience = new FakeSocket();
  hub.receive(
    hub.connect(audience, { memberId: "viewer" }),
    '{"type":"join","room":"r"}',
  );
  await audience.waitFor("joined", 1);
  assert.deepEqual(audience.messages("joined")[0]!.members, []);
  const host = new FakeSocket();
  hub.receive(
    hub.connect(host, { memberId: "host" }),
    '{"type":"join","room":"r","meta":{"name":"Host"}}',
  );
  await host.waitFor("joined", 1);
  assert.deepEqual(host.messages("joined")[0]!.members, [
    { id: "host", meta: { name: "Host" } },
  ]);
  await audience.waitFor("presence", 1);
  assert.deepEqual(audience.messages("presence")[0]!.member, {
    id: "host",
    meta: { name: "Host" },
  });
  await close();
});
