/**
 * Helpers of the browser end-to-end tests: Chromium driven by
 * playwright-core, the chat demo's pages, and waits that show the page's
 * DOM when they time out.
 *
 * @module
 */

/// <reference lib="dom" />

import assert from "node:assert/strict";
import {
  type BrowserContext,
  chromium,
  type Page,
} from "npm:playwright-core@^1.65.1";
import {
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from "./harness.ts";

/** Debian's Chromium; `CHROMIUM_PATH` overrides it. */
export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
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
/** How long any wait on a page may take, in ms. */
export const WAIT_MS = 5_000;

/** Whether Chromium is installed. */
export const hasChromium: boolean = isFile(CHROMIUM);

/** A Chromium with a fresh profile, and the errors its pages reported. */
export interface Browser extends AsyncDisposable {
  context: BrowserContext;
  /** Uncaught page errors and console errors, prefixed with the page's name. */
  errors: string[];
}

/** Launches Chromium with a fresh profile; `await using` closes it. */
export async function launch(): Promise<Browser> {
  assert.ok(
    hasChromium,
    `Chromium is required with CI=true but ${CHROMIUM} is missing: apt-get install chromium`,
  );
  assert.ok(
    isFile(SDK),
    "static/sdk.js is missing: run `deno task build:sdk` first",
  );
  const profile = await Deno.makeTempDir({ prefix: "roomcast-e2e-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return {
    context,
    errors: [],
    async [Symbol.asyncDispose]() {
      await context.close();
      await Deno.remove(profile, { recursive: true });
    },
  };
}

/**
 * Starts a server on the port `old` listened on, once `old` has stopped.
 * Binding can fail for a moment after the old listener closed: retried.
 */
export async function restart(
  old: TestServer,
  options: TestServerOptions,
): Promise<TestServer> {
  await old.shutdown();
  await old.finished;
  for (let attempt = 1;; attempt++) {
    try {
      return await startTestServer(options);
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse) || attempt === 5) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

/** Options of {@linkcode openChat}. */
export interface ChatOptions {
  name: string;
  room: string;
  /** Extra page URL parameters. */
  query?: Record<string, string>;
}

/**
 * Opens the demo as user `name` (`?user=`: pages of one browser share
 * localStorage, hence its member id), waits for the connection and joins
 * `room` as `name`.
 */
export async function openChat(
  browser: Browser,
  url: string,
  { name, room, query = {} }: ChatOptions,
): Promise<Page> {
  const page = await browser.context.newPage();
  const { errors } = browser;
  page.on("pageerror", (error) => errors.push(`${name}: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // The demo asks POST /token for a token; a server started without --dev
    // answers 404 and the demo connects anonymously, as intended.
    if (
      new URL(message.location().url || "about:blank").pathname === "/token" &&
      message.text().includes("404")
    ) return;
    errors.push(`${name}: ${message.text()}`);
  });
  const params = new URLSearchParams({ user: name, ...query });
  await page.goto(`${url}/?${params}`);
  await waitFor(page, '#status[data-state="connected"]');
  await page.fill("#name", name);
  await page.fill("#room", room);
  await page.click("#join");
  await waitFor(page, `#current-room[data-joined="${room}"]`);
  return page;
}

/** Submits `text` without waiting for it to be shown. */
export async function send(page: Page, text: string): Promise<void> {
  // Clicks in a background page wait for animation frames that come late.
  await page.bringToFront();
  await page.fill("#text", text);
  await page.click("#send");
  // The form handler clears the field once it handed the text to the SDK.
  await page.waitForFunction(
    () => (document.getElementById("text") as HTMLInputElement).value === "",
    undefined,
    { timeout: WAIT_MS },
  );
}

/** Sends `text` and waits until the page shows it (the server's echo). */
export async function say(page: Page, text: string): Promise<void> {
  await send(page, text);
  await waitForText(page, text);
}

/** Waits until a message with exactly `text` is listed. */
export async function waitForText(page: Page, text: string): Promise<void> {
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

/** Waits until `#members` reads exactly `text`. */
export async function waitForMembers(page: Page, text: string): Promise<void> {
  try {
    await page.waitForFunction(
      (wanted) => document.getElementById("members")?.textContent === wanted,
      text,
      { timeout: WAIT_MS },
    );
  } catch (error) {
    throw await withDom(page, `Members never read "${text}"`, error);
  }
}

/** `page.waitForSelector` that shows the page's DOM when it times out. */
export async function waitFor(page: Page, selector: string): Promise<void> {
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

/** The texts of the listed messages, in order. */
export function texts(page: Page): Promise<string[]> {
  return page.$$eval(
    "#messages .text",
    (elements) => elements.map((element) => element.textContent ?? ""),
  );
}

/** The sender names of the listed messages, in order. */
export function names(page: Page): Promise<string[]> {
  return page.$$eval(
    "#messages .name",
    (elements) => elements.map((element) => element.textContent ?? ""),
  );
}

/** The notices in the message list, in order. */
export function notices(page: Page): Promise<string[]> {
  return page.$$eval(
    "#messages .notice",
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
