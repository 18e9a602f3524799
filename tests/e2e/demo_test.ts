/**
 * The chat demo as a newcomer meets it (issue #17), in real Chromium at
 * phone (390 px) and desktop (1280 px) width: no horizontal overflow and
 * every control reachable by keyboard, two tabs of one browser are two
 * members, a message sent offline shows pending then delivered, a joiner
 * sees recent history (API data and plain strings shown kindly), a
 * terminated session says so and disables input, and a server that needs a
 * token explains it. `E2E_SCREENSHOTS=1` writes docs/demo-390.png and
 * docs/demo-1280.png.
 *
 * @module
 */

/// <reference lib="dom" />

import assert from "node:assert/strict";
import { signHs256 } from "../../lib/support/auth.ts";
import { startTestServer } from "../_support/harness.ts";
import {
  CHROMIUM,
  hasChromium,
  launch,
  names,
  openChat,
  restart,
  say,
  send,
  texts,
  waitFor,
  waitForMembers,
  waitForText,
} from "../_support/browser.ts";

const inCi = Deno.env.get("CI") === "true";
const ignore = !hasChromium && !inCi;
if (ignore) {
  // deno-lint-ignore no-console
  console.warn(
    `\n⚠️  SKIPPING the demo e2e tests: no Chromium at ${CHROMIUM}.\n`,
  );
}
const API_KEY = `api-${crypto.randomUUID()}`;
const DOCS = new URL("../../docs/", import.meta.url);

async function apiPublish(url: string, room: string, data: unknown) {
  const res = await fetch(`${url}/api/rooms/${room}/messages`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${API_KEY}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ data }),
  });
  assert.equal(res.status, 201, await res.text());
}

for (const width of [390, 1280]) {
  Deno.test({
    name:
      `chat demo at ${width} px: no horizontal overflow, long room names fit, every control reachable by keyboard`,
    ignore,
    async fn() {
      await using server = await startTestServer({ env: { API_KEY } });
      await using browser = await launch();
      const longRoom = `a-very-long-room-name-${"x".repeat(170)}`;
      const page = await openChat(browser, server.url, {
        name: "ann",
        room: longRoom,
      });
      await page.fill("#room", "lobby");
      await page.click("#join");
      await waitFor(page, '#current-room[data-joined="lobby"]');
      await page.setViewportSize({ width, height: 760 });
      await say(
        page,
        "Hello from a phone-sized page with a long enough line to wrap",
      );
      await apiPublish(server.url, "lobby", { text: "Deploy finished" });
      await waitForText(page, "Deploy finished");
      const layout = await page.evaluate(() => {
        const ids = ["name", "room", "join", "text", "send"];
        const chips = [...document.querySelectorAll("#rooms button")];
        const controls = [
          ...ids.map((id) => document.getElementById(id)!),
          ...chips,
        ];
        return {
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: globalThis.innerWidth,
          outside: controls
            .map((el) => ({
              id: el.id || el.textContent || "",
              box: el.getBoundingClientRect(),
            }))
            .filter(({ box }) =>
              box.left < 0 || box.right > globalThis.innerWidth + 0.5
            )
            .map(({ id }) => id.slice(0, 40)),
          chips: chips.length,
        };
      });
      assert.ok(
        layout.scrollWidth <= layout.innerWidth,
        JSON.stringify(layout),
      );
      assert.deepEqual(layout.outside, []);
      assert.equal(layout.chips, 2, "the switcher lists both rooms");
      // Keyboard: Tab from the top reaches every control.
      await page.fill("#text", "typed");
      await page.evaluate(() =>
        (document.activeElement as HTMLElement | null)?.blur()
      );
      const reached = new Set<string>();
      for (let i = 0; i < 20; i++) {
        await page.keyboard.press("Tab");
        reached.add(
          await page.evaluate(() =>
            document.activeElement?.id || document.activeElement?.className ||
            ""
          ),
        );
      }
      for (const id of ["name", "room", "join", "text", "send", "room-chip"]) {
        assert.ok(
          reached.has(id),
          `${id} not reachable by Tab: ${[...reached]}`,
        );
      }
      await page.fill("#text", "");
      if (Deno.env.get("E2E_SCREENSHOTS") === "1") {
        await page.screenshot({
          path: new URL(`demo-${width}.png`, DOCS).pathname,
        });
      }
      assert.deepEqual(browser.errors, []);
    },
  });
}

Deno.test({
  name:
    "chat demo: two tabs of one browser are two members, also after a reload",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using browser = await launch();
    const open = async (name: string) => {
      const page = await browser.context.newPage();
      await page.goto(`${server.url}/`); // no ?user=: the page picks its id
      await waitFor(page, '#status[data-state="connected"]');
      await page.fill("#name", name);
      await page.fill("#room", "lobby");
      await page.click("#join");
      await waitFor(page, '#current-room[data-joined="lobby"]');
      return page;
    };
    const ann = await open("Ann");
    const ben = await open("Ben");
    await waitForMembers(ann, "2 online: Ann, Ben");
    await waitForMembers(ben, "2 online: Ann, Ben");
    await ann.reload();
    await waitFor(ann, '#status[data-state="connected"]');
    assert.equal(await ann.inputValue("#name"), "Ann");
    await ann.click("#join");
    await waitForMembers(ann, "2 online: Ann, Ben");
    await waitForMembers(ben, "2 online: Ann, Ben");
    assert.deepEqual(browser.errors, []);
  },
});

Deno.test({
  name:
    "chat demo: a message sent offline shows pending, then delivered once the server is back",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "roomcast-e2e-kv-" });
    const env = { HISTORY: "kv", KV_PATH: `${dir}/roomcast.kv` };
    let server = await startTestServer({ env });
    const port = server.addr.port;
    try {
      await using browser = await launch();
      const query = { minReconnectDelayMs: "20", maxReconnectDelayMs: "200" };
      const alice = await openChat(browser, server.url, {
        name: "alice",
        room: "lobby",
        query,
      });
      const bob = await openChat(browser, server.url, {
        name: "bob",
        room: "lobby",
        query,
      });
      await server.shutdown();
      await waitFor(alice, '#status[data-state="connecting"]');
      await waitFor(alice, "#banner:not([hidden])");
      assert.match(await alice.textContent("#banner") ?? "", /Offline/);
      await send(alice, "sent while offline");
      await waitFor(alice, '#messages li[data-delivery="pending"]');
      assert.match(
        await alice.textContent('#messages li[data-delivery="pending"]') ?? "",
        /sent while offline.*sending/s,
      );
      server = await restart(server, { env: { ...env, PORT: String(port) } });
      await waitFor(alice, '#messages li[data-delivery="delivered"]');
      await waitForText(bob, "sent while offline");
      await waitFor(alice, '#banner[data-kind="ok"]');
      assert.equal(await alice.textContent("#banner"), "Back online");
      assert.deepEqual(await texts(alice), ["sent while offline"]);
      assert.deepEqual(
        browser.errors.filter((error) =>
          !/WebSocket connection to/.test(error)
        ),
        [],
      );
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "chat demo: a joiner sees recent history, API data without a name and plain strings shown kindly",
  ignore,
  async fn() {
    await using server = await startTestServer({ env: { API_KEY } });
    await using browser = await launch();
    const alice = await openChat(browser, server.url, {
      name: "alice",
      room: "lobby",
    });
    await say(alice, "first");
    await say(alice, "second");
    await apiPublish(server.url, "lobby", { text: "from the backend" });
    await apiPublish(server.url, "lobby", "just a string");
    const carol = await openChat(browser, server.url, {
      name: "carol",
      room: "lobby",
    });
    await waitForText(carol, "just a string");
    assert.deepEqual(await texts(carol), [
      "first",
      "second",
      "from the backend",
      "just a string",
    ]);
    assert.deepEqual(await names(carol), ["alice", "alice", "API", "API"]);
    assert.deepEqual(browser.errors, []);
  },
});

Deno.test({
  name: "chat demo: after a terminate the page says so and disables input",
  ignore,
  async fn() {
    await using server = await startTestServer({ env: { API_KEY } });
    await using browser = await launch();
    const page = await openChat(browser, server.url, {
      name: "mallory",
      room: "lobby",
    });
    const res = await fetch(
      `${server.url}/api/members/mallory/terminate`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}` },
      },
    );
    await res.body?.cancel();
    await waitFor(page, '#banner[data-kind="error"]');
    assert.match(await page.textContent("#banner") ?? "", /ended this session/);
    assert.equal(await page.isDisabled("#text"), true);
    assert.equal(await page.isDisabled("#join"), true);
    assert.deepEqual(browser.errors.filter((e) => !/call connect/.test(e)), []);
    assert.equal(browser.errors.some((e) => /call connect/.test(e)), false);
  },
});

Deno.test({
  name:
    "chat demo: a server that needs a token and mints none explains it, and a pasted token connects",
  ignore,
  async fn() {
    const secret = "demo-e2e-secret-0123456789abcdef";
    await using server = await startTestServer({
      env: { AUTH_SECRET: secret, ALLOW_ANONYMOUS: "0" },
    });
    await using browser = await launch();
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/`);
    await waitFor(page, "#token-help:not([hidden])");
    assert.match(await page.textContent("#token-help") ?? "", /needs a token/);
    assert.equal(await page.textContent("#status"), "needs a token");
    const token = await signHs256({
      sub: "ann",
      name: "Ann",
      exp: Math.floor(Date.now() / 1000) + 600,
    }, secret);
    await page.fill("#token", token);
    await page.click("#use-token");
    await waitFor(page, '#status[data-state="connected"]');
    await page.click("#join");
    await waitForMembers(page, "1 online: Ann");
  },
});
