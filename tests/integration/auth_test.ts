/**
 * Authentication before the upgrade, authorization per room, origin checks
 * and token hygiene (reliability.md group C).
 */
import assert from "node:assert/strict";
import { signHs256 } from "../../lib/support/auth.ts";
import { startTestServer, TestClient } from "../_support/harness.ts";
import { RawWebSocket, upgradeStatus } from "../_support/raw_ws.ts";

const SECRET = "auth-test-secret-0123456789";
const SECURE = {
  AUTH_SECRET: SECRET,
  ALLOW_ANONYMOUS: "0",
  AUTH_LEEWAY_S: "0",
};

function token(claims: Record<string, unknown>, secret = SECRET) {
  return signHs256(
    { exp: Math.floor(Date.now() / 1000) + 60, ...claims },
    secret,
  );
}

function b64url(text: string): string {
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

Deno.test("auth: no token, a bad one, or an expired one gets 401 before any socket", async () => {
  await using server = await startTestServer({ env: SECURE });
  const port = server.addr.port;
  const good = await token({ sub: "ann" });
  const [, body] = good.split(".");
  const cases: Array<[string, Record<string, string>, string]> = [
    ["missing", {}, "/ws"],
    [
      "forged",
      {},
      `/ws?token=${await token({ sub: "ann" }, "another-secret-entirely")}`,
    ],
    ["alg none", {}, `/ws?token=${b64url('{"alg":"none"}')}.${body}.`],
    ["expired", {}, `/ws?token=${await token({ sub: "ann", exp: 1 })}`],
    ["future nbf", {}, `/ws?token=${await token({ sub: "ann", nbf: 4e9 })}`],
    ["garbage", {}, "/ws?token=x.y.z"],
    ["bad cookie", { cookie: "roomcast_token=abc" }, "/ws"],
  ];
  for (const [name, headers, path] of cases) {
    assert.equal(await upgradeStatus(port, path, headers), 401, name);
  }
  assert.equal(server.hub.stats().connections, 0);
  assert.ok(server.metrics.total("auth_failures_total") >= cases.length);
});

Deno.test("auth: a token in the subprotocol list, the query or a cookie is accepted; only roomcast.v1 is echoed", async () => {
  await using server = await startTestServer({ env: SECURE });
  const port = server.addr.port;
  const jwt = await token({ sub: "ann", name: "Ann" });
  const viaProtocol = await RawWebSocket.open(port, {
    headers: {
      "sec-websocket-protocol": `roomcast.v1, roomcast.token.${jwt}`,
    },
  });
  const { status, headers } = viaProtocol.response;
  assert.equal(status, 101);
  assert.equal(headers.get("sec-websocket-protocol"), "roomcast.v1");
  for (const [name, value] of headers) {
    assert.ok(!value.includes(jwt), `token leaked in ${name}`);
  }
  await viaProtocol.close();
  assert.equal(await upgradeStatus(port, `/ws?token=${jwt}`), 101);
  assert.equal(
    await upgradeStatus(port, "/ws", { cookie: `roomcast_token=${jwt}` }),
    101,
  );
  // A browser-style client: identity and name come from the token.
  await using ann = await TestClient.open(server.wsUrl, [
    "roomcast.v1",
    `roomcast.token.${jwt}`,
  ]);
  assert.equal(ann.socket.protocol, "roomcast.v1");
  assert.equal(ann.memberId, "ann");
  ann.send({
    type: "join",
    room: "lobby",
    meta: { name: "Queen of Everything" },
  });
  const joined = await ann.next("joined");
  assert.deepEqual(joined.members, [{ id: "ann", meta: { name: "Ann" } }]);
});

Deno.test("auth: room patterns decide joins and publishes; denials keep the connection", async () => {
  await using server = await startTestServer({ env: SECURE });
  const jwt = await token({
    sub: "bob",
    rooms: ["team:*", "lobby"],
    publish: ["team:*"],
  });
  await using bob = await TestClient.open(`${server.wsUrl}?token=${jwt}`);
  bob.send({ type: "join", room: "admin", id: "j1" });
  const denied = await bob.next("error");
  assert.deepEqual([denied.code, denied.ref], ["forbidden", "j1"]);
  await bob.join("lobby");
  bob.send({ type: "publish", room: "lobby", data: "hi", id: "p1" });
  const refused = await bob.next("error");
  assert.deepEqual([refused.code, refused.ref], ["forbidden", "p1"]);
  await bob.join("team:blue");
  bob.send({ type: "publish", room: "team:blue", data: "go", id: "p2" });
  assert.equal((await bob.next("message")).data, "go");
  assert.equal((await bob.next("ack")).id, "p2");
});

Deno.test("auth: a token expiring mid-connection closes it with 4401", async () => {
  await using server = await startTestServer({ env: SECURE });
  const jwt = await signHs256({
    sub: "eve",
    exp: Math.floor(Date.now() / 1000) + 2,
  }, SECRET);
  const eve = await TestClient.open(`${server.wsUrl}?token=${jwt}`);
  await eve.join("lobby");
  const closed = await eve.closed;
  assert.equal(closed.code, 4401);
  assert.equal(server.metrics.get("token_expiries_total"), 1);
});

Deno.test("auth: ALLOW_ANONYMOUS=1 with a secret accepts anonymous clients but never a bad token", async () => {
  await using server = await startTestServer({
    env: { AUTH_SECRET: SECRET, ALLOW_ANONYMOUS: "1" },
  });
  await using anon = await TestClient.open(`${server.wsUrl}?user=visitor`);
  assert.equal(anon.memberId, "anon:visitor"); // never a token subject
  assert.equal(
    await upgradeStatus(server.addr.port, "/ws?token=bad.token.here"),
    401,
  );
});

Deno.test("origin: cross-site upgrades get 403; same origin, listed origins and no Origin pass", async () => {
  await using server = await startTestServer();
  const port = server.addr.port;
  const host = `127.0.0.1:${port}`;
  const cases: Array<[string | undefined, number]> = [
    [`http://${host}`, 101],
    [undefined, 101],
    ["https://evil.example", 403],
    [`http://${host}.evil.example`, 403],
    ["null", 403],
    [`http://127.0.0.1:${port + 1}`, 403],
  ];
  for (const [origin, expected] of cases) {
    const headers: Record<string, string> = origin === undefined
      ? {}
      : { origin };
    assert.equal(
      await upgradeStatus(port, "/ws", headers),
      expected,
      String(origin),
    );
  }
  await using listed = await startTestServer({
    env: { ALLOWED_ORIGINS: "https://app.example,https://admin.example" },
  });
  const p = listed.addr.port;
  assert.equal(
    await upgradeStatus(p, "/ws", { origin: "https://app.example" }),
    101,
  );
  assert.equal(
    await upgradeStatus(p, "/ws", { origin: "https://APP.example" }),
    403,
  );
  assert.equal(
    await upgradeStatus(p, "/ws", { origin: "https://app.example." }),
    403,
  );
  assert.equal(
    await upgradeStatus(p, "/ws", { origin: `http://127.0.0.1:${p}` }),
    403,
  );
  assert.ok(
    server.metrics.get("upgrades_refused_total", "forbidden_origin") >= 4,
  );
});

Deno.test("token hygiene: no log line carries the token", async () => {
  const lines: string[] = [];
  const capture = (msg: string, fields?: Record<string, unknown>) =>
    lines.push(JSON.stringify({ msg, ...fields }));
  await using server = await startTestServer({
    env: SECURE,
    log: { debug: capture, info: capture, warn: capture, error: capture },
  });
  const jwt = await token({ sub: "ann" });
  const expired = await token({ sub: "ann", exp: 1 });
  await using ann = await TestClient.open(`${server.wsUrl}?token=${jwt}`);
  await ann.join("r");
  assert.equal(
    await upgradeStatus(server.addr.port, `/ws?token=${expired}`),
    401,
  );
  assert.ok(lines.length > 0, "nothing was logged: the check proves nothing");
  for (const line of lines) {
    assert.ok(!line.includes(jwt) && !line.includes(expired), line);
  }
});
