import assert from "node:assert/strict";
import { rig } from "./_test_utils.ts";
import { createClient } from "./mod.ts";

const ann = { id: "ann", meta: { name: "Ann" } };
const bob = { id: "bob", meta: { name: "Bob" } };
const cat = { id: "cat", meta: { name: "Cat" } };

Deno.test("createClient() sends the user option as ?user= and checks it", () => {
  using t = rig({ user: "ann@example.com" });
  assert.equal(t.socket.url, "ws://roomcast.test/ws?user=ann%40example.com");
  t.socket.receive({
    type: "welcome",
    connectionId: "c1",
    heartbeatMs: 25_000,
    protocol: 1,
    memberId: "ann@example.com",
  });
  assert.equal(t.client.memberId, "ann@example.com");
  assert.throws(() => createClient("ws://x/ws", { user: "no spaces" }), {
    name: "TypeError",
    message: /^Invalid option "user" "no spaces"/,
  });
  assert.throws(() => createClient("ws://x/ws", { user: "" }), TypeError);
});

Deno.test("join() sends meta and an id with every join, rejoins included", () => {
  using t = rig();
  t.client.join("lobby", { meta: { name: "Ann" } });
  t.socket.welcome();
  assert.deepEqual(t.socket.sentOf("join"), [
    { type: "join", room: "lobby", id: "j1", meta: { name: "Ann" } },
  ]);
  t.socket.joined("lobby", 3);
  t.socket.serverClose(1012);
  t.tick(750);
  t.socket.welcome();
  assert.deepEqual(t.socket.sentOf("join"), [{
    type: "join",
    room: "lobby",
    id: "j2",
    since: { offset: 3, epoch: "e1" },
    meta: { name: "Ann" },
  }]);
  assert.throws(
    () => t.client.join("big", { meta: "x".repeat(1_100) }),
    { name: "RangeError", message: /^Invalid meta: 1102 bytes of JSON/ },
  );
  assert.throws(() => t.client.join("odd", { meta: { score: NaN } }), {
    name: "TypeError",
    message: "Invalid meta: not JSON",
  });
  assert.deepEqual(t.client.rooms, ["lobby"]);
});

Deno.test("members() follows joined.members and presence events", () => {
  using t = rig();
  t.client.join("lobby");
  t.socket.welcome();
  assert.deepEqual(t.client.members("lobby"), []);
  t.socket.presence("lobby", "join", "early"); // Before joined: no list yet.
  t.socket.joined("lobby", 0, "e1", [ann, bob]);
  t.socket.presence("lobby", "join", cat.id, cat.meta);
  t.socket.presence("lobby", "join", cat.id, cat.meta); // Nothing new.
  t.socket.presence("lobby", "leave", bob.id, bob.meta);
  t.socket.presence("elsewhere", "join", "x"); // A room not joined.
  assert.deepEqual(t.client.members("lobby"), [ann, cat]);
  const names = new Set(["presence", "members", "joined"]);
  assert.deepEqual(t.events.filter(([name]) => names.has(name)), [
    ["members", { room: "lobby", members: [ann, bob] }],
    ["joined", { room: "lobby", offset: 0, epoch: "e1", resumed: false }],
    ["presence", { room: "lobby", event: "join", member: cat }],
    ["members", { room: "lobby", members: [ann, bob, cat] }],
    ["presence", { room: "lobby", event: "leave", member: bob }],
    ["members", { room: "lobby", members: [ann, cat] }],
  ]);
});

Deno.test("a rejoin replaces the member list; leave() empties it", () => {
  using t = rig();
  t.client.join("lobby");
  t.socket.welcome();
  t.socket.joined("lobby", 0, "e1", [ann, bob]);
  t.socket.serverClose(1006);
  // Kept while reconnecting.
  assert.deepEqual(t.client.members("lobby"), [ann, bob]);
  t.tick(750);
  t.socket.welcome();
  const before = t.events.length;
  // Bob left and Cat came while the client was away: replaced, not merged.
  t.socket.joined("lobby", 0, "e1", [ann, cat]);
  assert.deepEqual(t.client.members("lobby"), [ann, cat]);
  assert.deepEqual(t.events.slice(before, before + 1), [
    ["members", { room: "lobby", members: [ann, cat] }],
  ]);
  t.client.leave("lobby");
  assert.deepEqual(t.client.members("lobby"), []);
  assert.deepEqual(t.events.at(-1), [
    "members",
    { room: "lobby", members: [] },
  ]);
  t.socket.presence("lobby", "join", bob.id, bob.meta); // Left: ignored.
  assert.deepEqual(t.client.members("lobby"), []);
});

Deno.test("an error answering a join drops the room and names it", async () => {
  using t = rig();
  t.client.join("lobby");
  t.client.join("other");
  t.socket.welcome();
  t.socket.joined("other", 0, "e1", [ann]);
  const queued = t.client.publish("lobby", 1); // Sent: answered by not_joined.
  assert.deepEqual(t.socket.sentOf("join"), [
    { type: "join", room: "lobby", id: "j1" },
    { type: "join", room: "other", id: "j2" },
  ]);
  t.socket.receive({
    type: "error",
    code: "internal",
    message: 'Could not join room "lobby"',
    ref: "j1",
  });
  assert.deepEqual(t.events.at(-1), ["error", {
    type: "error",
    code: "internal",
    message: 'Could not join room "lobby"',
    ref: "j1",
    room: "lobby",
  }]);
  assert.deepEqual(t.client.rooms, ["other"]);
  t.socket.receive({
    type: "error",
    code: "not_joined",
    message: "Join first",
    ref: 1,
  });
  await assert.rejects(queued, { code: "not_joined" });
  // A join already confirmed, or an unknown ref: a plain error event.
  t.socket.receive({
    type: "error",
    code: "internal",
    message: "x",
    ref: "j2",
  });
  assert.deepEqual(t.events.at(-1), ["error", {
    type: "error",
    code: "internal",
    message: "x",
    ref: "j2",
  }]);
  assert.deepEqual(t.client.rooms, ["other"]);
  assert.deepEqual(t.client.members("other"), [ann]);
});

Deno.test("a refused rejoin rejects the room's queued publishes and clears its members", async () => {
  using t = rig();
  t.client.join("lobby", { meta: "Ann" });
  t.socket.welcome();
  t.socket.joined("lobby", 0, "e1", [{ id: "c1", meta: "Ann" }]);
  t.socket.serverClose(1012);
  const queued = t.client.publish("lobby", "later");
  t.tick(750);
  t.socket.welcome();
  const [join] = t.socket.sentOf("join");
  assert.deepEqual(join, {
    type: "join",
    room: "lobby",
    id: "j2",
    since: { offset: 0, epoch: "e1" },
    meta: "Ann",
  });
  t.socket.receive({
    type: "error",
    code: "bad_meta",
    message: "Bad meta",
    ref: "j2",
  });
  // The publish was flushed after the join; its own answer settles it.
  t.socket.receive({
    type: "error",
    code: "not_joined",
    message: "No",
    ref: 1,
  });
  await assert.rejects(queued, { code: "not_joined" });
  assert.deepEqual(t.client.rooms, []);
  assert.deepEqual(t.client.members("lobby"), []);
  assert.deepEqual(t.events.slice(-2).map(([name]) => name), [
    "members",
    "error",
  ]);
});

Deno.test("publish() refuses a frame over welcome.maxMessageBytes without sending it", async () => {
  using t = rig();
  t.client.join("lobby");
  // Queued before any welcome: the limit is not known yet.
  const early = t.client.publish("lobby", "x".repeat(100));
  t.socket.welcome(25_000, "c1", 100);
  // The queued publish is over the limit: refused at the flush, not sent.
  await assert.rejects(early, {
    name: "RoomcastError",
    code: "too_big",
    message:
      "Message too big: its frame takes 150 bytes, the server accepts at most 100",
  });
  // {"type":"publish","room":"lobby","data":"…","id":2}: 50 bytes + data,
  // counted in UTF-8 bytes ("é" takes 2), not in characters.
  const fits = t.client.publish("lobby", "é".repeat(25)); // 100 bytes.
  await assert.rejects(t.client.publish("lobby", "é".repeat(26)), {
    code: "too_big",
  });
  assert.deepEqual(t.socket.sentOf("publish").map((f) => JSON.stringify(f)), [
    `{"type":"publish","room":"lobby","data":"${"é".repeat(25)}","id":2}`,
  ]);
  t.socket.receive({ type: "ack", id: 2, offset: 1 });
  assert.deepEqual(await fits, { offset: 1 });
  assert.equal(t.client.state, "connected");
  // A server that does not announce a limit: no local check.
  t.socket.serverClose(1012);
  t.tick(750);
  t.socket.welcome();
  const big = t.client.publish("lobby", "x".repeat(1_000));
  assert.equal(t.socket.sentOf("publish").length, 1);
  t.socket.receive({ type: "ack", id: 4, offset: 2 });
  assert.deepEqual(await big, { offset: 2 });
});

Deno.test("members() takes a presence update and keeps its list on a re-join's short answer", () => {
  using t = rig();
  t.client.join("lobby");
  t.socket.welcome();
  t.socket.joined("lobby", 0, "e1", [ann, bob]);
  const away = { id: "bob", meta: { name: "Bob", away: true } };
  t.socket.presence("lobby", "update", away.id, away.meta);
  t.socket.receive({
    type: "joined",
    room: "lobby",
    offset: 0,
    epoch: "e1",
    rejoined: true,
  });
  assert.deepEqual(t.client.members("lobby"), [ann, away]);
  const names = new Set(["presence", "members", "error"]);
  assert.deepEqual(t.events.filter(([name]) => names.has(name)).slice(1), [
    ["presence", { room: "lobby", event: "update", member: away }],
    ["members", { room: "lobby", members: [ann, away] }],
  ]);
});
