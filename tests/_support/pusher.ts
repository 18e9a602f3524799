/**
 * Test helpers for the Pusher protocol: a server with a Pusher app, the
 * unmodified `pusher-js` client connected to it, the `pusher` server SDK
 * pointed at it, and a raw Pusher WebSocket client for bad input.
 *
 * @module
 */

import PusherJs from "npm:pusher-js@^8.6.0";
import PusherServer from "npm:pusher@^5.3.4";
import {
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from "./harness.ts";

/**
 * The pusher-js class. The package is CommonJS (`module.exports = Pusher`)
 * while its types say `export default`, so Deno types the default import as
 * the module: this names the class the runtime actually hands over.
 */
const Pusher = PusherJs as unknown as typeof PusherJs.default;

/** The app every Pusher test server serves (client events enabled). */
export const APP = {
  id: "42",
  key: "test-key",
  secret: "test-secret",
} as const;

/** `PUSHER_APPS` for {@linkcode APP}, with overrides of its limits. */
export function pusherEnv(
  limits: Record<string, number | boolean> = {},
): Record<string, string> {
  return {
    PUSHER_APPS: JSON.stringify([{
      ...APP,
      enable_client_messages: true,
      ...limits,
    }]),
  };
}

/** Starts a test server serving {@linkcode APP}. */
export function startPusherServer(
  options: TestServerOptions = {},
): Promise<TestServer> {
  return startTestServer({
    ...options,
    env: { ...pusherEnv(), ...options.env },
  });
}

/** The master key of encrypted channels in the tests (32 bytes, base64). */
export const MASTER_KEY = btoa("0123456789abcdef0123456789abcdef");

/**
 * The `pusher` server SDK, signing for {@linkcode APP}, against `server`
 * (with {@linkcode MASTER_KEY} for `private-encrypted-` channels).
 */
export function serverSdk(
  server: { addr: Deno.NetAddr } | { port: number },
  secret: string = APP.secret,
): PusherServer {
  return new PusherServer({
    appId: APP.id,
    key: APP.key,
    secret,
    host: "127.0.0.1",
    port: String("addr" in server ? server.addr.port : server.port),
    useTLS: false,
    encryptionMasterKeyBase64: MASTER_KEY,
  });
}

/** A pusher-js client; `disconnect()` it when done. */
export type PusherClient = InstanceType<typeof PusherJs.default>;

/**
 * Connects pusher-js to `server` and waits for `connected`. Private and
 * presence channels are authorised by signing with the server SDK, as an
 * app's auth endpoint would (`user` is the presence member and the user
 * `signin()` signs in).
 */
export async function connectPusher(
  server: { addr: Deno.NetAddr } | { port: number },
  user: { id: string; info?: Record<string, string> } = { id: "u1" },
  key: string = APP.key,
): Promise<PusherClient> {
  const sdk = serverSdk(server);
  const client = new Pusher(key, {
    cluster: "",
    wsHost: "127.0.0.1",
    wsPort: "addr" in server ? server.addr.port : server.port,
    forceTLS: false,
    enabledTransports: ["ws"],
    disableStats: true,
    channelAuthorization: {
      endpoint: "/unused",
      transport: "ajax",
      customHandler: (params, callback) => {
        const presence = params.channelName.startsWith("presence-")
          ? { user_id: user.id, user_info: user.info ?? {} }
          : undefined;
        callback(
          null,
          sdk.authorizeChannel(params.socketId, params.channelName, presence),
        );
      },
    },
    userAuthentication: {
      endpoint: "/unused",
      transport: "ajax",
      customHandler: (params, callback) => {
        const data = { id: user.id, "user_info": user.info ?? {} };
        callback(null, sdk.authenticateUser(params.socketId, data));
      },
    },
  });
  await new Promise<void>((resolve, reject) => {
    client.connection.bind("connected", () => resolve());
    client.connection.bind(
      "failed",
      () => reject(new Error("pusher-js failed")),
    );
    client.connection.bind(
      "unavailable",
      () => reject(new Error("pusher-js unavailable")),
    );
  });
  return client;
}

/** Resolves when `channel` of `client` has subscribed. */
export function subscribed(
  client: PusherClient,
  name: string,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const channel = client.subscribe(name);
    channel.bind(
      "pusher:subscription_succeeded",
      (data: unknown) => resolve(data),
    );
    channel.bind(
      "pusher:subscription_error",
      (error: unknown) =>
        reject(
          new Error(`Subscription to ${name} failed: ${JSON.stringify(error)}`),
        ),
    );
  });
}

/** Collects the events `name` on a channel of `client`, in order. */
export class EventLog<T = unknown> {
  readonly events: T[] = [];
  #waiters: Array<() => void> = [];

  /** Binds `event` on `channel` of `client`. */
  constructor(client: PusherClient, channel: string, event: string) {
    client.channel(channel)?.bind(event, (data: T) => {
      this.events.push(data);
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** Resolves once `count` events arrived (rejects after `timeoutMs`, a safety net). */
  async waitFor(count: number, timeoutMs = 10_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`Timed out: ${this.events.length} of ${count} events`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events.slice(0, count);
  }
}

/** A raw Pusher protocol socket: frames decoded (data parsed), awaited in order. */
export class RawPusher implements AsyncDisposable {
  readonly socket: WebSocket;
  readonly frames: Array<
    { event: string; channel?: string; data: unknown; user_id?: string }
  > = [];
  /** Every frame received, never consumed. */
  readonly all: RawPusher["frames"] = [];
  readonly closed: Promise<CloseEvent>;
  socketId = "";
  #waiters: Array<() => void> = [];

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.onmessage = (event: MessageEvent<unknown>) => {
      if (typeof event.data !== "string") return;
      const frame = JSON.parse(event.data);
      if (typeof frame.data === "string") {
        try {
          frame.data = JSON.parse(frame.data);
        } catch {
          // A plain string, as pusher-js keeps it.
        }
      }
      this.frames.push(frame);
      this.all.push(frame);
      for (const wake of this.#waiters.splice(0)) wake();
    };
    this.closed = new Promise((resolve) =>
      socket.addEventListener("close", (event) => {
        resolve(event);
        for (const wake of this.#waiters.splice(0)) wake();
      })
    );
  }

  /** Opens `/app/<key>?<query>`; with `established`, waits for the handshake. */
  static async open(
    server: { addr: Deno.NetAddr },
    options: { key?: string; query?: string; established?: boolean } = {},
  ): Promise<RawPusher> {
    const query = options.query ?? "protocol=7&client=js&version=8.6.0";
    const socket = new WebSocket(
      `ws://127.0.0.1:${server.addr.port}/app/${
        options.key ?? APP.key
      }?${query}`,
    );
    const raw = new RawPusher(socket);
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve, { once: true });
      socket.addEventListener(
        "error",
        () => reject(new Error("Could not connect")),
        { once: true },
      );
    });
    if (options.established ?? true) {
      const hello = await raw.next("pusher:connection_established");
      const data = hello.data;
      if (typeof data === "object" && data !== null && "socket_id" in data) {
        raw.socketId = String(data.socket_id);
      }
    }
    return raw;
  }

  /** Sends a frame (objects JSON-encoded). */
  send(frame: unknown): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The next frame with `event` (frames before it are skipped and dropped). */
  async next(event: string): Promise<RawPusher["frames"][number]> {
    const deadline = Date.now() + 10_000;
    while (true) {
      const index = this.frames.findIndex((f) => f.event === event);
      if (index >= 0) return this.frames.splice(0, index + 1).at(-1)!;
      if (this.socket.readyState >= WebSocket.CLOSING) {
        throw new Error(`Closed while waiting for ${event}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${event}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Subscribes and waits for the answer (succeeded or error). */
  async subscribe(
    data: Record<string, string>,
  ): Promise<RawPusher["frames"][number]> {
    this.send({ event: "pusher:subscribe", data });
    const deadline = Date.now() + 10_000;
    while (true) {
      const index = this.frames.findIndex((f) =>
        f.channel === data.channel &&
        (f.event === "pusher_internal:subscription_succeeded" ||
          f.event === "pusher:subscription_error")
      );
      if (index >= 0) return this.frames.splice(index, 1)[0]!;
      if (this.socket.readyState >= WebSocket.CLOSING) {
        throw new Error("Closed while subscribing");
      }
      if (Date.now() > deadline) throw new Error("Timed out subscribing");
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close();
    await this.closed;
  }
}

/**
 * Signs `client` in (`pusher:signin`) and waits until its
 * `#server-to-user-<id>` channel has subscribed (rejects after 10 s).
 */
export async function signIn(client: PusherClient): Promise<void> {
  client.signin();
  const deadline = Date.now() + 10_000;
  while (client.user.serverToUserChannel?.subscribed !== true) {
    if (Date.now() > deadline) throw new Error("Sign-in timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
