/**
 * Refused upgrades are logged (issue #17): a page whose every upgrade gets
 * 401 or 403 used to leave nothing in the log. Now each cause is logged once
 * (then a summary per interval, by the refusal log), never with the token;
 * `LOG_LEVEL=debug` logs connects and joins.
 */
import assert from "node:assert/strict";
import {
  captureLog,
  startTestServer,
  TestClient,
} from "../_support/harness.ts";
import { upgradeStatus } from "../_support/raw_ws.ts";

const SECRET = "upgrade-log-secret-0123456789";

Deno.test("refused upgrades: 401 (no token, bad token), 403 (origin) are logged once per cause, without the token", async () => {
  const { log, lines } = captureLog();
  const server = await startTestServer({
    log,
    env: {
      AUTH_SECRET: SECRET,
      ALLOW_ANONYMOUS: "0",
      ALLOWED_ORIGINS: "https://app.example",
      MAX_UPGRADES_PER_S_PER_IP: "1000",
      LOG_LEVEL: "info",
    },
  });
  try {
    const port = new URL(server.url).port;
    const badToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.not-a-signature";
    for (let i = 0; i < 20; i++) {
      assert.equal(await upgradeStatus(Number(port)), 401);
      assert.equal(
        await upgradeStatus(Number(port), `/ws?token=${badToken}`),
        401,
      );
      assert.equal(
        await upgradeStatus(Number(port), "/ws", {
          origin: "http://localhost:8000",
        }),
        403,
      );
    }
    const refused = (cause: RegExp) =>
      lines.filter((line) =>
        line.includes("Upgrade refused") && cause.test(line)
      );
    assert.equal(refused(/"reason":"missing"/).length, 1, lines.join("\n"));
    assert.equal(refused(/"status":401,"reason":"(?!missing)/).length, 1);
    const origin = refused(/forbidden_origin/);
    assert.equal(origin.length, 1);
    assert.match(
      origin[0] ?? "",
      /"level":"warn".*"origin":"http:\/\/localhost:8000"/,
    );
    assert.equal(lines.some((line) => line.includes(badToken)), false);
    assert.equal(lines.some((line) => line.includes("not-a-signature")), false);
  } finally {
    await server.shutdown();
  }
});

Deno.test("refused upgrades: 429 for connection storms is logged once", async () => {
  const { log, lines } = captureLog();
  const server = await startTestServer({
    log,
    env: { MAX_UPGRADES_PER_S_PER_IP: "1", LOG_LEVEL: "info" },
  });
  try {
    const port = Number(new URL(server.url).port);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push(await upgradeStatus(port));
    assert.ok(statuses.includes(429), statuses.join());
    const lines429 = lines.filter((line) =>
      line.includes("Upgrade refused (429 ip_rate)")
    );
    assert.equal(lines429.length, 1, lines.join("\n"));
  } finally {
    await server.shutdown();
  }
});

Deno.test("LOG_LEVEL=debug logs connects and joins", async () => {
  const { log, lines } = captureLog();
  const server = await startTestServer({ log, env: { LOG_LEVEL: "debug" } });
  try {
    const client = await TestClient.open(server.wsUrl);
    await client.join("lobby");
    client.close();
    await client.closed;
    const find = (msg: string) =>
      lines.find((line) => line.includes(`"msg":"${msg}"`));
    assert.match(find("Client connected") ?? "", /"connection":"[^"]+"/);
    assert.match(find("Join") ?? "", /"room":"lobby"/);
  } finally {
    await server.shutdown();
  }
});
