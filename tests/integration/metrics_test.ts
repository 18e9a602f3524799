/**
 * `GET /metrics`: guarded by METRICS_TOKEN (else API_KEY), Prometheus text
 * whose numbers follow what clients do, and bus gaps counted when posts
 * between isolates are lost.
 */
import assert from "node:assert/strict";
import { MemoryNetwork } from "../../lib/bus/memory.ts";
import { MemoryLog } from "../../lib/room_log/memory.ts";
import {
  startTestServer,
  TestClient,
  type TestServer,
} from "../_support/harness.ts";

const TOKEN = `metrics-${crypto.randomUUID()}`;
const API_KEY = `api-${crypto.randomUUID()}`;

async function scrape(server: TestServer, token: string | null = TOKEN) {
  const res = await fetch(`${server.url}/metrics`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  return { res, text: await res.text() };
}

/**
 * The value of `roomcast_<name>` summed over its series whose labels include
 * `labels`; undefined when the metric is absent.
 */
function value(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    const match = /^roomcast_(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const series = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((
        m,
      ) => [m[1], m[2]]),
    );
    if (Object.entries(labels).some(([k, v]) => series[k] !== v)) continue;
    sum = (sum ?? 0) + Number(match[3]);
  }
  return sum;
}

/** Scrapes until `name` reaches `expected` (the server sees closes a little after the client). */
async function until(server: TestServer, name: string, expected: number) {
  const deadline = Date.now() + 5_000;
  while (true) {
    const { text } = await scrape(server);
    const got = value(text, name);
    if (got === expected) return text;
    assert.ok(Date.now() < deadline, `${name} is ${got}, expected ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("/metrics needs the token and answers Prometheus text", async () => {
  await using server = await startTestServer({
    env: { METRICS_TOKEN: TOKEN, API_KEY },
  });
  for (const token of [null, "wrong", API_KEY]) {
    const { res, text } = await scrape(server, token);
    assert.equal(res.status, 401, String(token));
    assert.equal(JSON.parse(text).error.code, "unauthorized");
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
  }
  const { res, text } = await scrape(server);
  assert.equal(res.status, 200);
  assert.match(
    res.headers.get("content-type") ?? "",
    /^text\/plain; version=0\.0\.4/,
  );
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.match(text, /^# HELP roomcast_connections /m);
  assert.match(text, /^# TYPE roomcast_connections gauge$/m);
  assert.match(text, /^# TYPE roomcast_messages_in_total counter$/m);
  assert.match(text, /^roomcast_connections\{node="[0-9a-f-]{8}"\} 0$/m);
  for (
    const name of [
      "connections",
      "rooms",
      "messages_in_total",
      "messages_out_total",
      "publishes_total",
      "bus_gaps_total",
      "history_repaired_total",
    ]
  ) {
    assert.equal(value(text, name), 0, name);
  }
});

Deno.test("/metrics falls back to API_KEY, and is 404 without either", async () => {
  {
    await using server = await startTestServer({ env: { API_KEY } });
    assert.equal((await scrape(server, API_KEY)).res.status, 200);
    assert.equal((await scrape(server, null)).res.status, 401);
  }
  {
    await using server = await startTestServer();
    const { res, text } = await scrape(server, "anything");
    assert.equal(res.status, 404);
    assert.equal(JSON.parse(text).error.code, "metrics_disabled");
  }
});

Deno.test("/metrics numbers follow connections, frames and publishes", async () => {
  await using server = await startTestServer({
    env: { METRICS_TOKEN: TOKEN, API_KEY },
  });
  const client = await TestClient.open(server.wsUrl);
  let text = (await scrape(server)).text;
  assert.equal(value(text, "connections"), 1);
  assert.equal(value(text, "connections_opened_total"), 1);
  assert.equal(value(text, "rooms"), 0);

  await client.join("lobby");
  client.send({ type: "publish", room: "lobby", data: "one", id: 1 });
  client.send({ type: "publish", room: "lobby", data: "two", id: 2 });
  // Each ack follows its message (delivery, then the answer to the sender).
  for (const type of ["message", "ack", "message", "ack"] as const) {
    await client.next(type);
  }
  client.send("{not json");
  await client.next("error");
  const api = await fetch(`${server.url}/api/rooms/lobby/messages`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${API_KEY}`,
      "content-type": "application/json",
    },
    body: '{"data":"three"}',
  });
  assert.equal(api.status, 201);
  await api.body?.cancel();
  await client.next("message");

  text = (await scrape(server)).text;
  assert.equal(value(text, "rooms"), 1);
  // join, two publishes and the bad frame.
  assert.equal(value(text, "messages_in_total"), 4);
  // Two from the socket, one from the API.
  assert.equal(value(text, "publishes_total"), 3);
  assert.equal(value(text, "protocol_errors_total", { code: "bad_json" }), 1);
  // welcome, joined, 3 messages, 2 acks, 1 error.
  assert.equal(value(text, "messages_out_total"), 8);
  assert.equal(value(text, "bus_gaps_total"), 0);

  client.socket.close(1000);
  await client.closed;
  text = await until(server, "connections", 0);
  assert.equal(value(text, "rooms"), 0);
  assert.equal(value(text, "connections_closed_total", { code: "1000" }), 1);
});

Deno.test("/metrics counts bus posts lost between isolates and the messages repaired", async () => {
  // Two servers standing in for isolates; the network loses b's copy of the
  // post that carries offset 2.
  const { promise: dropped, resolve: droppedNow } = Promise.withResolvers<
    void
  >();
  let lost = 0;
  const network = new MemoryNetwork({
    drop: (post, receiver) => {
      const carries2 = post.events.some((e) =>
        e.kind === "message" && e.offset === 2
      );
      if (receiver !== 1 || !carries2) return false;
      lost += 1;
      droppedNow();
      return true;
    },
  });
  const history = new MemoryLog({ maxMessages: 100, ttlMs: 60_000 });
  const env = { METRICS_TOKEN: TOKEN, API_KEY, REPAIR_DELAY_MS: "10" };
  await using a = await startTestServer({
    env,
    transport: network.connect(),
    history,
  });
  await using b = await startTestServer({
    env,
    transport: network.connect(),
    history,
  });
  await using onB = await TestClient.open(b.wsUrl);
  await onB.join("lobby");
  const publishOnA = async (data: number) => {
    const res = await fetch(`${a.url}/api/rooms/lobby/messages`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${API_KEY}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ data }),
    });
    assert.equal(res.status, 201);
    await res.body?.cancel();
  };
  // 1 arrives (b now knows a's post sequence); 2 is lost on the bus; 3 goes
  // in a later post, which reveals the gap, and history fills the hole.
  await publishOnA(1);
  assert.equal((await onB.next("message")).data, 1);
  await publishOnA(2);
  await dropped;
  await publishOnA(3);
  assert.equal((await onB.next("message")).data, 2);
  assert.equal((await onB.next("message")).data, 3);
  assert.equal(lost, 1);
  const { text } = await scrape(b);
  assert.equal(value(text, "bus_gaps_total"), 1);
  assert.equal(value(text, "history_repaired_total"), 1);
  assert.equal(value(text, "messages_lost_total"), 0);
  assert.equal(value((await scrape(a)).text, "bus_gaps_total"), 0);
});
