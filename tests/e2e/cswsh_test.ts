/**
 * Cross-site WebSocket hijacking in a real browser (reliability.md C2): the
 * victim holds a roomcast token in a cookie; a page on another origin opens
 * a WebSocket to roomcast. Cookies are scoped by host, not port, so Chromium
 * sends the cookie along: only the Origin check stands in the way.
 */
import assert from "node:assert/strict";
import { signHs256 } from "../../lib/support/auth.ts";
import { report, startTestServer } from "../_support/harness.ts";
import { CHROMIUM, hasChromium, launch } from "../_support/browser.ts";

const inCi = Deno.env.get("CI") === "true";
if (!hasChromium && !inCi) {
  // deno-lint-ignore no-console
  console.warn(
    `\n⚠️  SKIPPING the CSWSH browser test: no Chromium at ${CHROMIUM}.\n`,
  );
}

const SECRET = "cswsh-test-secret-0123456789ab";

/** In the page: opens a WebSocket and reports "open" or "refused". */
function tryConnect(url: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, ["roomcast.v1"]);
    socket.onopen = () => {
      socket.close();
      resolve("open");
    };
    socket.onerror = () => resolve("refused");
  });
}

Deno.test({
  name:
    "CSWSH: a page on another origin cannot ride the victim's cookie; the app's own page can",
  ignore: !hasChromium && !inCi,
  async fn() {
    const env = { AUTH_SECRET: SECRET, ALLOW_ANONYMOUS: "0" };
    await using roomcast = await startTestServer({ env });
    await using evil = await startTestServer(); // another origin: other port
    await using browser = await launch();
    const token = await signHs256(
      { sub: "victim", exp: Math.floor(Date.now() / 1000) + 600 },
      SECRET,
    );
    await browser.context.addCookies([{
      name: "roomcast_token",
      value: token,
      domain: "127.0.0.1",
      path: "/",
      sameSite: "Lax",
    }]);
    const target = roomcast.wsUrl;
    const own = await browser.context.newPage();
    await own.goto(roomcast.url);
    const fromOwn = await own.evaluate(tryConnect, target);
    const hostile = await browser.context.newPage();
    await hostile.goto(evil.url);
    const fromEvil = await hostile.evaluate(tryConnect, target);
    const refusals = roomcast.metrics.get(
      "upgrades_refused_total",
      "forbidden_origin",
    );
    report(
      `CSWSH in Chromium: own origin → ${fromOwn}; other origin with the victim's cookie → ${fromEvil} (403 refusals counted: ${refusals})`,
    );
    assert.equal(fromOwn, "open"); // the cookie alone authenticates
    assert.equal(fromEvil, "refused");
    assert.equal(refusals, 1);
    // Control: the same attack against a server that wrongly allow-lists the
    // hostile origin succeeds — the browser did send the cookie, so the
    // Origin check is what stopped it above.
    await using careless = await startTestServer({
      env: { ...env, ALLOWED_ORIGINS: evil.url },
    });
    assert.equal(await hostile.evaluate(tryConnect, careless.wsUrl), "open");
  },
});
