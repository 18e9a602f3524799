/**
 * FRAMES_PER_TURN on a real server with the default Deno KV history: a room
 * whose fan-out is far over the turn's frame budget (40 real WebSockets,
 * half of them on batch frames, 20 frames a turn) still delivers every
 * message to every member exactly once and in order, the publisher's acks
 * all arrive, and /metrics counts the messages whose delivery went on in a
 * later turn. (That the history's flush keeps up while a big room is being
 * paced is what `deno task bench` measures: see docs/benchmarks.md.)
 */
import assert from "node:assert/strict";
import { report, startTestServer, TestClient } from "../_support/harness.ts";
import { SUBPROTOCOL, SUBPROTOCOL_BATCH } from "../../lib/protocol/mod.ts";

const KEY = `key-${crypto.randomUUID()}`;
const MEMBERS = 40;
const MESSAGES = 30;

async function metric(url: string, name: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  const line = (await res.text()).split("\n").find((l) =>
    l.startsWith(`${name}{`)
  );
  assert.ok(line !== undefined, `no ${name} on /metrics`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}

Deno.test("FRAMES_PER_TURN: a fan-out 40× the turn's budget on the KV history reaches every member once, in order, and is counted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using server = await startTestServer({
      env: {
        API_KEY: KEY,
        HISTORY: "kv",
        KV_PATH: `${dir}/roomcast.kv`,
        FRAMES_PER_TURN: "20",
      },
    });
    const members: TestClient[] = [];
    for (let i = 0; i < MEMBERS; i++) {
      const protocols = i % 2 === 0
        ? [SUBPROTOCOL]
        : [SUBPROTOCOL_BATCH, SUBPROTOCOL];
      const client = await TestClient.open(server.wsUrl, protocols);
      await client.join("big");
      members.push(client);
    }
    await using publisher = await TestClient.open(server.wsUrl);
    await publisher.join("big");
    for (let i = 0; i < MESSAGES; i++) {
      publisher.send({ type: "publish", room: "big", data: i, id: i });
    }
    for (let i = 0; i < MESSAGES; i++) {
      const ack = await publisher.next("ack", { skip: true });
      assert.equal(ack.id, i);
    }
    for (const client of members) {
      const got: unknown[] = [];
      for (let i = 0; i < MESSAGES; i++) {
        got.push((await client.next("message")).data);
      }
      assert.deepEqual(got, [...Array(MESSAGES).keys()]);
    }
    const deferred = await metric(server.url, "roomcast_fanout_deferred_total");
    report(
      `${MEMBERS} members × ${MESSAGES} messages at 20 frames a turn: ${deferred} messages paced into later turns`,
    );
    assert.ok(deferred > 0, "the fan-out was never paced");
    for (const client of members) await client.close();
    // Nothing more arrived: no duplicates.
    assert.ok(members.every((c) => c.pending.length === 0));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
