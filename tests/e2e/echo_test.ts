/**
 * Laravel Echo with pusher-js in a real Chromium page against a real
 * roomcast server, written as a Laravel app would be, with only host and
 * port changed. The test plays the app's backend: it serves the page, the
 * packages' own browser builds from the npm cache (nothing from a CDN), an
 * Echo auth endpoint (`/broadcasting/auth`, signed with the `pusher` SDK)
 * and a route that broadcasts with the `pusher` SDK, honouring Echo's
 * `X-Socket-ID` as Laravel's `toOthers()` does.
 */

/// <reference lib="dom" />

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Page } from "npm:playwright-core@^1.65.1";
import { CHROMIUM, hasChromium, launch, WAIT_MS } from "../_support/browser.ts";
import { APP, serverSdk, startPusherServer } from "../_support/pusher.ts";

const inCi = Deno.env.get("CI") === "true";
if (!hasChromium && !inCi) {
  // deno-lint-ignore no-console
  console.warn(
    `\n⚠️  SKIPPING the Echo browser test: no Chromium at ${CHROMIUM}.\n`,
  );
}

// Type-only imports put the packages in the module graph (nothing runs), so
// `require.resolve` finds their folders in the npm cache.
import type {} from "npm:laravel-echo@^2.5.0";
import type {} from "npm:pusher-js@^8.6.0";

const require = createRequire(import.meta.url);
/** The browser builds the packages ship (pusher-js's `browser` field, Echo's IIFE). */
const PUSHER_JS = join(
  dirname(require.resolve("pusher-js")),
  "../web/pusher.js",
);
const ECHO_JS = join(dirname(require.resolve("laravel-echo")), "echo.iife.js");

declare global {
  var log: Array<[string, unknown]>;
  var whisper: (data: unknown) => void;
  var broadcast: (channel: string, toOthers: boolean) => Promise<number>;
}

/** The page, as a Laravel app's `resources/js/echo.js` would set Echo up. */
function page(wsPort: number, user: string): string {
  return `<!doctype html><meta charset="utf-8"><title>echo</title>
<script src="/pusher.js"></script><script src="/echo.js"></script>
<script>
window.log = [];
const echo = new Echo.default({
  broadcaster: "reverb",
  key: ${JSON.stringify(APP.key)},
  wsHost: "127.0.0.1",
  wsPort: ${wsPort},
  forceTLS: false,
  enabledTransports: ["ws", "wss"],
  authEndpoint: "/broadcasting/auth",
  auth: { headers: { "X-User": ${JSON.stringify(user)} } },
  Pusher,
});
echo.channel("news").listen("OrderShipped", (e) => log.push(["public", e]));
const orders = echo.private("orders")
  .listen("OrderShipped", (e) => log.push(["private", e]))
  .listenForWhisper("typing", (e) => log.push(["whisper", e]))
  .subscribed(() => log.push(["subscribed", "orders"]));
echo.join("room")
  .here((users) => log.push(["here", users.map((u) => u.name).sort()]))
  .joining((u) => log.push(["joining", u.name]))
  .leaving((u) => log.push(["leaving", u.name]));
window.whisper = (data) => orders.whisper("typing", data);
window.broadcast = async (channel, toOthers) => {
  const headers = { "content-type": "application/json" };
  if (toOthers) headers["X-Socket-ID"] = echo.socketId();
  const res = await fetch("/broadcast", {
    method: "POST", headers, body: JSON.stringify({ channel, from: ${
    JSON.stringify(user)
  } }),
  });
  return res.status;
};
</script>`;
}

/** The app's backend: page, scripts, Echo's auth endpoint, a broadcasting route. */
function startBackend(wsPort: number, apiPort: number) {
  const sdk = serverSdk({ port: apiPort });
  const names: Record<string, string> = { alice: "Alice", bob: "Bob" };
  return Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      if (url.pathname === "/") {
        return new Response(page(wsPort, url.searchParams.get("user") ?? ""), {
          headers: { "content-type": "text/html" },
        });
      }
      if (url.pathname === "/pusher.js" || url.pathname === "/echo.js") {
        const file = url.pathname === "/pusher.js" ? PUSHER_JS : ECHO_JS;
        return new Response(await Deno.readTextFile(file), {
          headers: { "content-type": "text/javascript" },
        });
      }
      if (url.pathname === "/broadcasting/auth" && req.method === "POST") {
        const form = new URLSearchParams(await req.text());
        const user = req.headers.get("x-user") ?? "";
        const socketId = form.get("socket_id") ?? "";
        const channel = form.get("channel_name") ?? "";
        if (names[user] === undefined) return new Response("", { status: 403 });
        const presence = channel.startsWith("presence-")
          ? { "user_id": user, "user_info": { name: names[user] } }
          : undefined;
        return Response.json(sdk.authorizeChannel(socketId, channel, presence));
      }
      if (url.pathname === "/broadcast" && req.method === "POST") {
        const body = await req.json() as { channel: string; from: string };
        const socketId = req.headers.get("x-socket-id");
        // Laravel's broadcast(...)->toOthers() sends the X-Socket-ID as socket_id.
        const res = await sdk.trigger(
          body.channel,
          "App\\Events\\OrderShipped",
          { from: body.from },
          socketId === null ? {} : { "socket_id": socketId },
        );
        return new Response(null, { status: res.status });
      }
      return new Response("", { status: 404 });
    },
  );
}

async function logHas(page: Page, entry: [string, unknown]): Promise<void> {
  await page.waitForFunction(
    (wanted) => log.some((e) => JSON.stringify(e) === wanted),
    JSON.stringify(entry),
    { timeout: WAIT_MS },
  ).catch(async (error) => {
    throw new Error(
      `${error}; log: ${JSON.stringify(await page.evaluate(() => log))}`,
    );
  });
}

Deno.test({
  name:
    "Laravel Echo + pusher-js in Chromium: public, private with auth endpoint, presence here/joining/leaving, whisper, toOthers",
  ignore: !hasChromium && !inCi,
  async fn() {
    await using server = await startPusherServer();
    const backend = startBackend(server.addr.port, server.addr.port);
    await using browser = await launch();
    try {
      const base = `http://127.0.0.1:${backend.addr.port}/`;
      const alice = await browser.context.newPage();
      alice.on("pageerror", (e) => browser.errors.push(`alice: ${e}`));
      await alice.goto(`${base}?user=alice`);
      await logHas(alice, ["here", ["Alice"]]);
      const bob = await browser.context.newPage();
      bob.on("pageerror", (e) => browser.errors.push(`bob: ${e}`));
      await bob.goto(`${base}?user=bob`);
      await logHas(bob, ["here", ["Alice", "Bob"]]);
      await logHas(alice, ["joining", "Bob"]);
      await logHas(alice, ["subscribed", "orders"]);
      await logHas(bob, ["subscribed", "orders"]);

      // Public: a broadcast reaches both.
      assert.equal(await alice.evaluate(() => broadcast("news", false)), 200);
      await logHas(alice, ["public", { from: "alice" }]);
      await logHas(bob, ["public", { from: "alice" }]);

      // Private, toOthers: Bob gets it, Alice (the sender's socket) does not.
      assert.equal(
        await alice.evaluate(() => broadcast("private-orders", true)),
        200,
      );
      await logHas(bob, ["private", { from: "alice" }]);
      // A later broadcast to everyone: once Alice has it, she would have had the first.
      assert.equal(
        await bob.evaluate(() => broadcast("private-orders", false)),
        200,
      );
      await logHas(alice, ["private", { from: "bob" }]);
      const alicePrivate = await alice.evaluate(() =>
        log.filter((e) => e[0] === "private")
      );
      assert.deepEqual(alicePrivate, [["private", { from: "bob" }]]);

      // Whisper (a client event): to the others only.
      await alice.evaluate(() => whisper({ typing: "alice" }));
      await logHas(bob, ["whisper", { typing: "alice" }]);

      // Bob leaves: Alice sees it.
      await bob.close();
      await logHas(alice, ["leaving", "Bob"]);
      assert.ok(
        !(await alice.evaluate(() => log.some((e) => e[0] === "whisper"))),
        "a whisper is never echoed",
      );
      assert.deepEqual(browser.errors, []);
    } finally {
      await backend.shutdown();
    }
  },
});
