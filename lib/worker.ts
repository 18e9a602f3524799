/**
 * Entry of each Worker when `main.ts --parallel` runs several isolates on one
 * port. The supervisor sends `start` with the port; the Worker answers
 * `listening`, and on `drain` closes its clients and answers `drained`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { parseConfig } from "./config.ts";
import { type RunningServer, startServer } from "./server.ts";

let server: RunningServer | undefined;

self.onmessage = async (event: MessageEvent<unknown>) => {
  const command = parseCommand(event.data);
  if (command === undefined) return;
  if (command.type === "start") {
    const config = { ...parseConfig(Deno.env), port: command.port };
    server = await startServer(config, {
      reusePort: true,
      epoch: command.epoch,
    });
    self.postMessage({ type: "listening", port: server.addr.port });
  } else {
    await server?.shutdown();
    self.postMessage({ type: "drained" });
  }
};

type Command = { type: "start"; port: number; epoch: string } | {
  type: "drain";
};

function parseCommand(data: unknown): Command | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const type: unknown = Reflect.get(data, "type");
  if (type === "drain") return { type };
  const port: unknown = Reflect.get(data, "port");
  const epoch: unknown = Reflect.get(data, "epoch");
  if (
    type === "start" && typeof port === "number" && typeof epoch === "string"
  ) {
    return { type, port, epoch };
  }
  return undefined;
}
