/**
 * Reading a room's history (issue #17: a room looked empty on join although
 * 300 messages were kept, and `GET /api/rooms/lobby/messages` was 404):
 * the HTTP read with its bad input, a `join` with `history: N`, and the
 * SDK's `history` option, against a real server.
 */
import assert from "node:assert/strict";
import { createClient } from "../../lib/client/mod.ts";
import { startTestServer, TestClient } from "../_support/harness.ts";

const API_KEY = `api-${crypto.randomUUID()}`;
const auth = { authorization: `Bearer ${API_KEY}` };

async function publish(url: string, room: string, count: number) {
  for (let i = 1; i <= count; i++) {
    const res = await fetch(`${url}/api/rooms/${room}/messages`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ data: { text: `m${i}` } }),
    });
    assert.equal(res.status, 201, await res.text());
  }
}

interface Read {
  head: { offset: number; epoch: string };
  recovered: boolean;
  more: boolean;
  messages: { type: string; offset: number; data: { text: string } }[];
}

async function read(url: string, path: string): Promise<Read> {
  const res = await fetch(`${url}${path}`, { headers: auth });
  assert.equal(res.status, 200, path);
  return await res.json();
}

for (const history of ["memory", "kv"]) {
  Deno.test(`GET /api/rooms/:room/messages (HISTORY=${history}): the latest, after an offset, pages of limit`, async () => {
    const dir = await Deno.makeTempDir();
    await using server = await startTestServer({
      env: { API_KEY, HISTORY: history, KV_PATH: `${dir}/h.kv` },
    });
    try {
      await publish(server.url, "lobby", 10);
      const latest = await read(
        server.url,
        "/api/rooms/lobby/messages?limit=3",
      );
      assert.deepEqual(latest.messages.map((m) => m.offset), [8, 9, 10]);
      assert.equal(latest.messages[0]?.type, "message");
      assert.equal(latest.messages[2]?.data.text, "m10");
      assert.equal(latest.head.offset, 10);
      assert.equal(latest.recovered, true);
      const page = await read(
        server.url,
        "/api/rooms/lobby/messages?since=5&limit=2",
      );
      assert.deepEqual(page.messages.map((m) => m.offset), [6, 7]);
      assert.equal(page.more, true);
      const rest = await read(
        server.url,
        `/api/rooms/lobby/messages?since=7&epoch=${page.head.epoch}`,
      );
      assert.deepEqual(rest.messages.map((m) => m.offset), [8, 9, 10]);
      assert.equal(rest.more, false);
      const other = await read(
        server.url,
        "/api/rooms/lobby/messages?since=3&epoch=not-this-one",
      );
      assert.equal(other.recovered, false);
      assert.deepEqual(other.messages, []);
      const empty = await read(server.url, "/api/rooms/quiet/messages");
      assert.deepEqual(empty.messages, []);
      assert.equal(empty.head.offset, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("GET /api/rooms/:room/messages: bad input is 400 with a code, no key is 401", async () => {
  await using server = await startTestServer({
    env: { API_KEY, MAX_HISTORY_READ: "20" },
  });
  const cases: [string, string][] = [
    ["/api/rooms/lobby/messages?since=abc", "bad_since"],
    ["/api/rooms/lobby/messages?since=-1", "bad_since"],
    ["/api/rooms/lobby/messages?limit=0", "bad_limit"],
    ["/api/rooms/lobby/messages?limit=21", "bad_limit"],
    ["/api/rooms/lobby/messages?limit=2.5", "bad_limit"],
    ["/api/rooms/lobby/messages?epoch=e", "bad_epoch"],
    [`/api/rooms/${"x".repeat(201)}/messages`, "bad_room"],
    ["/api/rooms/a%20b/messages", "bad_room"],
  ];
  for (const [path, code] of cases) {
    const res = await fetch(`${server.url}${path}`, { headers: auth });
    assert.equal(res.status, 400, path);
    const body: unknown = await res.json();
    assert.equal(
      Reflect.get(Object(Reflect.get(Object(body), "error")), "code") ??
        Reflect.get(Object(body), "code"),
      code,
      path,
    );
  }
  const res = await fetch(`${server.url}/api/rooms/lobby/messages`);
  await res.body?.cancel();
  assert.equal(res.status, 401);
});

Deno.test("join with history: N replays the latest N before live ones, capped by MAX_HISTORY_READ", async () => {
  await using server = await startTestServer({
    env: { API_KEY, MAX_HISTORY_READ: "4" },
  });
  await publish(server.url, "lobby", 6);
  await using client = await TestClient.open(server.wsUrl);
  client.send({ type: "join", room: "lobby", history: 2 });
  const joined = await client.next("joined");
  assert.equal(joined.history, 2);
  assert.equal(joined.offset, 4);
  assert.equal((await client.next("message")).offset, 5);
  assert.equal((await client.next("message")).offset, 6);
  await publish(server.url, "lobby", 1);
  assert.equal((await client.next("message")).offset, 7);

  await using capped = await TestClient.open(server.wsUrl);
  capped.send({ type: "join", room: "lobby", history: 50 });
  const joinedCapped = await capped.next("joined");
  assert.equal(joinedCapped.history, 4);
  const offsets = [];
  for (let i = 0; i < 4; i++) {
    offsets.push((await capped.next("message")).offset);
  }
  assert.deepEqual(offsets, [4, 5, 6, 7]);

  await using bad = await TestClient.open(server.wsUrl);
  bad.send({ type: "join", room: "lobby", history: -1, id: "j" });
  const error = await bad.next("error");
  assert.equal(error.code, "bad_message");
  assert.equal(error.ref, "j");
});

Deno.test("SDK: join(room, {history}) delivers the latest messages as message events, then live ones", async () => {
  await using server = await startTestServer({ env: { API_KEY } });
  await publish(server.url, "lobby", 5);
  const client = createClient(server.wsUrl);
  try {
    const seen: string[] = [];
    const done = Promise.withResolvers<void>();
    const joined = Promise.withResolvers<number | undefined>();
    client.on("joined", (event) => joined.resolve(event.history));
    client.on("message", (m) => {
      seen.push(String(Reflect.get(Object(m.data), "text")));
      if (seen.length === 4) done.resolve();
    });
    client.join("lobby", { history: 3 });
    assert.equal(await joined.promise, 3);
    await publish(server.url, "lobby", 1);
    await done.promise;
    assert.deepEqual(seen, ["m3", "m4", "m5", "m1"]);
    assert.throws(() => client.join("other", { history: 1.5 }), RangeError);
  } finally {
    client.close();
  }
});
