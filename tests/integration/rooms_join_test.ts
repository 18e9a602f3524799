/**
 * Joins end to end (issue #10, items 2 and 9): a failed join leaves no
 * ghost that holds messages, a re-join is answered in a few bytes, and a
 * re-join's new meta reaches observers on other isolates.
 */
import assert from "node:assert/strict";
import { signHs256 } from "../../lib/support/auth.ts";
import {
  openAcrossIsolates,
  report,
  startTestServer,
  startTestWorkers,
  TestClient,
} from "../_support/harness.ts";

const SECRET = "rooms-join-test-secret-0123456789";

function token(claims: Record<string, unknown>): Promise<string> {
  return signHs256(
    { exp: Math.floor(Date.now() / 1000) + 600, ...claims },
    SECRET,
  );
}

/** Meta of `bytes` bytes of JSON text. */
function metaOf(bytes: number) {
  return { pad: "x".repeat(bytes - '{"pad":""}'.length) };
}

/** Sums the characters of the text frames `client` receives from now on. */
function countBytes(client: TestClient): { frames: string[] } {
  const seen = { frames: [] as string[] };
  client.socket.addEventListener("message", (event: MessageEvent<unknown>) => {
    if (typeof event.data === "string") seen.frames.push(event.data);
  });
  return seen;
}

Deno.test("join: meta that fits 1 KiB only without the token's name leaves no ghost", async () => {
  await using server = await startTestServer({
    env: { AUTH_SECRET: SECRET, ALLOW_ANONYMOUS: "0" },
  });
  const annToken = await token({ sub: "ann", name: "Ann Example" });
  await using ann = await TestClient.open(`${server.wsUrl}?token=${annToken}`);
  ann.send({ type: "join", room: "r", id: "j1", meta: metaOf(1_010) });
  const error = await ann.next("error");
  assert.equal(error.code, "bad_meta");
  assert.equal(error.ref, "j1");
  assert.equal(server.hub.stats().rooms, 0, "registry size");
  assert.deepEqual(server.hub.roomList(), [], "room list and presence");
  // A retry is refused again, not confirmed as if she were a member.
  ann.send({ type: "join", room: "r", id: "j2", meta: metaOf(1_010) });
  assert.equal((await ann.next("error")).ref, "j2");
  // 1,000 messages into the room are held for nobody.
  const bobToken = await token({ sub: "bob" });
  await using bob = await TestClient.open(`${server.wsUrl}?token=${bobToken}`);
  await bob.join("r");
  for (let i = 1; i <= 1_000; i++) {
    bob.send({ type: "publish", room: "r", data: i, id: i });
  }
  for (let i = 1; i <= 1_000; i++) {
    await bob.next("ack", { skip: true });
  }
  assert.equal(server.metrics.get("pending_messages"), 0);
  assert.deepEqual(server.hub.roomList().map((r) => r.localConnections), [1]);
  // Ann is told the truth: a join that fits works, one that did not never did.
  ann.send({ type: "ping", id: "p" });
  await ann.next("pong");
  assert.deepEqual(ann.pending, [], "no joined, no message");
  ann.send({ type: "join", room: "r", meta: { mood: "ok" } });
  const joined = await ann.next("joined");
  assert.equal(joined.rejoined, undefined);
  assert.equal(joined.offset, 1_000);
  assert.deepEqual(joined.members, [
    { id: "ann", meta: { mood: "ok", name: "Ann Example" } },
  ]);
});

Deno.test("join: re-joins in a room of many members with meta are answered without the list", async () => {
  await using server = await startTestServer();
  const members: TestClient[] = [];
  try {
    for (let i = 0; i < 50; i++) {
      const client = await TestClient.open(`${server.wsUrl}?user=m${i}`);
      members.push(client);
      client.send({ type: "join", room: "big", meta: metaOf(500) });
      await client.next("joined");
    }
    await using ann = await TestClient.open(`${server.wsUrl}?user=ann`);
    ann.send({ type: "join", room: "big", meta: { name: "Ann" } });
    assert.equal((await ann.next("joined")).members?.length, 51);
    const seen = countBytes(ann);
    const rejoins = 50;
    for (let i = 0; i < rejoins; i++) {
      ann.send({ type: "join", room: "big", meta: { name: "Ann" } });
    }
    for (let i = 0; i < rejoins; i++) {
      const reply = await ann.next("joined");
      assert.equal(reply.rejoined, true);
      assert.equal(reply.members, undefined);
    }
    const bytes = seen.frames.reduce((sum, f) => sum + f.length, 0);
    report(`${rejoins} re-joins in a room of 51 members: ${bytes} bytes`);
    assert.equal(seen.frames.length, rejoins, "only the answers");
    for (const frame of seen.frames) assert.ok(!frame.includes("pad"), frame);
    assert.ok(bytes < rejoins * 200, `${bytes} bytes`);
  } finally {
    await Promise.all(members.map((m) => m.close()));
  }
});

Deno.test("join: a second tab's new meta reaches an observer on another isolate, and falls back when it closes", async () => {
  await using workers = await startTestWorkers();
  const byNode = await openAcrossIsolates(workers.wsUrl, {
    perIsolate: 1,
    user: () => "ann",
  });
  const tabs = [...byNode.values()].map((clients) => clients[0]!);
  const [tab1, tab2] = tabs;
  await using observer = await TestClient.open(`${workers.wsUrl}?user=obs`);
  try {
    await observer.join("r");
    tab1!.send({ type: "join", room: "r", meta: { v: 1 } });
    await tab1!.next("joined");
    const joinEvent = await observer.next("presence");
    assert.deepEqual([joinEvent.event, joinEvent.member], [
      "join",
      { id: "ann", meta: { v: 1 } },
    ]);
    tab2!.send({ type: "join", room: "r", meta: { v: 1 } });
    await tab2!.next("joined");
    tab2!.send({ type: "join", room: "r", meta: { v: 2 } });
    assert.equal((await tab2!.next("joined")).rejoined, true);
    const update = await observer.next("presence");
    assert.deepEqual([update.event, update.member], [
      "update",
      { id: "ann", meta: { v: 2 } },
    ]);
    await tab2!.close();
    const fallback = await observer.next("presence");
    assert.deepEqual([fallback.event, fallback.member], [
      "update",
      { id: "ann", meta: { v: 1 } },
    ]);
  } finally {
    for (const clients of byNode.values()) {
      await Promise.all(clients.map((c) => c.close()));
    }
  }
});
