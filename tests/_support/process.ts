/**
 * The real entry point in its own process, for tests that need what a user
 * would run: signals, isolates, or the server's own memory figures.
 *
 * @module
 */

import { dirname } from "node:path";
import { TEST_ENV } from "./harness.ts";

/** Path of `main.ts`. */
export const MAIN: string = new URL("../../main.ts", import.meta.url).pathname;

/** A `main.ts` process started by {@linkcode spawnServer}. */
export interface Spawned extends AsyncDisposable {
  port: number;
  /** `ws://127.0.0.1:<port>/ws` */
  wsUrl: string;
  process: Deno.ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output: () => string;
  /** Resolves once stdout and stderr are closed (the process exited). */
  outputDone: Promise<unknown>;
}

/** Options of {@linkcode spawnServer}. */
export interface SpawnOptions {
  /**
   * The entry point to run, e.g. another checkout's `main.ts` (it runs in
   * that file's folder, so its own `deno.json` applies).
   * @default {MAIN}
   */
  main?: string;
}

/**
 * Starts `main.ts` (the one entry point, as a user runs it) with the test
 * settings and `env` over them, waits for its "Listening" log line, then for
 * `/readyz` (an engine such as Redis connects in the background), as a load
 * balancer would.
 */
export async function spawnServer(
  env: Record<string, string>,
  args: string[] = [],
  options: SpawnOptions = {},
): Promise<Spawned> {
  const main = options.main ?? MAIN;
  const dir = await Deno.makeTempDir();
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", main, ...args],
    cwd: dirname(main),
    env: {
      PORT: "0",
      HOST: "127.0.0.1",
      KV_PATH: `${dir}/roomcast.kv`,
      BUS_CHANNEL: `test-${crypto.randomUUID()}`,
      ...TEST_ENV,
      LOG_LEVEL: "info", // the test reads the "Listening" line
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  let onLine: () => void = () => {};
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk);
      onLine();
    }
  };
  const pumps = Promise.all([pump(process.stdout), pump(process.stderr)]);
  const port = await new Promise<number>((resolve, reject) => {
    onLine = () => {
      const match = text.match(/"msg":"Listening on [^"]*","port":(\d+)/);
      if (match) resolve(Number(match[1]));
    };
    process.status.then((s) =>
      reject(new Error(`main.ts exited with ${s.code}:\n${text}`))
    );
  });
  const spawned: Spawned = {
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    process,
    output: () => text,
    outputDone: pumps,
    async [Symbol.asyncDispose]() {
      try {
        process.kill("SIGKILL");
      } catch {
        // Already exited.
      }
      await process.status;
      await pumps;
      await Deno.remove(dir, { recursive: true });
    },
  };
  try {
    await untilReady(port, () => text);
  } catch (error) {
    await spawned[Symbol.asyncDispose]();
    throw error;
  }
  return spawned;
}

/** Polls `/readyz` every 10 ms until it answers 200; throws after 30 s. */
async function untilReady(port: number, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (true) {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    await response.body?.cancel();
    if (response.ok) return;
    if (Date.now() > deadline) {
      throw new Error(`main.ts never became ready:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resident memory of process `pid` in MB (VmRSS from /proc). */
export async function rssMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? NaN);
  return kb / 1024;
}
