/**
 * What every probe in this folder shares: the `--repo DIR` option, a server
 * started from that checkout's `main.ts` on 127.0.0.1 port 0, a plain
 * WebSocket client that counts what it receives, HS256 tokens minted with
 * `hono/jwt` and one JSON line of results. Probes treat the server as a
 * black box (HTTP, WebSocket, its process and its files), so the same probe
 * runs against an older checkout:
 *
 *     git worktree add --detach /tmp/old cb2ff7b
 *     deno run --allow-all tests/probes/long_token.ts --repo /tmp/old
 *
 * @module
 */

import { sign } from "hono/jwt";
import { join, resolve } from "node:path";
import { SETTINGS } from "../../lib/support/settings.ts";
import { type Spawned, spawnServer } from "../_support/process.ts";

export { rssMb } from "../_support/process.ts";

/** This repository's root. */
const HERE: string = resolve(new URL("../..", import.meta.url).pathname);

/** Parsed command line of a probe. */
export interface ProbeArgs {
  /** The checkout under test (`--repo DIR`). @default {this repository} */
  repo: string;
  /** Arguments that are not options, in order. */
  positional: string[];
  /** Options without a value (`--parallel`), without their dashes. */
  flags: Set<string>;
}

/** Parses `args`: `--repo DIR` (or `--repo=DIR`), other `--flag`s, positionals. */
export function probeArgs(args: string[] = Deno.args): ProbeArgs {
  let repo = HERE;
  const positional: string[] = [];
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--repo") {
      const dir = args[++i];
      if (dir === undefined) throw new TypeError("Missing DIR after --repo");
      repo = resolve(dir);
    } else if (arg.startsWith("--repo=")) {
      repo = resolve(arg.slice("--repo=".length));
    } else if (arg.startsWith("--")) {
      flags.add(arg.slice(2));
    } else {
      positional.push(arg);
    }
  }
  return { repo, positional, flags };
}

/** Positional argument `index` as a number, or `fallback`. */
export function numberArg(
  args: ProbeArgs,
  index: number,
  fallback: number,
): number {
  const text = args.positional[index];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    throw new TypeError(`Bad number: "${text}"`);
  }
  return value;
}

/**
 * Starts `repo`'s `main.ts` on 127.0.0.1 port 0 with the test settings
 * (anonymous clients, high rate limits) but the shipped write-behind bounds,
 * and `env` over them; resolves once
 * it answers `/readyz`. The probe's own `SERVER_V8_FLAGS`, when set, become
 * the server's `DENO_V8_FLAGS` (e.g. `--max-old-space-size=200`). Dispose
 * to SIGKILL it and remove its temp dir.
 */
export function startServer(
  repo: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<Spawned> {
  const v8Flags = Deno.env.get("SERVER_V8_FLAGS");
  return spawnServer(
    {
      // Probes measure the shipped write-behind bounds, which the test
      // settings lift for delivery suites.
      HISTORY_MAX_LAG_MS: String(SETTINGS.historyMaxLagMs.default),
      HISTORY_BACKLOG_BYTES: String(SETTINGS.historyBacklogBytes.default),
      ...(v8Flags ? { DENO_V8_FLAGS: v8Flags } : {}),
      ...env,
    },
    args,
    { main: join(repo, "main.ts") },
  );
}

/** An HS256 token for `sub` valid `seconds` from now, with `extra` claims. */
export function token(
  secret: string,
  sub: string,
  seconds: number,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + seconds;
  return sign({ sub, exp, ...extra }, secret, "HS256");
}

/** A temporary directory, removed with everything in it on dispose. */
export interface TempDir extends AsyncDisposable {
  path: string;
}

/** Makes a {@linkcode TempDir}. */
export async function tempDir(): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix: "roomcast-probe-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

/** Prints the probe's results as one JSON line. */
export function report(results: Record<string, unknown>): void {
  // deno-lint-ignore no-console
  console.log(JSON.stringify(results));
}

/** Resolves after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A received frame, parsed. */
export type Frame = Record<string, unknown>;

/** How a {@linkcode ProbeSocket} ended. */
export interface Closed {
  code: number;
  /** Milliseconds from open to close. */
  ms: number;
}

/**
 * A browser-style `WebSocket` that counts the bytes it receives and queues
 * the JSON frames until {@linkcode ProbeSocket.next} takes them (set `keep`
 * to false for a member whose frames are only counted).
 */
export class ProbeSocket implements AsyncDisposable {
  readonly socket: WebSocket;
  /** UTF-8 bytes of every text frame received. */
  bytes = 0;
  /** Whether frames are queued for {@linkcode ProbeSocket.next}. */
  keep = true;
  /** Resolves when the connection ends. */
  readonly closed: Promise<Closed>;
  readonly #queue: Frame[] = [];
  #wake: () => void = () => {};
  #ended = false;

  private constructor(socket: WebSocket, opened: number) {
    this.socket = socket;
    const encoder = new TextEncoder();
    socket.addEventListener("message", (event) => {
      const text = String(event.data);
      this.bytes += encoder.encode(text).byteLength;
      if (!this.keep) return;
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null) {
        this.#queue.push({ ...parsed });
        this.#wake();
      }
    });
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (event) => {
        this.#ended = true;
        this.#wake();
        resolve({
          code: event.code,
          ms: Math.round(performance.now() - opened),
        });
      });
    });
  }

  /** Opens `url` offering `protocols`; rejects when the upgrade fails. */
  static open(
    url: string,
    protocols: string[] = ["roomcast.v1"],
  ): Promise<ProbeSocket> {
    const socket = new WebSocket(url, protocols);
    const probe = new ProbeSocket(socket, performance.now());
    return new Promise((resolve, reject) => {
      socket.addEventListener("open", () => resolve(probe), { once: true });
      socket.addEventListener(
        "error",
        () => reject(new Error(`Cannot open ${url}`)),
        { once: true },
      );
    });
  }

  /** Sends `message` (JSON unless already a string). */
  send(message: unknown): void {
    this.socket.send(
      typeof message === "string" ? message : JSON.stringify(message),
    );
  }

  /**
   * The next queued frame of `type` (or of one of the types), skipping
   * others.
   *
   * @throws {Error} when the connection ends or `timeoutMs` passes first.
   */
  async next(type: string | string[], timeoutMs = 10_000): Promise<Frame> {
    const types = typeof type === "string" ? [type] : type;
    const deadline = performance.now() + timeoutMs;
    while (true) {
      const frame = this.#queue.shift();
      if (frame !== undefined) {
        if (types.includes(String(frame.type))) return frame;
        continue;
      }
      if (this.#ended) throw new Error(`Closed while waiting for "${type}"`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`No "${type}" within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Closes the connection and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close();
    await this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
