/**
 * Test helpers: a real server on 127.0.0.1 port 0 and a WebSocket client
 * that awaits frames by type (no sleeps).
 *
 * @module
 */

import type { BusTransport } from "../../lib/bus/bus.ts";
import type { RoomLog } from "../../lib/room_log/room_log.ts";
import { type Config, parseConfig } from "../../lib/support/config.ts";
import {
  type LogFields,
  type Logger,
  silentLogger,
} from "../../lib/support/log.ts";
import { type ServerMessage, SUBPROTOCOL } from "../../lib/protocol/mod.ts";
import { type RunningServer, startServer } from "../../lib/server/server.ts";
import { startWorkers, type WorkerGroup } from "../../lib/server/supervisor.ts";

/**
 * Settings every test server starts with: anonymous clients, and limits high
 * enough that suites which flood on purpose are not cut by rate limits (the
 * limits have their own tests, which set them low).
 */
export const TEST_ENV: Readonly<Record<string, string>> = {
  HOST: "127.0.0.1",
  ALLOW_ANONYMOUS: "1",
  RATE_LIMIT_PER_S: "1000000",
  RATE_LIMIT_BURST: "1000000",
  MAX_UPGRADES_PER_S_PER_IP: "100000",
  MAX_CONNECTIONS_PER_IP: "100000",
  // Bursts on a loaded 2-core machine can lag the write-behind flush past
  // its default 250 ms: suites about delivery must not be refused for it
  // (the backlog bounds have their own tests, which set them low).
  HISTORY_MAX_LAG_MS: "60000",
  HISTORY_BACKLOG_BYTES: "1073741824",
  LOG_LEVEL: "error",
};

/** A server started for one test, stopped by `await using`. */
export interface TestServer extends RunningServer, AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `ws://127.0.0.1:<port>/ws` */
  wsUrl: string;
}

/** Options for {@linkcode startTestServer}. */
export interface TestServerOptions {
  /** Environment variables, as a user would set them. */
  env?: Record<string, string>;
  /** Bus transport (defaults to an isolated one: no other test sees it). */
  transport?: BusTransport;
  /** A room log shared by several servers standing in for isolates of one process. */
  history?: RoomLog;
  /** Where log lines go. @default {nowhere} */
  log?: Logger;
}

/** Starts a real server on 127.0.0.1, port 0. */
export async function startTestServer(
  options: TestServerOptions = {},
): Promise<TestServer> {
  const config: Config = parseConfig(
    new Map(Object.entries({
      ...TEST_ENV,
      PORT: "0",
      BUS: "none",
      HISTORY: "memory",
      SHUTDOWN_TIMEOUT_MS: "1000",
      ...options.env,
    })),
  );
  const server = await startServer(config, {
    log: options.log ?? silentLogger,
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.history ? { history: options.history } : {}),
  });
  // An engine that connects in the background (Redis) refuses upgrades
  // until it is ready: wait for it, as a load balancer polling /readyz would.
  const deadline = Date.now() + 10_000;
  while (!server.ready() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    ...server,
    url,
    wsUrl: `ws://127.0.0.1:${server.addr.port}/ws`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** A WebSocket that queues server messages so tests can await them in order. */
export class TestClient implements AsyncDisposable {
  readonly socket: WebSocket;
  readonly #queue: ServerMessage[] = [];
  /** Presence events travel beside the stream: kept apart so `next()` on other types is not disturbed. */
  readonly #presence: ServerMessage[] = [];
  readonly #waiters: Array<() => void> = [];
  /** Resolves with the close event once the socket closes. */
  readonly closed: Promise<CloseEvent>;
  /** The connection id from `welcome` (set by {@linkcode TestClient.open}). */
  connectionId = "";
  /** The presence member id from `welcome`. */
  memberId = "";
  /** Text frames received (a batch frame counts once). */
  frames = 0;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.onmessage = (event: MessageEvent<unknown>) => {
      if (typeof event.data !== "string") return;
      this.frames += 1;
      const parsed: unknown = JSON.parse(event.data);
      // A batch frame (roomcast.v1.batch) carries several messages.
      const messages: ServerMessage[] = Array.isArray(parsed)
        ? parsed
        : [parsed as ServerMessage];
      for (const message of messages) {
        (message.type === "presence" ? this.#presence : this.#queue).push(
          message,
        );
      }
      for (const wake of this.#waiters.splice(0)) wake();
    };
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (event) => {
        resolve(event);
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  /** Opens a socket to `url` and waits for `welcome`. */
  static async open(
    url: string,
    protocols: string[] = [SUBPROTOCOL],
  ): Promise<TestClient> {
    const socket = new WebSocket(url, protocols);
    const client = new TestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener(
        "error",
        () => reject(new Error(`Could not connect to ${url}`)),
        { once: true },
      );
    });
    const welcome = await client.next("welcome");
    client.connectionId = welcome.connectionId;
    client.memberId = welcome.memberId;
    return client;
  }

  /** Sends a message (objects are JSON-encoded, strings sent as they are). */
  send(message: unknown): void {
    this.socket.send(
      typeof message === "string" ? message : JSON.stringify(message),
    );
  }

  /**
   * Resolves with the next queued message of `type`, skipping others of a
   * different type only if `skip` is set. Rejects if the socket closes first
   * or after `timeoutMs` (a safety net: tests never rely on it for timing).
   */
  async next<T extends ServerMessage["type"]>(
    type: T,
    options: { skip?: boolean; timeoutMs?: number } = {},
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    const queue = type === "presence" ? this.#presence : this.#queue;
    while (true) {
      while (queue.length > 0) {
        const message = queue.shift()!;
        if (message.type === type) {
          return message as Extract<ServerMessage, { type: T }>;
        }
        if (!options.skip) {
          throw new Error(
            `Expected "${type}", got ${JSON.stringify(message)}`,
          );
        }
      }
      if (this.socket.readyState >= WebSocket.CLOSING) {
        throw new Error(`Socket closed while waiting for "${type}"`);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`Timed out waiting for "${type}"`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Joins `room` and waits for `joined`. */
  async join(
    room: string,
  ): Promise<Extract<ServerMessage, { type: "joined" }>> {
    this.send({ type: "join", room });
    return await this.next("joined");
  }

  /** Presence events received but not consumed yet (and consumes them). */
  pendingPresence(): Extract<ServerMessage, { type: "presence" }>[] {
    const events: Extract<ServerMessage, { type: "presence" }>[] = [];
    for (const m of this.#presence.splice(0)) {
      if (m.type === "presence") events.push(m);
    }
    return events;
  }

  /** Messages received but not consumed yet. */
  get pending(): readonly ServerMessage[] {
    return this.#queue;
  }

  /** Closes the socket and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close();
    await this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Prints a test's measured figures (sent, received, lost…) into the test output. */
export function report(line: string): void {
  // deno-lint-ignore no-console
  console.log(line);
}

/** The isolate serving a client: the node part of its connection id (`<node>-<n>`). */
export function nodeOf(client: TestClient): string {
  return client.connectionId.split("-")[0] ?? "";
}

/**
 * Opens clients to `url` until each of `isolates` isolates serves at least
 * `perIsolate` of them (the kernel spreads SO_REUSEPORT connections by hash).
 * Returns them by node, in opening order. `user(i)` names the i-th client's
 * presence member.
 */
export async function openAcrossIsolates(
  url: string,
  options: {
    perIsolate: number;
    isolates?: number;
    user?: (i: number) => string;
  },
): Promise<Map<string, TestClient[]>> {
  const isolates = options.isolates ?? 2;
  const byNode = new Map<string, TestClient[]>();
  const enough = () =>
    [...byNode.values()].filter((c) => c.length >= options.perIsolate)
      .length >= isolates;
  for (let i = 0; !enough(); i++) {
    if (i >= 100) throw new Error("Connections never spread over the isolates");
    const target = options.user ? `${url}?user=${options.user(i)}` : url;
    const client = await TestClient.open(target);
    byNode.set(nodeOf(client), [...(byNode.get(nodeOf(client)) ?? []), client]);
  }
  return byNode;
}

/** A group of Workers on one port for one test; `await using` drains it and removes its KV file. */
export interface TestWorkers extends AsyncDisposable {
  group: WorkerGroup;
  wsUrl: string;
  /** Drains every Worker (clients get 1012); idempotent. */
  shutdown(): Promise<void>;
}

/** Starts `count` Workers sharing a fresh KV file and BroadcastChannel, with {@linkcode TEST_ENV}. */
export async function startTestWorkers(
  env: Record<string, string> = {},
  count = 2,
): Promise<TestWorkers> {
  const dir = await Deno.makeTempDir();
  const group = await startWorkers({
    env: {
      ...TEST_ENV,
      PORT: "0",
      KV_PATH: `${dir}/roomcast.kv`,
      BUS_CHANNEL: `test-${crypto.randomUUID()}`,
      ...env,
    },
    count,
    log: silentLogger,
  });
  let stopping: Promise<void> | undefined;
  const shutdown = () => (stopping ??= group.shutdown());
  return {
    group,
    wsUrl: `ws://127.0.0.1:${group.port}/ws`,
    shutdown,
    async [Symbol.asyncDispose]() {
      await shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A logger that keeps every line as the JSON logger would write it (tests of what gets logged). */
export function captureLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string, fields?: LogFields) => {
    lines.push(JSON.stringify({ level, msg, ...fields }));
  };
  return {
    lines,
    log: {
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
    },
  };
}
