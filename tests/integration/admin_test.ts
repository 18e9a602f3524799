/**
 * The dashboard's server side over real HTTP: login, session cookie, CSRF
 * and Origin checks, read-only mode, the JSON API and the actions.
 */
import assert from "node:assert/strict";
import { startTestServer, TestClient } from "../_support/harness.ts";
import { adminLogin, until } from "../_support/admin.ts";

const TOKEN = "admin-token-0123456789";
const ENV = { ADMIN_TOKEN: TOKEN, ADMIN_STATS_INTERVAL_MS: "100" };

Deno.test("admin: without ADMIN_TOKEN and API_KEY every /admin path is 404", async () => {
  await using server = await startTestServer();
  for (
    const path of [
      "/admin",
      "/admin/",
      "/admin/index.html",
      "/admin/api/overview",
    ]
  ) {
    const res = await fetch(`${server.url}${path}`);
    assert.equal(res.status, 404, path);
    assert.equal((await res.json()).error.code, "admin_disabled");
  }
});

Deno.test("admin: a wrong token is refused and counted; the right one opens an HttpOnly SameSite=Strict session", async () => {
  await using server = await startTestServer({ env: ENV });
  const bad = await fetch(`${server.url}/admin/login`, {
    method: "POST",
    headers: { origin: server.url },
    body: JSON.stringify({ token: "wrong" }),
  });
  assert.equal(bad.status, 401);
  assert.equal(bad.headers.get("set-cookie"), null);
  assert.equal(server.metrics.get("admin_refused_total", "bad_token"), 1);
  const good = await fetch(`${server.url}/admin/login`, {
    method: "POST",
    headers: { origin: server.url },
    body: JSON.stringify({ token: TOKEN }),
  });
  assert.equal(good.status, 200);
  const cookie = good.headers.get("set-cookie") ?? "";
  assert.match(
    cookie,
    /^roomcast_admin=[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]{43};/,
  );
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.doesNotMatch(cookie, /Secure/); // plain http
  assert.ok(!cookie.includes(TOKEN));
  assert.equal(server.metrics.get("admin_logins_total"), 1);
  // Over https (per the proxy) the cookie is Secure.
  const proxied = await fetch(`${server.url}/admin/login`, {
    method: "POST",
    headers: {
      origin: server.url.replace("http:", "https:"),
      "x-forwarded-proto": "https",
    },
    body: JSON.stringify({ token: TOKEN }),
  });
  assert.equal(proxied.status, 200);
  assert.match(proxied.headers.get("set-cookie") ?? "", /Secure/);
});

Deno.test("admin: API_KEY logs in when ADMIN_TOKEN is unset; no cookie, no API", async () => {
  await using server = await startTestServer({
    env: { API_KEY: "api-key-abcdef" },
  });
  const none = await fetch(`${server.url}/admin/api/overview`);
  assert.equal(none.status, 401);
  assert.equal((await none.json()).error.code, "no_session");
  const admin = await adminLogin(server.url, "api-key-abcdef");
  assert.equal((await admin.get("/overview")).status, 200);
});

Deno.test("admin: logout ends the session", async () => {
  await using server = await startTestServer({ env: ENV });
  const admin = await adminLogin(server.url, TOKEN);
  const out = await fetch(`${server.url}/admin/logout`, {
    method: "POST",
    headers: { cookie: admin.cookie, origin: server.url },
  });
  assert.equal(out.status, 204);
  assert.equal((await admin.get("/overview")).status, 401);
});

Deno.test("admin: actions need the own Origin and the session's CSRF token", async () => {
  await using server = await startTestServer({ env: ENV });
  await using ann = await TestClient.open(`${server.wsUrl}?user=ann`);
  const admin = await adminLogin(server.url, TOKEN);
  const path = "/members/ann/terminate";
  const cases: [Record<string, string>, string][] = [
    [{ origin: "http://evil.example" }, "origin"],
    [{ origin: "null" }, "origin"],
    [{ "x-csrf-token": "forged" }, "csrf"],
  ];
  for (const [headers, code] of cases) {
    const res = await admin.post(path, undefined, headers);
    assert.equal(res.status, 403);
    assert.equal((await res.json()).error.code, code);
  }
  // No Origin at all (a non-browser client) is refused as well.
  const bare = await fetch(`${server.url}/admin/api${path}`, {
    method: "POST",
    headers: { cookie: admin.cookie, "x-csrf-token": admin.csrf },
  });
  assert.equal(bare.status, 403);
  assert.equal(ann.socket.readyState, WebSocket.OPEN);
  assert.equal(server.metrics.get("admin_refused_total", "origin"), 3);
  assert.equal(server.metrics.get("admin_refused_total", "csrf"), 1);
  // Login from a foreign origin is refused too (login CSRF).
  const foreign = await fetch(`${server.url}/admin/login`, {
    method: "POST",
    headers: { origin: "http://evil.example" },
    body: JSON.stringify({ token: TOKEN }),
  });
  assert.equal(foreign.status, 403);
  const ok = await admin.post(path);
  assert.equal(ok.status, 202);
  assert.equal((await ann.closed).code, 4500);
  assert.equal(server.metrics.get("admin_actions_total", "terminate"), 1);
});

Deno.test("admin: ADMIN_READ_ONLY=1 refuses every action at the API, and the tail carries no payload", async () => {
  await using server = await startTestServer({
    env: { ...ENV, ADMIN_READ_ONLY: "1" },
  });
  await using ann = await TestClient.open(`${server.wsUrl}?user=ann`);
  await ann.join("lobby");
  const admin = await adminLogin(server.url, TOKEN);
  const actions: [string, unknown][] = [
    ["/members/ann/terminate", undefined],
    ["/rooms/lobby/messages", { data: "x" }],
    ["/rooms/lobby/history/drop", undefined],
  ];
  for (const [path, body] of actions) {
    const res = await admin.post(path, body);
    assert.equal(res.status, 403, path);
    assert.equal((await res.json()).error.code, "read_only");
  }
  assert.equal(server.metrics.get("admin_refused_total", "read_only"), 3);
  assert.equal(server.metrics.total("publishes_total"), 0);
  assert.equal(ann.socket.readyState, WebSocket.OPEN);
  const tail = await admin.get("/rooms/lobby/tail");
  const reader = tail.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = (await reader.read()).value ?? "";
  assert.match(text, /"payloads":false/);
  ann.send({ type: "publish", room: "lobby", data: { secret: "payload-123" } });
  while (!text.includes('"offset":1')) {
    text += (await reader.read()).value ?? "";
  }
  assert.ok(!text.includes("payload-123"));
  assert.match(text, /"bytes":\d+/);
  await reader.cancel();
});

Deno.test("admin: overview, nodes, rooms and room detail come from the same metrics; publish and drop history act", async () => {
  await using server = await startTestServer({ env: ENV });
  await using ann = await TestClient.open(`${server.wsUrl}?user=ann`);
  ann.send({ type: "join", room: "lobby", presence: true });
  await ann.next("joined");
  const admin = await adminLogin(server.url, TOKEN);
  const overview = await (await admin.get("/overview")).json();
  assert.equal(overview.nodes, 1);
  assert.equal(overview.totals.connections, server.metrics.get("connections"));
  assert.equal(overview.totals.connections, 1);
  const nodes = (await (await admin.get("/nodes")).json()).nodes;
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0].node, server.bus.nodeId);
  assert.match(nodes[0].label, /^pid \d+ main$/);
  assert.equal(nodes[0].engine, "embedded/memory");
  assert.ok(nodes[0].figures.rssBytes > 0);
  const published = await admin.post("/rooms/lobby/messages", {
    data: { hi: 1 },
  });
  assert.equal(published.status, 201);
  const got = await ann.next("message", { skip: true });
  assert.equal(got.from, "admin");
  assert.deepEqual(got.data, { hi: 1 });
  const rooms = await until(
    async () => (await (await admin.get("/rooms?q=LOB")).json()).rooms,
    (r) => r[0]?.offset === 1,
    "the room's offset",
  );
  assert.equal(rooms[0].room, "lobby");
  assert.equal(rooms[0].members, 1);
  assert.equal(rooms[0].subscribers, 1);
  assert.deepEqual(rooms[0].history.messages, 1);
  assert.equal((await (await admin.get("/rooms?q=nothing")).json()).total, 0);
  const detail = await (await admin.get("/rooms/lobby")).json();
  assert.deepEqual(detail.members.map((m: { id: string }) => m.id), ["ann"]);
  assert.equal(detail.offset, 1);
  const dropped = await admin.post("/rooms/lobby/history/drop");
  assert.equal(dropped.status, 200);
  assert.equal((await dropped.json()).dropped, 1);
  const after = await (await admin.get("/rooms/lobby")).json();
  assert.deepEqual(after.history, { messages: 0, bytes: 0 });
  assert.equal(after.offset, 1); // the sequence goes on
  // The charts' series: a sample every ADMIN_STATS_INTERVAL_MS.
  const series = await until(
    async () => await (await admin.get("/series?window=60")).json(),
    (s) => s.figures.connections.some((v: number | null) => v === 1),
    "a sample with the connection",
  );
  assert.equal(series.t.length, series.figures.connections.length);
});
