/**
 * The dashboard in real Chromium: login, live figures, presence across two
 * isolates, the live tail, terminate everywhere, read-only mode, no secrets
 * in the page, and CSRF from a hostile origin.
 */
import assert from "node:assert/strict";
import type { Page } from "npm:playwright-core@^1.65.1";
import {
  openAcrossIsolates,
  report,
  startTestServer,
  startTestWorkers,
  TestClient,
} from "../_support/harness.ts";
import { CHROMIUM, hasChromium, launch, WAIT_MS } from "../_support/browser.ts";

const inCi = Deno.env.get("CI") === "true";
if (!hasChromium && !inCi) {
  // deno-lint-ignore no-console
  console.warn(
    `\n⚠️  SKIPPING the admin browser tests: no Chromium at ${CHROMIUM}.\n`,
  );
}
const ignore = !hasChromium && !inCi;

const TOKEN = "admin-token-e2e-5f1c9d";
const SECRETS = {
  ADMIN_TOKEN: TOKEN,
  API_KEY: "api-key-e2e-77ab31",
  AUTH_SECRET: "auth-secret-e2e-0123456789abcdef",
  METRICS_TOKEN: "metrics-token-e2e-99",
};
const ENV = { ...SECRETS, ADMIN_STATS_INTERVAL_MS: "200" };

/** Opens `/admin/` and logs in with `token`; resolves once the outcome shows. */
async function login(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/admin/`);
  await page.waitForSelector("#login:not([hidden])", { timeout: WAIT_MS });
  await page.fill("#token", token);
  await page.click("#login button[type=submit]");
}

async function textIs(
  page: Page,
  selector: string,
  text: string,
): Promise<void> {
  try {
    await page.waitForFunction(
      ([s, t]) => document.querySelector(s!)?.textContent === t,
      [selector, text],
      { timeout: WAIT_MS },
    );
  } catch (error) {
    const seen = await page.textContent(selector).catch(() => "(none)");
    throw new Error(`${selector} never read "${text}" (reads "${seen}")`, {
      cause: error,
    });
  }
}

Deno.test({
  name:
    "admin page: a bad token is refused, the right one logs in; connections follow clients; the tail shows a message; no secret reaches the page",
  ignore,
  async fn() {
    await using server = await startTestServer({ env: ENV });
    await using browser = await launch();
    const page = await browser.context.newPage();
    const bodies: string[] = [];
    page.on("response", async (res) => {
      if ((res.headers()["content-type"] ?? "").includes("event-stream")) {
        return;
      }
      bodies.push(await res.text().catch(() => ""));
    });
    page.on("pageerror", (e) => browser.errors.push(e.message));
    await login(page, server.url, "wrong-token");
    await textIs(page, "#login-error", "Wrong token");
    assert.equal(server.metrics.get("admin_refused_total", "bad_token"), 1);
    assert.equal(await page.isVisible("#app"), false);
    await page.fill("#token", TOKEN);
    await page.click("#login button[type=submit]");
    await page.waitForSelector("#app:not([hidden])", { timeout: WAIT_MS });
    assert.equal(await page.inputValue("#token"), "");
    assert.equal(await page.evaluate(() => document.cookie), ""); // HttpOnly
    await textIs(page, "#fig-connections", "0");
    const a = await TestClient.open(`${server.wsUrl}?user=ann`);
    const b = await TestClient.open(`${server.wsUrl}?user=bob`);
    await textIs(page, "#fig-connections", "2");
    await b.close();
    await textIs(page, "#fig-connections", "1");
    assert.ok(
      await page.locator(".chart .u-over").count() >= 8,
      "uPlot charts drawn",
    );
    // The live tail of a room, payloads included (not read-only).
    a.send({ type: "join", room: "lobby", presence: true });
    await a.next("joined");
    await page.goto(`${server.url}/admin/#room/lobby`);
    await textIs(page, "#tail-state", "live");
    await page.waitForSelector(`#presence li[data-member="${a.memberId}"]`, {
      timeout: WAIT_MS,
    });
    a.send({ type: "publish", room: "lobby", data: { text: "hello-tail" } });
    await page.waitForSelector('#tail li[data-offset="1"]', {
      timeout: WAIT_MS,
    });
    assert.match(
      await page.textContent('#tail li[data-offset="1"]') ?? "",
      /hello-tail/,
    );
    // Publish a test message from the page.
    const own = await a.next("message", { skip: true });
    assert.equal(own.offset, 1);
    await page.click("#publish-form button");
    const fromAdmin = await a.next("message", { skip: true });
    assert.equal(fromAdmin.from, "admin");
    assert.deepEqual(fromAdmin.data, { text: "test from admin" });
    await page.waitForSelector('#tail li[data-offset="2"]', {
      timeout: WAIT_MS,
    });
    await a.close();
    const html = await page.content();
    for (const [name, secret] of Object.entries(SECRETS)) {
      assert.ok(!html.includes(secret), `${name} in the page`);
      for (const body of bodies) {
        assert.ok(!body.includes(secret), `${name} in a response`);
      }
    }
    assert.ok(bodies.length >= 5);
    assert.deepEqual(browser.errors, []);
  },
});

Deno.test({
  name:
    "admin page on two isolates: both nodes listed, a room with a member on each shows both, terminate closes the member on every isolate",
  ignore,
  async fn() {
    await using workers = await startTestWorkers({
      ...ENV,
      ADMIN_STATS_INTERVAL_MS: "200",
    });
    const url = workers.wsUrl.replace("ws:", "http:").replace("/ws", "");
    const pairs = await openAcrossIsolates(workers.wsUrl, {
      perIsolate: 1,
      user: (i) => `u${i}`,
    });
    const firsts = [...pairs.values()].map((list) => list[0]!);
    for (const client of firsts) {
      client.send({ type: "join", room: "duo", presence: true });
      await client.next("joined");
    }
    const carol = await openAcrossIsolates(workers.wsUrl, {
      perIsolate: 1,
      user: () => "carol",
    });
    const carols = [...carol.values()].flat();
    await using browser = await launch();
    const page = await browser.context.newPage();
    await login(page, url, TOKEN);
    await page.waitForSelector("#app:not([hidden])", { timeout: WAIT_MS });
    await textIs(page, "#fig-nodes", "2");
    await page.goto(`${url}/admin/#nodes`);
    await page.waitForFunction(
      () => document.querySelectorAll("#nodes-body tr").length === 2,
      undefined,
      { timeout: WAIT_MS },
    );
    const labels = await page.locator("#nodes-body tr td:nth-child(2)")
      .allTextContents();
    assert.ok(labels.every((l) => /^pid \d+ worker$/.test(l)), labels.join());
    await page.goto(`${url}/admin/#room/duo`);
    const members = firsts.map((c) => c.memberId);
    for (const member of members) {
      await page.waitForSelector(`#presence li[data-member="${member}"]`, {
        timeout: WAIT_MS,
      });
    }
    // carol has a connection on each isolate; terminate her from the page.
    carols[0]!.send({ type: "join", room: "duo", presence: true });
    await carols[0]!.next("joined");
    await page.waitForSelector(
      `#presence li[data-member="${carols[0]!.memberId}"] .terminate`,
      {
        timeout: WAIT_MS,
      },
    );
    await page.click(
      `#presence li[data-member="${carols[0]!.memberId}"] .terminate`,
    );
    const codes = await Promise.all(
      carols.map(async (c) => (await c.closed).code),
    );
    report(
      `admin terminate: carol's ${carols.length} connections on ${carol.size} isolates closed with ${
        codes.join(",")
      }`,
    );
    assert.ok(carols.length >= 2);
    assert.deepEqual(codes, carols.map(() => 4500));
    for (const client of firsts) {
      assert.equal(client.socket.readyState, WebSocket.OPEN);
    }
    for (const client of [...pairs.values()].flat()) await client.close();
  },
});

Deno.test({
  name:
    "admin page: read-only hides the actions and the server refuses them to a direct request; a hostile origin cannot drive the actions",
  ignore,
  async fn() {
    await using server = await startTestServer({
      env: { ...ENV, ADMIN_READ_ONLY: "1" },
    });
    // Another token: the read-only server's cookie (same host) is not valid here.
    const other = "admin-token-e2e-writable";
    await using writable = await startTestServer({
      env: { ...ENV, ADMIN_TOKEN: other },
    });
    await using evil = await startTestServer(); // another origin: another port
    await using ann = await TestClient.open(`${server.wsUrl}?user=ann`);
    await using bob = await TestClient.open(`${writable.wsUrl}?user=bob`);
    await using browser = await launch();
    const page = await browser.context.newPage();
    await login(page, server.url, TOKEN);
    await page.waitForSelector("#app:not([hidden])", { timeout: WAIT_MS });
    await textIs(page, "#mode", "read-only");
    await page.goto(`${server.url}/admin/#room/lobby`);
    await textIs(page, "#tail-state", "live (sizes only: read-only)");
    assert.equal(await page.isVisible("#publish-form"), false);
    // A direct request with everything a real action has: still refused.
    const direct = await page.evaluate(async (member) => {
      const { csrf } = await (await fetch("/admin/api/session")).json();
      const res = await fetch(`/admin/api/members/${member}/terminate`, {
        method: "POST",
        headers: { "x-csrf-token": csrf },
      });
      return [res.status, (await res.json()).error.code];
    }, encodeURIComponent(ann.memberId));
    assert.deepEqual(direct, [403, "read_only"]);
    assert.equal(ann.socket.readyState, WebSocket.OPEN);
    // CSRF: logged in to a writable dashboard, the browser visits a page on
    // another port of the same host (same site: the SameSite cookie goes
    // along). Its simple POST reaches the server with the cookie and is
    // refused for its Origin; one with a forged header is stopped by CORS.
    await login(page, writable.url, other);
    await page.waitForSelector("#app:not([hidden])", { timeout: WAIT_MS });
    const hostile = await browser.context.newPage();
    await hostile.goto(evil.url);
    const target = `${writable.url}/admin/api/members/${
      encodeURIComponent(bob.memberId)
    }/terminate`;
    const outcome = await hostile.evaluate(async (url) => {
      const simple = await fetch(url, {
        method: "POST",
        mode: "no-cors",
        credentials: "include",
      })
        .then((r) => r.type, (e) => `error ${e}`);
      const forged = await fetch(url, {
        method: "POST",
        credentials: "include",
        headers: { "x-csrf-token": "guess" },
      }).then((r) => String(r.status), () => "blocked");
      return [simple, forged];
    }, target);
    assert.deepEqual(outcome, ["opaque", "blocked"]);
    assert.equal(writable.metrics.get("admin_refused_total", "origin"), 1);
    assert.equal(writable.metrics.get("admin_actions_total", "terminate"), 0);
    assert.equal(bob.socket.readyState, WebSocket.OPEN);
    // Control: the same page on its own origin does terminate.
    const own = await page.evaluate(async (url) => {
      const { csrf } = await (await fetch("/admin/api/session")).json();
      return (await fetch(url, {
        method: "POST",
        headers: { "x-csrf-token": csrf },
      })).status;
    }, target);
    assert.equal(own, 202);
    assert.equal((await bob.closed).code, 4500);
  },
});
