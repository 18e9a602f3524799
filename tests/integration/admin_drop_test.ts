/**
 * The dashboard's "drop a room's history" over real HTTP on the default room
 * log of `deno task dev` (Deno KV, written behind): what is dropped is gone
 * for resumes and from the database, the sequence goes on, and a room log
 * that cannot drop is answered 501 (one whose drop fails: 500, by the app).
 */
import assert from "node:assert/strict";
import { startTestServer, TestClient } from "../_support/harness.ts";
import { adminLogin } from "../_support/admin.ts";
import { MemoryLog } from "../../lib/room_log/memory.ts";
import type { RoomLog } from "../../lib/room_log/room_log.ts";
import { countKv } from "../../lib/room_log/_test_utils.ts";

const TOKEN = "admin-token-0123456789";

Deno.test("admin: dropping a room's history on the Deno KV write-behind log empties it for resumes and on disk; offsets go on", async () => {
  const dir = await Deno.makeTempDir();
  const env = {
    ADMIN_TOKEN: TOKEN,
    HISTORY: "kv",
    KV_PATH: `${dir}/roomcast.kv`,
  };
  {
    await using server = await startTestServer({ env });
    const admin = await adminLogin(server.url, TOKEN);
    const first = await (await admin.post("/rooms/lobby/messages", {
      data: "x".repeat(20_000), // stored in parts
    })).json();
    await admin.post("/rooms/lobby/messages", { data: 2 });
    const dropped = await admin.post("/rooms/lobby/history/drop");
    assert.equal(dropped.status, 200);
    assert.deepEqual(await dropped.json(), { room: "lobby", dropped: 2 });
    assert.equal(
      server.metrics.get("admin_actions_total", "drop_history"),
      1,
    );
    await using late = await TestClient.open(server.wsUrl);
    late.send({
      type: "join",
      room: "lobby",
      since: { offset: 0, epoch: first.epoch },
    });
    const joined = await late.next("joined");
    assert.equal(joined.recovered, false);
    assert.deepEqual([joined.offset, joined.epoch], [2, first.epoch]);
    const next = await (await admin.post("/rooms/lobby/messages", {
      data: 3,
    })).json();
    assert.deepEqual([next.offset, next.epoch], [3, first.epoch]);
  } // a clean stop flushes the rest
  const kv = await Deno.openKv(`${dir}/roomcast.kv`);
  assert.deepEqual(await countKv(kv, "lobby"), { messages: 1, parts: 0 });
  kv.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("admin: a room log without dropHistory answers 501, one whose drop fails answers 500; neither is counted as done", async () => {
  const memory = new MemoryLog({ maxMessages: 10, ttlMs: 60_000 });
  const cannot: RoomLog = {
    append: (room, items) => memory.append(room, items),
    head: (room) => memory.head(room),
    since: (room, position) => memory.since(room, position),
    close: () => Promise.resolve(),
  };
  const failing: RoomLog = {
    ...cannot,
    dropHistory: () => Promise.reject(new Error("Store unreachable")),
  };
  for (
    const [history, status, code] of [
      [cannot, 501, "not_supported"],
      [failing, 500, "internal"],
    ] as const
  ) {
    await using server = await startTestServer({
      env: { ADMIN_TOKEN: TOKEN },
      history,
    });
    const admin = await adminLogin(server.url, TOKEN);
    const res = await admin.post("/rooms/lobby/history/drop");
    assert.equal(res.status, status);
    assert.equal((await res.json()).error.code, code);
    assert.equal(
      server.metrics.get("admin_actions_total", "drop_history"),
      0,
    );
  }
  await memory.close();
});
