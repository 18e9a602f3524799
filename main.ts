/**
 * roomcast entry point. `deno task dev` runs one isolate (which has no bus to
 * post to: `BUS` counts as `none`); `deno task start` passes `--parallel` to
 * run one isolate per core on the same port. SIGINT and SIGTERM drain every
 * client with a retryable close (1012) first.
 *
 * A startup failure (bad setting, port in use, unresolvable host, database
 * held by another process) is one error line naming the cause and the fix,
 * then exit code 2. `deno task dev` passes `--watch` (it runs under
 * `deno run --watch`, whose watcher would otherwise wait for a file change
 * that cannot fix the environment): the failure stops the watcher too, with
 * SIGTERM (exit code 143).
 *
 * @module
 */

import { parseConfig } from "./lib/support/config.ts";
import { createLogger } from "./lib/support/log.ts";
import { startServer } from "./lib/server/server.ts";
import { startWorkers } from "./lib/server/supervisor.ts";
import { explainStartupError, probeListen } from "./lib/server/startup.ts";

/** Logs `line` as the one error line of a failed start, then exits. */
function fail(line: string, watched: boolean): never {
  createLogger().error(line);
  // Under `deno run --watch`, Deno.exit ends only this run: end the watcher.
  if (watched) Deno.kill(Deno.pid, "SIGTERM");
  Deno.exit(2);
}

/** Starts the service as configured by the environment and `args`. */
export async function main(args: string[]): Promise<void> {
  const parallel = args.includes("--parallel");
  const dev = args.includes("--dev");
  const watched = args.includes("--watch");
  let config;
  try {
    config = parseConfig(Deno.env, {
      defaultWorkers: parallel ? 0 : 1,
      dev,
    });
  } catch (error) {
    fail(
      `Bad configuration: ${
        error instanceof Error ? error.message : String(error)
      }`,
      watched,
    );
  }
  const log = createLogger({ level: config.logLevel });
  const hasKey = config.authSecret !== "" || config.authPublicKey !== "";
  if (!hasKey && !config.allowAnonymous) {
    fail(
      "Refusing to start without AUTH_SECRET or AUTH_PUBLIC_KEY: set one, or ALLOW_ANONYMOUS=1 to accept anyone",
      watched,
    );
  }
  const target = { host: config.host, port: config.port };
  try {
    // Port in use or a bad HOST: say so now, not after opening the database.
    probeListen(target);
  } catch (error) {
    fail(`Cannot start: ${explainStartupError(error, target)}`, watched);
  }
  if (dev && config.authSecret === "") {
    // The demo's POST /token needs a secret: an ephemeral one will do.
    config = {
      ...config,
      authSecret: crypto.randomUUID() + crypto.randomUUID(),
    };
    Deno.env.set("AUTH_SECRET", config.authSecret);
  }
  if (config.allowAnonymous) {
    log.warn(
      "Anonymous clients are accepted (ALLOW_ANONYMOUS or dev mode): anyone can join any room",
    );
  }
  const count = config.workers === 0
    ? navigator.hardwareConcurrency
    : config.workers;

  let stop: () => Promise<void>;
  let port: number;
  try {
    if (count > 1) {
      const env = Deno.env.toObject();
      const group = await startWorkers({ env, count, log });
      stop = group.shutdown;
      port = group.port;
    } else {
      // One isolate has nobody to reach over BroadcastChannel: posting every
      // publish there would cost a clone per message for no listener.
      const server = await startServer({ ...config, bus: "none" }, { log });
      stop = () => server.shutdown();
      port = server.addr.port;
    }
  } catch (error) {
    fail(`Cannot start: ${explainStartupError(error, target)}`, watched);
  }
  const host = config.host === "0.0.0.0" ? "localhost" : config.host;
  log.info(`Listening on http://${host}:${port}/`, {
    port,
    isolates: count,
  });

  let stopping = false;
  const listeners = {
    SIGINT: () => onSignal("SIGINT"),
    SIGTERM: () => onSignal("SIGTERM"),
  };
  const onSignal = async (signal: "SIGINT" | "SIGTERM") => {
    if (stopping) return;
    stopping = true;
    log.info("Shutting down: closing clients with 1012", { signal });
    await stop();
    log.info("Stopped");
    if (watched) {
      // Under `deno run --watch` Deno.exit ends only this run: stop the
      // watcher too, with the signal's default action.
      Deno.removeSignalListener("SIGINT", listeners.SIGINT);
      Deno.removeSignalListener("SIGTERM", listeners.SIGTERM);
      Deno.kill(Deno.pid, signal);
    }
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", listeners.SIGINT);
  Deno.addSignalListener("SIGTERM", listeners.SIGTERM);
}

if (import.meta.main) await main(Deno.args);
