/**
 * MAX_JSON_DEPTH: data nested deeper than the limit is refused at the edge
 * with `too_deep` (an error frame on a socket, 400 on the HTTP API), the same
 * way with one isolate and with `--parallel` Workers (whose room log is in
 * the supervisor, reached over a MessagePort), and a bystander publishing
 * into the same room meanwhile has every publish accepted.
 */
import assert from "node:assert/strict";
import {
  startTestServer,
  startTestWorkers,
  TestClient,
} from "../_support/harness.ts";

const KEY = `key-${crypto.randomUUID()}`;
/** 5,000 levels: past a structured clone's reach, ~10 KB of text. */
const NESTED = "[".repeat(5_000) + "]".repeat(5_000);
const ROUNDS = 30;

async function publishApi(base: string, room: string, body: string) {
  const res = await fetch(`${base}/api/rooms/${room}/messages`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${KEY}`,
      "content-type": "application/json",
    },
    body,
  });
  const answer: unknown = await res.json();
  return { status: res.status, answer };
}

function codeOf(answer: unknown): unknown {
  if (typeof answer !== "object" || answer === null) return undefined;
  const error: unknown = Reflect.get(answer, "error");
  return typeof error === "object" && error !== null
    ? Reflect.get(error, "code")
    : undefined;
}

/** The checks, against a server (or Workers) at `wsUrl` / `base`. */
async function refusedAlikeBystanderServed(wsUrl: string, base: string) {
  await using deep = await TestClient.open(wsUrl);
  await using bystander = await TestClient.open(wsUrl);
  await deep.join("shared");
  await bystander.join("shared");
  // WebSocket: deep publishes interleaved with the bystander's, all in flight.
  for (let i = 0; i < ROUNDS; i++) {
    bystander.send({ type: "publish", room: "shared", data: i, id: `b${i}` });
    if (i % 3 === 0) {
      deep.send(
        `{"type":"publish","room":"shared","id":"d${i}","data":${NESTED}}`,
      );
    }
  }
  for (let i = 0; i < ROUNDS; i += 3) {
    const error = await deep.next("error", { skip: true });
    assert.deepEqual([error.code, error.ref], ["too_deep", `d${i}`]);
  }
  const acks: unknown[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    acks.push((await bystander.next("ack", { skip: true })).id);
  }
  assert.deepEqual(acks, Array.from({ length: ROUNDS }, (_, i) => `b${i}`));

  // HTTP API: the same, as concurrent requests.
  const calls = [];
  for (let i = 0; i < ROUNDS; i++) {
    calls.push(publishApi(base, "shared", JSON.stringify({ data: i })));
    if (i % 3 === 0) {
      calls.push(publishApi(base, "shared", `{"data":${NESTED}}`));
    }
  }
  const results = await Promise.all(calls);
  const deepResults = results.filter((_, i) => i % 4 === 1);
  const bystanderResults = results.filter((_, i) => i % 4 !== 1);
  assert.equal(deepResults.length, ROUNDS / 3);
  for (const { status, answer } of deepResults) {
    assert.deepEqual([status, codeOf(answer)], [400, "too_deep"]);
  }
  assert.deepEqual(
    bystanderResults.map((r) => r.status),
    Array(ROUNDS).fill(201),
  );
  // The connection that sent deep data is still served.
  deep.send({ type: "ping", id: "still" });
  assert.equal((await deep.next("pong", { skip: true })).id, "still");
}

Deno.test("MAX_JSON_DEPTH: one isolate refuses data nested 5,000 deep with too_deep (socket and API); a bystander's publishes all succeed", async () => {
  await using server = await startTestServer({ env: { API_KEY: KEY } });
  await refusedAlikeBystanderServed(server.wsUrl, server.url);
});

Deno.test("MAX_JSON_DEPTH: --parallel Workers refuse data nested 5,000 deep the same way; a bystander's publishes all succeed", async () => {
  await using workers = await startTestWorkers({ API_KEY: KEY });
  const base = `http://127.0.0.1:${workers.group.port}`;
  await refusedAlikeBystanderServed(workers.wsUrl, base);
});

Deno.test("MAX_JSON_DEPTH: data at the limit is accepted, one deeper is refused, and meta is held to it too", async () => {
  await using server = await startTestServer({
    env: { API_KEY: KEY, MAX_JSON_DEPTH: "8" },
  });
  await using client = await TestClient.open(server.wsUrl);
  await client.join("r");
  const at = "[".repeat(8) + "]".repeat(8);
  const over = "[".repeat(9) + "]".repeat(9);
  client.send(`{"type":"publish","room":"r","id":1,"data":${at}}`);
  assert.equal((await client.next("ack", { skip: true })).id, 1);
  client.send(`{"type":"publish","room":"r","id":2,"data":${over}}`);
  const error = await client.next("error", { skip: true });
  assert.deepEqual([error.code, error.ref], ["too_deep", 2]);
  client.send(`{"type":"join","room":"m","id":3,"meta":${over}}`);
  const metaError = await client.next("error", { skip: true });
  assert.deepEqual([metaError.code, metaError.ref], ["too_deep", 3]);
  const ok = await publishApi(server.url, "r", `{"data":${at}}`);
  assert.equal(ok.status, 201);
  const refused = await publishApi(server.url, "r", `{"data":${over}}`);
  assert.deepEqual([refused.status, codeOf(refused.answer)], [400, "too_deep"]);
});
