/**
 * Helpers of the SDK end-to-end tests: clients whose sockets are recorded
 * and can be awaited until closed, and a wait for one SDK event.
 *
 * @module
 */

import {
  type ClientEvents,
  type ClientOptions,
  createClient,
  type RoomcastClient,
} from "../../lib/client/mod.ts";

/** A socket the SDK opened: what it asked for, and what the server answered. */
export interface OpenedSocket {
  url: string;
  protocols: string[];
  /** The WebSocket itself (its `protocol` is the server's choice). */
  socket: WebSocket;
}

/** Creates clients whose sockets are recorded and can be awaited until fully closed. */
export function tracker(): {
  open(url: string, options?: ClientOptions): RoomcastClient;
  settled(): Promise<void>;
  opened: OpenedSocket[];
} {
  const closed: Promise<unknown>[] = [];
  const opened: OpenedSocket[] = [];
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
      return createClient(url, { WebSocket: TrackedWebSocket, ...options });
    },
    /** Resolves once every socket ever opened has closed. */
    async settled(): Promise<void> {
      await Promise.all(closed);
    },
    opened,
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
