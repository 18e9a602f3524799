/**
 * The write-behind log under a store that cannot keep up, on a real server:
 * a plain ack means sequenced and delivered, a durable ack (WebSocket
 * `durable: true`, HTTP `?durable=1`) comes only after the commit, and once
 * the backlog is full publishes get a retryable refusal (`overloaded`, HTTP
 * 503 with Retry-After) instead of being accepted. The store's commits are
 * held at a gate: nothing here depends on timing.
 */
import assert from "node:assert/strict";
import {
  startTestServer,
  TestClient,
  type TestServer,
} from "../_support/harness.ts";
import { gateKv } from "../_support/gated_kv.ts";
import { pusherEnv, serverSdk } from "../_support/pusher.ts";
import { KvBehindLog } from "../../lib/room_log/kv_behind.ts";

const KEY = `key-${crypto.randomUUID()}`;
const TEXT = "x".repeat(60_000);

async function setup() {
  const gate = gateKv(await Deno.openKv(":memory:"));
  const history = await KvBehindLog.open(gate.kv, {
    maxMessages: 100,
    ttlMs: 600_000,
    flushMs: 5,
    maxBacklogBytes: 200_000,
    maxLagMs: 600_000, // the byte bound is the one under test here
  });
  const server = await startTestServer({
    env: { API_KEY: KEY, MAX_MESSAGE_BYTES: "100000", ...pusherEnv() },
    history,
  });
  return { gate, history, server };
}

function post(server: TestServer, room: string, data: unknown, query = "") {
  return fetch(`${server.url}/api/rooms/${room}/messages${query}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${KEY}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ data }),
  });
}

/** The next `ack` or `error` frame about request `id`. */
function answerTo(
  socket: WebSocket,
  id: number,
): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const listen = (event: MessageEvent<unknown>) => {
      if (typeof event.data !== "string") return;
      const frame: unknown = JSON.parse(event.data);
      if (typeof frame !== "object" || frame === null) return;
      const about = Reflect.get(frame, "id") ?? Reflect.get(frame, "ref");
      if (about !== id) return;
      socket.removeEventListener("message", listen);
      resolve({ ...frame });
    };
    socket.addEventListener("message", listen);
  });
}

/** Lets queued callbacks run (not a delay: nothing is timed). */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("durable publish: the ack waits for the commit; a plain ack does not", async () => {
  const { gate, history, server } = await setup();
  try {
    await using alice = await TestClient.open(server.wsUrl);
    await alice.join("r");
    gate.close();
    alice.send({
      type: "publish",
      room: "r",
      data: "keep",
      id: 1,
      durable: true,
    });
    // Delivered at once (sequenced), while its commit is held at the gate.
    assert.equal((await alice.next("message")).data, "keep");
    await gate.blocked();
    alice.send({ type: "publish", room: "r", data: "fast", id: 2 });
    assert.equal((await alice.next("message")).data, "fast");
    const plain = await alice.next("ack");
    assert.equal(plain.id, 2, "the plain ack came first: no durable ack yet");
    gate.open();
    const durable = await alice.next("ack");
    assert.deepEqual([durable.id, durable.offset], [1, 1]);
    assert.equal(server.metrics.get("durable_acks_total"), 1);

    // HTTP: 201 only once committed.
    gate.close();
    let answered = false;
    const pending = post(server, "r", "api", "?durable=1").then((res) => {
      answered = true;
      return res;
    });
    assert.equal((await alice.next("message")).data, "api");
    await gate.blocked();
    await turn();
    assert.equal(answered, false, "no 201 before the commit");
    gate.open();
    const res = await pending;
    assert.equal(res.status, 201);
    assert.equal((await res.json()).offset, 3);
    const bad = await post(server, "r", "x", "?durable=maybe");
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  } finally {
    gate.open();
    await server.shutdown();
    await history.close();
  }
});

Deno.test("overloaded store: publishes are refused (error overloaded, HTTP 503 + Retry-After), then accepted again", async () => {
  const { gate, history, server } = await setup();
  try {
    await using alice = await TestClient.open(server.wsUrl);
    await alice.join("r");
    gate.close();
    let id = 0;
    let refused: Record<string, unknown> | undefined;
    while (refused === undefined && id < 50) {
      const reply = answerTo(alice.socket, ++id);
      alice.send({ type: "publish", room: "r", data: TEXT, id, echo: false });
      const frame = await reply;
      if (frame.type === "error") refused = frame;
    }
    assert.ok(refused !== undefined, "a publish was refused");
    assert.equal(refused.code, "overloaded");
    assert.equal(refused.ref, id);
    assert.ok(id <= 5, `refused after ${id - 1} accepted (200 KB bound)`);
    assert.ok(history.stats.backlogBytes < 200_000 + 61_000);

    const res = await post(server, "r", "from the api");
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "600");
    assert.equal((await res.json()).error.code, "overloaded");
    // The Pusher HTTP API answers the same refusal with the same status.
    const pusher = await serverSdk(server).trigger("r", "e", "x").then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(pusher instanceof Error, "the pusher SDK saw a refusal");
    assert.equal(Reflect.get(pusher, "status"), 503);
    assert.ok(
      server.metrics.get("publishes_refused_total", "backlog_bytes") >= 3,
    );

    gate.open();
    while (history.stats.backlog > 0) await history.flush();
    const again = await post(server, "r", "after");
    assert.equal(again.status, 201);
    await again.body?.cancel();
  } finally {
    gate.open();
    await server.shutdown();
    await history.close();
  }
});
