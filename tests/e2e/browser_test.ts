/**
 * Browser end-to-end tests: the chat demo (static/) on the bundled SDK
 * (static/sdk.js, from `deno task build:sdk`) against a real server on port
 * 0, driven by playwright-core with Debian's Chromium: chat and presence
 * between pages, and a server restart on Deno KV history that the pages
 * ride out without losing or repeating a message. Without Chromium the
 * tests are skipped loudly, except under `CI=true` where they fail.
 *
 * @module
 */

/// <reference lib="dom" />

import assert from "node:assert/strict";
import { report, startTestServer } from "../_support/harness.ts";
import {
  CHROMIUM,
  hasChromium,
  launch,
  names,
  notices,
  openChat,
  restart,
  say,
  send,
  texts,
  WAIT_MS,
  waitFor,
  waitForMembers,
  waitForText,
} from "../_support/browser.ts";

declare global {
  // Set by static/app.js for the developer console.
  var ping: () => Promise<number>;
}

const inCi = Deno.env.get("CI") === "true";
if (!hasChromium && !inCi) {
  // deno-lint-ignore no-console
  console.warn(
    `\n⚠️  SKIPPING the browser e2e tests: no Chromium at ${CHROMIUM}. ` +
      "Install it with `apt-get install chromium` (CI=true makes this a failure).\n",
  );
}

Deno.test({
  name:
    "chat demo: two pages in lobby chat both ways, see each other, another room sees none of it",
  ignore: !hasChromium && !inCi,
  async fn() {
    await using server = await startTestServer();
    await using browser = await launch();
    const open = (name: string, room: string) =>
      openChat(browser, server.url, { name, room });
    const alice = await open("alice", "lobby");
    const bob = await open("bob", "lobby");
    const carol = await open("carol", "side");

    await say(alice, "Hello from alice");
    await waitForText(bob, "Hello from alice"); // one's own shows at once
    await say(bob, "Hi alice, bob here <b>not bold</b>");
    await waitForText(alice, "Hi alice, bob here <b>not bold</b>");
    // Carol's own message arrives after anything lobby could have leaked.
    await say(carol, "Anyone in side?");

    const lobby = ["Hello from alice", "Hi alice, bob here <b>not bold</b>"];
    assert.deepEqual(await texts(alice), lobby);
    assert.deepEqual(await texts(bob), lobby);
    assert.deepEqual(await texts(carol), ["Anyone in side?"]);
    assert.deepEqual(await names(alice), ["alice", "bob"]);
    assert.equal(await alice.locator("#messages b").count(), 0);
    await waitForMembers(alice, "2 online: alice, bob");
    await waitForMembers(bob, "2 online: alice, bob");
    await waitForMembers(carol, "1 online: carol");
    for (const page of [alice, bob, carol]) {
      assert.equal(
        await page.getAttribute("#status", "data-state"),
        "connected",
      );
    }

    // Bob leaves lobby for side: both member lists follow.
    await bob.bringToFront();
    await bob.fill("#room", "side");
    await bob.click("#join");
    await waitFor(bob, '#current-room[data-joined="side"]');
    await waitForMembers(alice, "1 online: alice");
    await waitForMembers(carol, "2 online: bob, carol");

    const rtt = await alice.evaluate(() => globalThis.ping());
    assert.equal(typeof rtt, "number");
    assert.ok(rtt >= 0 && rtt < WAIT_MS, `round trip ${rtt} ms`);

    const screenshot = Deno.env.get("E2E_SCREENSHOT");
    if (screenshot) await alice.screenshot({ path: screenshot });
    assert.deepEqual(browser.errors, []);
  },
});

Deno.test({
  name:
    "chat demo: pages ride out a server restart (KV history), messages sent meanwhile arrive once",
  ignore: !hasChromium && !inCi,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "roomcast-e2e-kv-" });
    const env = { HISTORY: "kv", KV_PATH: `${dir}/roomcast.kv` };
    let server = await startTestServer({ env });
    const port = server.addr.port;
    try {
      await using browser = await launch();
      // Fast reconnects: the demo passes these to the SDK.
      const query = { minReconnectDelayMs: "20", maxReconnectDelayMs: "200" };
      const open = (name: string) =>
        openChat(browser, server.url, { name, room: "lobby", query });
      const alice = await open("alice");
      const bob = await open("bob");
      const before = ["alice before the restart", "bob before the restart"];
      // The demo lists one's own message at once (pending): bob speaks only
      // once alice's word has reached his page, so both pages show one order.
      await say(alice, before[0]!);
      await waitForText(bob, before[0]!);
      await say(bob, before[1]!);
      await waitForText(alice, before[1]!);
      for (const page of [alice, bob]) {
        await waitForMembers(page, "2 online: alice, bob");
      }

      await server.shutdown();
      for (const page of [alice, bob]) {
        await waitFor(page, '#status[data-state="connecting"]');
      }
      // Sent while the server is down: the SDK queues them.
      const during = ["alice while down 1", "alice while down 2"];
      for (const text of during) await send(alice, text);

      server = await restart(server, { env: { ...env, PORT: String(port) } });
      for (const page of [alice, bob]) {
        await waitFor(page, '#status[data-state="connected"]');
      }
      for (const text of during) await waitForText(bob, text);
      // Bob's last word: once both pages show it, anything duplicated
      // before it would be on the pages too.
      const after = "bob after the restart";
      await say(bob, after);
      await waitForText(alice, after);

      const sent = [...before, ...during, after];
      for (const [name, page] of [["alice", alice], ["bob", bob]] as const) {
        const shown = await texts(page);
        const counts = sent.map((text) =>
          shown.filter((t) => t === text).length
        );
        const lost = counts.filter((count) => count === 0).length;
        const duplicated = counts.reduce(
          (sum, c) => sum + Math.max(0, c - 1),
          0,
        );
        report(
          `browser restart (${name}'s page): sent=${sent.length} received=${shown.length} lost=${lost} duplicated=${duplicated}`,
        );
        assert.deepEqual(
          shown,
          sent,
          `${name}'s page: every message once, in order`,
        );
        assert.deepEqual(await notices(page), [], `${name}'s page notices`);
        await waitForMembers(page, "2 online: alice, bob");
      }
      // Failed reconnect attempts while the server was down are expected.
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
