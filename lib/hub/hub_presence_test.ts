/** The hub and presence across isolates: members, shutdown, opt-in. */
import assert from "node:assert/strict";
import { FakeSocket } from "../../tests/_support/fake_socket.ts";
import { MemoryNetwork } from "../bus/memory.ts";
import { MemoryLog } from "../room_log/memory.ts";
import { makeHub } from "./_test_utils.ts";

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
