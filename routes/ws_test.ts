/**
 * Handler-level tests of `GET /ws`'s refusals: every answer given before a
 * socket exists, through `app.request()` (no network, no upgrade).
 */
import assert from "node:assert/strict";
import { createApp } from "../lib/server/app.ts";
import { createVerifier } from "../lib/support/auth.ts";
import { createBus } from "../lib/bus/bus.ts";
import { MemoryNetwork } from "../lib/bus/memory.ts";
import { parseConfig } from "../lib/support/config.ts";
import { MemoryLog } from "../lib/room_log/memory.ts";
import { Hub } from "../lib/hub/hub.ts";
import { silentLogger } from "../lib/support/log.ts";
import { Metrics } from "../lib/support/metrics.ts";
import { isWsPath } from "./ws.ts";

const SECRET = "a-secret-of-at-least-16-chars";

/** An app on an in-memory hub, built the way the server builds it. */
async function makeApp(
  env: Record<string, string> = {},
  ready?: () => boolean,
) {
  const config = parseConfig(
    new Map(Object.entries({ HISTORY: "memory", ...env })),
  );
  const metrics = new Metrics();
  const bus = createBus(new MemoryNetwork().connect());
  const hub = new Hub({
    bus,
    history: new MemoryLog({ maxMessages: 10, ttlMs: 60_000 }),
    metrics,
    log: silentLogger,
    limits: { ...config },
  });
  const verifier = await createVerifier({ algorithm: "HS256", key: SECRET });
  const { app, fetch } = createApp({
    hub,
    log: silentLogger,
    metrics,
    config,
    nodeId: "test-node",
    verifier,
    ...(ready === undefined ? {} : { ready }),
  });
  return {
    app,
    fetch,
    hub,
    metrics,
    async [Symbol.asyncDispose]() {
      hub.shutdown();
      await bus.close();
    },
  };
}

/** Headers of a well-formed upgrade request from `origin`. */
function upgrade(extra: Record<string, string> = {}): RequestInit {
  return {
    headers: {
      host: "rooms.example",
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      ...extra,
    },
  };
}

async function errorCode(response: Response): Promise<string> {
  const body: unknown = await response.json();
  const error = Reflect.get(Object(body), "error");
  return String(Reflect.get(Object(error), "code") ?? error);
}

Deno.test("GET /ws without Upgrade answers 426 upgrade_required", async () => {
  await using t = await makeApp();
  const response = await t.app.request("/ws");
  assert.equal(response.status, 426);
  assert.equal(response.headers.get("upgrade"), "websocket");
  assert.equal(await errorCode(response), "upgrade_required");
});

Deno.test("GET /ws with a bad handshake answers 400, an old version 426", async () => {
  await using t = await makeApp();
  const badKey = await t.app.request(
    "/ws",
    upgrade({ "sec-websocket-key": "short" }),
  );
  assert.equal(badKey.status, 400);
  assert.equal(await errorCode(badKey), "bad_handshake");
  const oldVersion = await t.app.request(
    "/ws",
    upgrade({ "sec-websocket-version": "8" }),
  );
  assert.equal(oldVersion.status, 426);
  assert.equal(oldVersion.headers.get("sec-websocket-version"), "13");
  await oldVersion.body?.cancel();
});

Deno.test("GET /ws without a token, or with a bad one, answers 401 when anonymous clients are off", async () => {
  await using t = await makeApp({ AUTH_SECRET: SECRET });
  const missing = await t.app.request("/ws", upgrade());
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get("www-authenticate"), "Bearer");
  assert.equal(await errorCode(missing), "unauthorized");
  const bad = await t.app.request("/ws?token=not.a.jwt", upgrade());
  assert.equal(bad.status, 401);
  await bad.body?.cancel();
  assert.equal(t.metrics.get("auth_failures_total", "missing"), 1);
});

Deno.test("GET /ws from a foreign Origin answers 403 forbidden_origin", async () => {
  await using t = await makeApp();
  const response = await t.app.request(
    "/ws",
    upgrade({ origin: "https://evil.example" }),
  );
  assert.equal(response.status, 403);
  assert.equal(await errorCode(response), "forbidden_origin");
  const own = await t.app.request(
    "/ws",
    upgrade({ origin: "https://rooms.example", "sec-websocket-key": "x" }),
  );
  assert.equal(own.status, 400, "the own origin passes the origin check");
  await own.body?.cancel();
});

Deno.test("GET /ws past the upgrades per second of one IP answers 429 with Retry-After", async () => {
  await using t = await makeApp({
    AUTH_SECRET: SECRET,
    MAX_UPGRADES_PER_S_PER_IP: "1",
  });
  // The limit is a bucket of twice the rate; refused tokens still count.
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    const response = await t.app.request("/ws", upgrade());
    statuses.push(response.status);
    if (i === 2) {
      assert.equal(response.headers.get("retry-after"), "1");
      assert.equal(await errorCode(response), "ip_rate");
    } else await response.body?.cancel();
  }
  assert.deepEqual(statuses, [401, 401, 429]);
});

Deno.test("GET /ws answers 503 while the engine is not ready and while draining", async () => {
  let ready = false;
  await using t = await makeApp({}, () => ready);
  const notReady = await t.app.request("/ws", upgrade());
  assert.equal(notReady.status, 503);
  assert.equal(await errorCode(notReady), "not_ready");
  ready = true;
  t.hub.shutdown();
  const draining = await t.app.request("/ws", upgrade());
  assert.equal(draining.status, 503);
  assert.equal(draining.headers.get("retry-after"), "1");
  assert.equal(await errorCode(draining), "draining");
});

/** Handler info as `Deno.serve` passes it, from 127.0.0.1. */
const INFO: Deno.ServeHandlerInfo<Deno.NetAddr> = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 },
  completed: Promise.resolve(),
};

Deno.test("the server's fetch answers GET /ws as the hono route does, and leaves other paths to hono", async () => {
  await using t = await makeApp({ ALLOW_ANONYMOUS: "0" });
  const cases: [string, RequestInit][] = [
    ["/ws", {}],
    ["/ws?room=a", upgrade({ "sec-websocket-key": "short" })],
    ["/ws", upgrade()],
    ["/ws?token=not.a.jwt", upgrade()],
    ["/ws", upgrade({ origin: "https://evil.example" })],
  ];
  for (const [path, init] of cases) {
    const viaHono = await t.app.request(path, init);
    const direct = await t.fetch(
      new Request(`http://rooms.example${path}`, init),
      INFO,
    );
    assert.equal(direct.status, viaHono.status, path);
    assert.deepEqual(await direct.json(), await viaHono.json(), path);
  }
  assert.equal(t.metrics.get("upgrades_refused_total", "forbidden_origin"), 2);
  const other = await t.fetch(new Request("http://rooms.example/wsx"), INFO);
  assert.equal(other.status, 404);
});

Deno.test("isWsPath matches /ws with or without a query, nothing else", () => {
  for (const url of ["http://h/ws", "http://h:1/ws?room=a", "https://h/ws#x"]) {
    assert.equal(isWsPath(url), true, url);
  }
  for (
    const url of ["http://h/", "http://h/wsx", "http://h/ws/", "http://h/a/ws"]
  ) {
    assert.equal(isWsPath(url), false, url);
  }
});
