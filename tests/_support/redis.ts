/**
 * Test helpers for the Redis engine: a real `redis-server` on a free
 * loopback port (no persistence), stopped by its PID, and an in-process
 * server on the Redis engine. Server processes are `main.ts` itself
 * (`spawnServer` in `process.ts`).
 *
 * Without `redis-server` the Redis suites are skipped with a loud warning,
 * except under `CI=true`, where they run and fail.
 *
 * @module
 */

import { parseConfig } from "../../lib/support/config.ts";
import { openEngine } from "../../lib/server/engine.ts";
import { silentLogger } from "../../lib/support/log.ts";
import { startTestServer, type TestServer } from "./harness.ts";

/** A redis-server started for a test. */
export interface TestRedis extends AsyncDisposable {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** PID of the current redis-server process. */
  readonly pid: number;
  /** Kills the process (SIGKILL: a crash, nothing saved) and waits for its exit. */
  kill(): Promise<void>;
  /** Starts a new, empty redis-server on the same port. */
  restart(): Promise<void>;
}

let warned = false;

/** The redis-server executable, or undefined when none is installed. */
export function redisServerPath(): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":");
  for (const dir of dirs) {
    try {
      if (Deno.statSync(`${dir}/redis-server`).isFile) {
        return `${dir}/redis-server`;
      }
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

/**
 * Whether the Redis tests of this module must be skipped: redis-server is
 * missing and this is not CI. Prints a loud warning once.
 */
export function skipWithoutRedis(): boolean {
  if (redisServerPath() !== undefined || Deno.env.get("CI") === "true") {
    return false;
  }
  if (!warned) {
    warned = true;
    // deno-lint-ignore no-console
    console.warn(
      "\n*** redis-server not found: Redis engine tests SKIPPED " +
        "(apt-get install redis-server; under CI=true they fail) ***\n",
    );
  }
  return true;
}

/** Options for {@linkcode startRedis}. */
export interface StartRedisOptions {
  /** Port to listen on. @default {a free loopback port} */
  port?: number;
  /** Keep data in this folder (append-only file, fsync on every write). @default {no persistence} */
  persistDir?: string;
}

/** Starts a redis-server; throws when redis-server is not installed. */
export async function startRedis(
  options: StartRedisOptions = {},
): Promise<TestRedis> {
  const { port, persistDir } = options;
  const persistence = persistDir === undefined
    ? ["--appendonly", "no"]
    : ["--appendonly", "yes", "--appendfsync", "always", "--dir", persistDir];
  const path = redisServerPath();
  if (path === undefined) {
    throw new Error(
      "redis-server not found: install it (apt-get install redis-server)",
    );
  }
  for (let attempt = 0;; attempt++) {
    const chosen = port ?? freePort();
    try {
      let child = await spawn(path, chosen, persistence);
      return {
        port: chosen,
        url: `redis://127.0.0.1:${chosen}`,
        get pid() {
          return child.process.pid;
        },
        kill: () => child.stop(),
        async restart() {
          await child.stop();
          child = await spawn(path, chosen, persistence);
        },
        [Symbol.asyncDispose]: () => child.stop(),
      };
    } catch (error) {
      // A free port may be taken meanwhile: retry with another.
      if (port !== undefined || attempt >= 3) throw error;
    }
  }
}

/** A redis-server process started by {@linkcode spawnRedisServer}. */
export interface Child {
  process: Deno.ChildProcess;
  /** Kills it (SIGKILL) and waits for its exit. */
  stop(): Promise<void>;
}

/**
 * Runs redis-server on `port` of 127.0.0.1 with `extra` arguments and
 * resolves once it accepts connections.
 */
export async function spawnRedisServer(
  path: string,
  port: number,
  extra: string[],
): Promise<Child> {
  return await spawn(path, port, extra);
}

/** Runs redis-server and resolves once it accepts connections. */
async function spawn(
  path: string,
  port: number,
  persistence: string[],
): Promise<Child> {
  const process = new Deno.Command(path, {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      ...persistence,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let text = "";
  let onText = () => {};
  const pump = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of process.stdout) {
      text += decoder.decode(chunk, { stream: true });
      onText();
    }
  })();
  const stop = async () => {
    try {
      process.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await process.status;
    await pump;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      onText = () => {
        if (text.includes("Ready to accept connections")) resolve();
      };
      onText();
      // Its last lines (the reason) may still be in the pipe: read them first.
      process.status.then(() => pump).then(() =>
        reject(new Error(`redis-server exited on port ${port}:\n${text}`))
      );
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { process, stop };
}

/** A loopback port nobody listens on (at the time of asking). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Polls `condition` every 10 ms until true; throws after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A test server on the Redis engine (as a separate process would be). */
export async function startRedisNode(
  redisUrl: string,
  env: Record<string, string> = {},
): Promise<TestServer & { ready(): boolean }> {
  const config = parseConfig(
    new Map(Object.entries({ ...env, REDIS_URL: redisUrl })),
  );
  const engine = await openEngine(config, silentLogger);
  // A node that starts before its bus subscription misses the first posts.
  await waitFor(engine.ready, "the Redis engine");
  const server = await startTestServer({
    env,
    history: engine.history,
    ...(engine.transport ? { transport: engine.transport } : {}),
  });
  return {
    ...server,
    ready: engine.ready,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await engine.close();
    },
  };
}
