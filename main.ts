/**
 * roomcast entry point. `deno task dev` runs one isolate; `deno task start`
 * passes `--parallel` to run one isolate per core on the same port. SIGINT
 * and SIGTERM drain every client with a retryable close (1012) first.
 *
 * @module
 */

import { parseConfig } from "./lib/support/config.ts";
import { createLogger } from "./lib/support/log.ts";
import { startServer } from "./lib/server/server.ts";
import { startWorkers } from "./lib/server/supervisor.ts";

/** Starts the service as configured by the environment and `args`. */
export async function main(args: string[]): Promise<void> {
  const parallel = args.includes("--parallel");
  const dev = args.includes("--dev");
  let config;
  try {
    config = parseConfig(Deno.env, {
      defaultWorkers: parallel ? 0 : 1,
      dev,
    });
  } catch (error) {
    createLogger().error("Bad configuration", {
      error: error instanceof Error ? error.message : String(error),
    });
    Deno.exit(2);
  }
  const log = createLogger({ level: config.logLevel });
  const hasKey = config.authSecret !== "" || config.authPublicKey !== "";
  if (!hasKey && !config.allowAnonymous) {
    log.error(
      "Refusing to start without AUTH_SECRET or AUTH_PUBLIC_KEY: set one, or ALLOW_ANONYMOUS=1 to accept anyone",
    );
    Deno.exit(2);
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
  if (count > 1) {
    const env = Deno.env.toObject();
    const group = await startWorkers({ env, count, log }).catch((error) => {
      log.error("Cannot start", { error: String(error) });
      Deno.exit(2);
    });
    stop = group.shutdown;
    port = group.port;
  } else {
    const server = await startServer(config, { log });
    stop = () => server.shutdown();
    port = server.addr.port;
  }
  const host = config.host === "0.0.0.0" ? "localhost" : config.host;
  log.info(`Listening on http://${host}:${port}/`, {
    port,
    isolates: count,
  });

  let stopping = false;
  const onSignal = async (signal: Deno.Signal) => {
    if (stopping) return;
    stopping = true;
    log.info("Shutting down: closing clients with 1012", { signal });
    await stop();
    log.info("Stopped");
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
}

if (import.meta.main) await main(Deno.args);
