/**
 * The chat demo behind a proxy that blocks WebSocket (issue #14), in real
 * Chromium: the page falls back to SSE and says so, chats both ways with a
 * WebSocket tab (straight to the server) in the same room, and survives a
 * server restart (a real process on a persistent KV file, stopped and
 * started again on the same port): it gets what it missed, in order, once.
 *
 * @module
 */

/// <reference lib="dom" />

import assert from "node:assert/strict";
import {
  CHROMIUM,
  hasChromium,
  launch,
  notices,
  openChat,
  say,
  send,
  texts,
  waitFor,
  waitForText,
} from "../_support/browser.ts";
import { report } from "../_support/harness.ts";
import { type Spawned, spawnServer } from "../_support/process.ts";
import { startProxy, type UpgradePolicy } from "../_support/proxy.ts";

const inCi = Deno.env.get("CI") === "true";
const ignore = !hasChromium && !inCi;
if (ignore) {
  // deno-lint-ignore no-console
  console.warn(
    `\n⚠️  SKIPPING the SSE demo e2e tests: no Chromium at ${CHROMIUM}.\n`,
  );
}

/**
 * Console errors a blocked WebSocket and a stopped server cause, by design:
 * failed WebSocket handshakes, and SSE streams that found no server (network
 * errors only: an HTTP error status would still fail the test).
 */
const EXPECTED =
  /WebSocket connection to|Failed to load resource: net::ERR_[A-Z_]+$/;

/** Starts `main.ts` on `port` once the old process let go of it. */
async function respawn(
  env: Record<string, string>,
  port: number,
): Promise<Spawned> {
  for (let attempt = 1;; attempt++) {
    try {
      return await spawnServer({ ...env, PORT: String(port) });
    } catch (error) {
      if (attempt === 10) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

for (const upgrades of ["refuse", "drop"] satisfies UpgradePolicy[]) {
  Deno.test({
    name:
      `chat demo behind a proxy that ${upgrades}s WebSocket: falls back to SSE, chats with a WebSocket tab${
        upgrades === "refuse"
          ? ", survives a restart and gets what it missed"
          : ""
      }`,
    ignore,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "roomcast-e2e-sse-" });
      const env = { HISTORY: "kv", KV_PATH: `${dir}/roomcast.kv` };
      let server = await spawnServer(env);
      const port = server.port;
      let proxy = startProxy(port, { upgrades });
      try {
        await using browser = await launch();
        const sara = await openChat(browser, proxy.httpUrl, {
          name: "sara",
          room: "lobby",
          query: { minReconnectDelayMs: "20", maxReconnectDelayMs: "100" },
        });
        await waitFor(sara, '#transport[data-transport="sse"]');
        assert.equal(await sara.textContent("#transport"), "SSE fallback");
        const blocked = proxy.blocked;
        assert.ok(blocked >= 2, `${blocked} upgrades blocked`);
        const wes = await openChat(browser, `http://127.0.0.1:${port}`, {
          name: "wes",
          room: "lobby",
          query: { minReconnectDelayMs: "20", maxReconnectDelayMs: "100" },
        });
        assert.equal(await wes.textContent("#transport"), "WebSocket");

        await say(sara, "hello from sse");
        await waitForText(wes, "hello from sse");
        await say(wes, "hello from ws");
        await waitForText(sara, "hello from ws");
        const expected = ["hello from sse", "hello from ws"];
        if (upgrades === "refuse") {
          server.process.kill("SIGTERM");
          await server.process.status;
          await server[Symbol.asyncDispose]();
          await waitFor(sara, '#status[data-state="connecting"]');
          await waitFor(wes, '#status[data-state="connecting"]');
          await send(wes, "while down 1");
          await send(wes, "while down 2");
          // The fallback tab stays away (no proxy) until the WebSocket tab
          // delivered those: it must resume them from its position.
          const proxyPort = new URL(proxy.httpUrl).port;
          await proxy.close();
          server = await respawn(env, port);
          await waitFor(
            wes,
            '#messages li:nth-child(4)[data-delivery="delivered"]',
          );
          assert.equal(
            await sara.getAttribute("#status", "data-state"),
            "connecting",
          );
          proxy = startProxy(port, { upgrades, port: Number(proxyPort) });
          await waitFor(sara, '#status[data-state="connected"]');
          await say(wes, "after restart");
          await waitForText(sara, "after restart");
          expected.push("while down 1", "while down 2", "after restart");
          assert.equal(await sara.textContent("#transport"), "SSE fallback");
        }
        assert.deepEqual(await texts(sara), expected);
        assert.deepEqual(await texts(wes), expected);
        // Resumed within the history (kept on disk): nothing unrecoverable.
        assert.deepEqual(await notices(sara), []);
        report(
          `sse demo (${upgrades}): blocked upgrades=${blocked} messages=${expected.length} expected console errors=${browser.errors.length}`,
        );
        assert.deepEqual(
          browser.errors.filter((error) => !EXPECTED.test(error)),
          [],
        );
      } finally {
        await proxy.close();
        await server[Symbol.asyncDispose]();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
