/**
 * The SSE fallback transport end to end on a real server: the bidirectional
 * session (join, publish, ack, presence, batch frames, resume with
 * Last-Event-ID in and beyond the history window) beside WebSocket clients,
 * and the plain feed read by the `eventsource` npm package.
 */

import assert from "node:assert/strict";
import { EventSource } from "npm:eventsource@^5";
import { startTestServer, TestClient } from "../_support/harness.ts";
import { SseClient } from "../_support/sse.ts";

const ENV = { SSE_HEARTBEAT_MS: "60000" };

Deno.test("SSE session: join, publish with ack, WebSocket peers and presence both ways", async () => {
  await using server = await startTestServer({ env: ENV });
  await using sse = await SseClient.session(`${server.url}/sse?user=ann`);
  const welcome = await sse.next("welcome");
  assert.equal(welcome.memberId, "ann");
  assert.match(sse.session, /^[0-9a-f]{32}\.[A-Za-z0-9_-]{22}$/);

  await using ws = await TestClient.open(`${server.wsUrl}?user=bob`);
  await ws.join("lobby");
  const posted = await sse.post({
    type: "join",
    room: "lobby",
    meta: { n: 1 },
  });
  assert.equal(posted.status, 200, await posted.clone().text());
  // The bucket (TEST_ENV: 1,000,000 at once, refilling 1,000 a ms) as the
  // join left it: one taken, or put back already if a millisecond passed
  // before the answer read it. (Its exact arithmetic: lib/support and the
  // SDK budget's tests; under load: tests/e2e/sdk_sse_budget_test.ts.)
  const { tokens: afterJoin, ...joinAnswer } = await posted.json();
  assert.deepEqual(joinAnswer, { applied: 1, routed: false });
  assert.ok(afterJoin >= 999_999 && afterJoin <= 1_000_000, String(afterJoin));
  const joined = await sse.next("joined");
  assert.equal(joined.room, "lobby");
  assert.deepEqual(joined.members?.map((m) => m.id), ["ann"]);
  assert.equal((await ws.next("presence")).member.id, "ann");

  const batch = await sse.post([
    { type: "publish", room: "lobby", data: "one", id: 1 },
    { type: "publish", room: "lobby", data: "two", id: 2 },
  ]);
  const { tokens, ...applied } = await batch.json();
  assert.deepEqual(applied, { applied: 2, routed: false });
  // Two more taken, as many put back if milliseconds passed.
  assert.ok(tokens >= 999_997 && tokens <= 1_000_000, String(tokens));
  const four = [await sse.take(), await sse.take(), await sse.take()];
  four.push(await sse.take());
  assert.deepEqual(
    four.flatMap((f) => f.type === "message" ? [f.data] : []),
    ["one", "two"],
  );
  assert.deepEqual(
    four.flatMap((f) => f.type === "ack" ? [[f.id, f.offset]] : []),
    [[1, 1], [2, 2]],
  );
  assert.equal((await ws.next("message")).data, "one");
  assert.equal((await ws.next("message")).data, "two");

  ws.send({ type: "publish", room: "lobby", data: "from ws" });
  assert.equal((await sse.next("message")).data, "from ws");
  assert.match(sse.lastId, new RegExp(`^1 ${sse.session} lobby\\|\\w+\\|3$`));

  ws.send({ type: "join", room: "lobby", meta: { bob: true } });
  const seen = await sse.next("presence");
  assert.equal(seen.member.id, "bob");
});

Deno.test("SSE session: ?batch=1 carries batch frames as they are", async () => {
  await using server = await startTestServer({
    env: { ...ENV, COALESCE_MS: "5" },
  });
  await using sse = await SseClient.session(`${server.url}/sse?batch=1`);
  await sse.post({ type: "join", room: "b" });
  await sse.next("joined", { skip: true });
  await using ws = await TestClient.open(server.wsUrl);
  await ws.join("b");
  for (let i = 0; i < 20; i++) ws.send({ type: "publish", room: "b", data: i });
  for (let i = 0; i < 20; i++) {
    assert.equal((await sse.next("message", { skip: true })).data, i);
  }
  assert.ok(sse.data.some((d) => d.startsWith("[")), "no batch frame seen");
  assert.match(sse.lastId, / b\|\w+\|20$/);
});

/** Waits (yielding to the event loop) until `done()`; the server has no event to await here. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("Condition never became true");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** A session in rooms r1 and r2 that got a1, b1; closed; a2, b2 published while away. */
async function awayAndBack(
  env: Record<string, string>,
  missed: number,
  expire = false,
) {
  const server = await startTestServer({ env: { ...ENV, ...env } });
  const ws = await TestClient.open(server.wsUrl);
  await ws.join("r1");
  await ws.join("r2");
  const first = await SseClient.session(`${server.url}/sse?user=cy`);
  await first.post([{ type: "join", room: "r1" }, {
    type: "join",
    room: "r2",
  }]);
  await first.next("joined", { skip: true });
  await first.next("joined");
  ws.send({ type: "publish", room: "r1", data: "a1", echo: false });
  ws.send({ type: "publish", room: "r2", data: "b1", echo: false });
  assert.equal((await first.next("message")).data, "a1");
  assert.equal((await first.next("message")).data, "b1");
  const lastId = first.lastId;
  await first.close();
  await until(() => server.hub.stats().connections === 1);
  if (expire) await until(() => server.metrics.get("sse_sessions") === 0);
  for (let i = 2; i < 2 + missed; i++) {
    ws.send({
      type: "publish",
      room: "r1",
      data: `a${i}`,
      id: `a${i}`,
      echo: false,
    });
    ws.send({
      type: "publish",
      room: "r2",
      data: `b${i}`,
      id: `b${i}`,
      echo: false,
    });
    await ws.next("ack");
    await ws.next("ack");
  }
  const again = await SseClient.session(`${server.url}/sse?user=cy`, {
    lastEventId: lastId,
  });
  return { server, ws, first, again };
}

Deno.test("SSE session: Last-Event-ID resumes every room without loss or duplicate, same session", async () => {
  const { server, ws, first, again } = await awayAndBack({}, 2);
  await using _server = server;
  await using _ws = ws;
  await using _again = again;
  assert.equal(again.session, first.session, "the live session is reused");
  const frames = [];
  while (frames.length < 7) frames.push(await again.take()); // welcome, 2 joined, 4 messages
  const joined = frames.filter((f) => f.type === "joined");
  assert.deepEqual(joined.map((j) => [j.room, j.recovered]).sort(), [[
    "r1",
    true,
  ], ["r2", true]]);
  const data = frames.flatMap((f) => f.type === "message" ? [f.data] : []);
  assert.deepEqual(data.filter((d) => String(d).startsWith("a")), ["a2", "a3"]);
  assert.deepEqual(data.filter((d) => String(d).startsWith("b")), ["b2", "b3"]);
  ws.send({ type: "publish", room: "r1", data: "live", echo: false });
  assert.equal((await again.next("message")).data, "live", "nothing else came");
});

Deno.test("SSE session: a resume beyond the history window gets recovered:false, a fresh session after it expired", async () => {
  const { server, ws, first, again } = await awayAndBack(
    {
      HISTORY_SIZE: "2",
      SSE_SESSION_IDLE_MS: "100",
    },
    3,
    true,
  );
  await using _server = server;
  await using _ws = ws;
  await using _again = again;
  assert.notEqual(again.session, first.session, "the idle session expired");
  await again.next("welcome");
  const joined = [await again.next("joined"), await again.next("joined")];
  assert.deepEqual(joined.map((j) => [j.room, j.recovered]).sort(), [[
    "r1",
    false,
  ], ["r2", false]]);
  assert.deepEqual(joined.map((j) => j.offset).sort(), [4, 4]);
  const stale = await first.post({ type: "ping" }, { query: "?user=cy" });
  assert.equal(stale.status, 404);
  assert.equal((await stale.json()).error.code, "unknown_session");
});

Deno.test("SSE feed: the eventsource package reads messages and resumes with Last-Event-ID", async () => {
  await using server = await startTestServer({ env: ENV });
  await using ws = await TestClient.open(server.wsUrl);
  await ws.join("t1");
  await ws.join("t2");
  const received: { data: string; id: string }[] = [];
  let wake = () => {};
  const source = new EventSource(
    `${server.url}/sse/rooms?room=t1&room=t2&user=feeder`,
  );
  const joinedEvents: string[] = [];
  source.addEventListener("joined", (event) => {
    joinedEvents.push(event.data);
    wake();
  });
  source.onmessage = (event) => {
    received.push({ data: event.data, id: event.lastEventId });
    wake();
  };
  const waitFor = (done: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => done() ? resolve() : (wake = check);
      check();
    });
  await waitFor(() => joinedEvents.length === 2);
  ws.send({ type: "publish", room: "t1", data: { n: 1 } });
  ws.send({ type: "publish", room: "t2", data: { n: 2 } });
  await waitFor(() => received.length === 2);
  const message = JSON.parse(received[0]!.data);
  assert.equal(message.type, "message");
  assert.deepEqual(message.data, { n: 1 });
  assert.match(received[1]!.id, /^1 - t1\|\w+\|1 t2\|\w+\|1$/);

  // The server ends the stream (as a restart would): the EventSource
  // reconnects by itself with Last-Event-ID (the server asks for 200 ms);
  // what was published meanwhile arrives once, resumed from history.
  const ended = received.length;
  server.hub.terminate("feeder");
  await until(() => server.hub.stats().connections === 1);
  ws.send({ type: "publish", room: "t1", data: { n: 3 } });
  ws.send({ type: "publish", room: "t2", data: { n: 4 } });
  await waitFor(() => received.length === ended + 2);
  assert.deepEqual(
    received.slice(ended).map((r) => JSON.parse(r.data).data)
      .sort((a, b) => a.n - b.n),
    [{ n: 3 }, { n: 4 }],
  );
  assert.equal(
    server.metrics.get("resumes_total", "true"),
    2,
    "both rooms resumed",
  );
  assert.equal(received.length, 4, "no duplicate");
  source.close();
});
