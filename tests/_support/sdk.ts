/**
 * Helpers of the SDK end-to-end tests: clients whose sockets (or SSE
 * streams) are recorded and can be awaited until closed, a wait for one SDK
 * event, and one test per transport.
 *
 * @module
 */

import {
  type ClientEvents,
  type ClientOptions,
  createClient,
  type RoomcastClient,
  type Transport,
} from "../../lib/client/mod.ts";

/** Both transports of the SDK: every SDK suite runs on each. */
export const TRANSPORTS: readonly Transport[] = ["websocket", "sse"];

/** Registers `fn` as one test per transport, named `name (transport)`. */
export function eachTransport(
  name: string,
  fn: (transport: Transport) => Promise<void>,
): void {
  for (const transport of TRANSPORTS) {
    Deno.test(`${name} (${transport})`, () => fn(transport));
  }
}

/** A socket the SDK opened: what it asked for, and what the server answered. */
export interface OpenedSocket {
  url: string;
  protocols: string[];
  /** The WebSocket itself (its `protocol` is the server's choice). */
  socket: WebSocket;
}

/**
 * Creates clients on `transport` (only) whose sockets are recorded and can
 * be awaited until fully closed; over SSE, `streams` records each stream's
 * URL.
 */
export function tracker(transport: Transport = "websocket"): {
  open(url: string, options?: ClientOptions): RoomcastClient;
  settled(): Promise<void>;
  opened: OpenedSocket[];
  streams: URL[];
} {
  const closed: Promise<unknown>[] = [];
  const opened: OpenedSocket[] = [];
  const streams: URL[] = [];
  class TrackedEventSource extends EventSource {
    #closed = Promise.withResolvers<void>();
    constructor(url: string, init?: EventSourceInit) {
      super(url, init);
      streams.push(new URL(url));
      closed.push(this.#closed.promise);
    }
    override close(): void {
      super.close();
      this.#closed.resolve();
    }
  }
  class TrackedWebSocket extends WebSocket {
    constructor(url: string, protocols: string[]) {
      super(url, protocols);
      opened.push({ url, protocols, socket: this });
      closed.push(
        new Promise((resolve) => this.addEventListener("close", resolve)),
      );
    }
  }
  return {
    open(url: string, options: ClientOptions = {}): RoomcastClient {
      return createClient(url, {
        WebSocket: TrackedWebSocket,
        EventSource: TrackedEventSource,
        transports: [transport],
        ...options,
      });
    },
    /** Resolves once every socket ever opened has closed. */
    async settled(): Promise<void> {
      await Promise.all(closed);
    },
    opened,
    streams,
  };
}

/** The next `event` of `client` that satisfies `accept` (5 s at most). */
export function next<K extends keyof ClientEvents>(
  client: RoomcastClient,
  event: K,
  accept: (payload: ClientEvents[K]) => boolean = () => true,
  timeoutMs = 5_000,
): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`Timed out waiting for "${event}"`));
    }, timeoutMs);
    const off = client.on(event, (payload) => {
      if (!accept(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}
