/**
 * Entry of each Worker when `main.ts --parallel` runs several isolates on one
 * port. The supervisor sends `start` with the port; the Worker answers
 * `listening`, and on `drain` closes its clients and answers `drained`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { parseConfig } from "../support/config.ts";
import { RemoteLog } from "../room_log/remote.ts";
import { type RunningServer, startServer } from "./server.ts";

let server: RunningServer | undefined;

self.onmessage = async (event: MessageEvent<unknown>) => {
  const command = parseCommand(event.data);
  if (command === undefined) return;
  if (command.type === "start") {
    const env = new Map(Object.entries(command.env));
    const config = { ...parseConfig(env), port: command.port };
    server = await startServer(config, {
      reusePort: true,
      // The supervisor's room log, when it owns one.
      ...(command.log ? { history: new RemoteLog(command.log) } : {}),
      // The supervisor's Redis subscriber, on the Redis engine.
      ...(command.subs ? { redisSubscriptions: command.subs } : {}),
    });
    self.postMessage({
      type: "listening",
      port: server.addr.port,
      node: server.bus.nodeId,
    });
  } else {
    await server?.shutdown();
    self.postMessage({ type: "drained" });
  }
};

type Command =
  | {
    type: "start";
    port: number;
    env: Record<string, string>;
    log: MessagePort | undefined;
    subs: MessagePort | undefined;
  }
  | { type: "drain" };

function parseCommand(data: unknown): Command | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const type: unknown = Reflect.get(data, "type");
  if (type === "drain") return { type };
  const port: unknown = Reflect.get(data, "port");
  const env = stringRecord(Reflect.get(data, "env"));
  const log: unknown = Reflect.get(data, "log");
  const subs: unknown = Reflect.get(data, "subs");
  if (type === "start" && typeof port === "number" && env !== undefined) {
    return {
      type,
      port,
      env,
      log: log instanceof MessagePort ? log : undefined,
      subs: subs instanceof MessagePort ? subs : undefined,
    };
  }
  return undefined;
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") return undefined;
    record[key] = item;
  }
  return record;
}
