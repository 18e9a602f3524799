/**
 * Browser end-to-end test: the chat demo (static/) on the bundled SDK
 * (static/sdk.js, from `deno task build:sdk`) against a real server on port
 * 0, driven by playwright-core with Debian's Chromium. Without Chromium the
 * test is skipped loudly, except under `CI=true` where it fails.
 *
 * @module
 */

/// <reference lib="dom" />

import assert from "node:assert/strict";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { startTestServer } from "../_harness.ts";

declare global {
  // Set by static/app.js for the developer console.
  var ping: () => Promise<number>;
}

/** Debian's Chromium; `CHROMIUM_PATH` overrides it. */
const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];
const SDK = new URL("../../static/sdk.js", import.meta.url);
const WAIT_MS = 5_000;

const hasChromium = isFile(CHROMIUM);
const inCi = Deno.env.get("CI") === "true";
if (!hasChromium && !inCi) {
  // deno-lint-ignore no-console
  console.warn(
    `\n⚠️  SKIPPING the browser e2e test: no Chromium at ${CHROMIUM}. ` +
      "Install it with `apt-get install chromium` (CI=true makes this a failure).\n",
  );
}

Deno.test({
  name:
    "chat demo: two pages in lobby chat both ways, another room sees none of it",
  ignore: !hasChromium && !inCi,
  async fn() {
    assert.ok(
      hasChromium,
      `Chromium is required with CI=true but ${CHROMIUM} is missing: apt-get install chromium`,
    );
    assert.ok(
      isFile(SDK),
      "static/sdk.js is missing: run `deno task build:sdk` first",
    );
    await using server = await startTestServer();
    const profile = await Deno.makeTempDir({ prefix: "roomcast-e2e-" });
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const pageErrors: string[] = [];
    try {
      const open = (name: string, room: string) =>
        openChat(context, server.url, { name, room, errors: pageErrors });
      const alice = await open("alice", "lobby");
      const bob = await open("bob", "lobby");
      const carol = await open("carol", "side");

      await say(alice, "Hello from alice");
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
      assert.equal(await alice.textContent("#members"), "2");
      assert.equal(await carol.textContent("#members"), "1");
      for (const page of [alice, bob, carol]) {
        assert.equal(
          await page.getAttribute("#status", "data-state"),
          "connected",
        );
      }

      const rtt = await alice.evaluate(() => globalThis.ping());
      assert.equal(typeof rtt, "number");
      assert.ok(rtt >= 0 && rtt < WAIT_MS, `round trip ${rtt} ms`);

      const screenshot = Deno.env.get("E2E_SCREENSHOT");
      if (screenshot) await alice.screenshot({ path: screenshot });
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
      await Deno.remove(profile, { recursive: true });
    }
  },
});

interface ChatOptions {
  name: string;
  room: string;
  /** Collects uncaught page errors and console errors. */
  errors: string[];
}

/** Opens the demo, waits for the connection, joins `room` as `name`. */
async function openChat(
  context: BrowserContext,
  url: string,
  { name, room, errors }: ChatOptions,
): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (error) => errors.push(`${name}: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`${name}: ${message.text()}`);
  });
  await page.goto(url);
  await waitFor(page, '#status[data-state="connected"]');
  await page.fill("#name", name);
  await page.fill("#room", room);
  await page.click("#join");
  await waitFor(page, `#current-room[data-joined="${room}"]`);
  return page;
}

/** Sends `text` and waits until the page shows it (the server's echo). */
async function say(page: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.click("#send");
  await waitForText(page, text);
}

/** Waits until a message with exactly `text` is listed. */
async function waitForText(page: Page, text: string): Promise<void> {
  try {
    await page.waitForFunction(
      (wanted) =>
        [...document.querySelectorAll("#messages .text")].some((element) =>
          element.textContent === wanted
        ),
      text,
      { timeout: WAIT_MS },
    );
  } catch (error) {
    throw await withDom(page, `Message "${text}" never appeared`, error);
  }
}

/** `page.waitForSelector` that shows the page's DOM when it times out. */
async function waitFor(page: Page, selector: string): Promise<void> {
  try {
    await page.waitForSelector(selector, { timeout: WAIT_MS });
  } catch (error) {
    throw await withDom(page, `Selector "${selector}" never matched`, error);
  }
}

async function withDom(
  page: Page,
  message: string,
  cause: unknown,
): Promise<Error> {
  const dom = await page.innerHTML("#chat").catch(() => "(page unavailable)");
  return new Error(`${message}. DOM:\n${dom}`, { cause });
}

function texts(page: Page): Promise<string[]> {
  return page.$$eval(
    "#messages .text",
    (elements) => elements.map((element) => element.textContent ?? ""),
  );
}

function names(page: Page): Promise<string[]> {
  return page.$$eval(
    "#messages .name",
    (elements) => elements.map((element) => element.textContent ?? ""),
  );
}

function isFile(path: string | URL): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
