/**
 * Test helpers for the SDK (internal): a scriptable fake WebSocket and a
 * client wired to it under `node:test` mock timers, so tests drive time and
 * the server side by hand.
 *
 * @module
 */

import { mock } from "node:test";
import { RoomcastClient } from "./client.ts";
import type { ClientEvents, ClientOptions, WebSocketLike } from "./types.ts";

/** A WebSocket whose server side the test plays. */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  /** Frames the client sent, parsed. */
  readonly sent: unknown[] = [];
  /** When each frame of {@linkcode FakeSocket.sent} was sent (`Date.now()`). */
  readonly sentAt: number[] = [];
  /** The code passed to `close()`, once called. */
  closedWith: number | undefined;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  readonly url: string;
  readonly protocols: string[];

  /** Records the constructor arguments. */
  constructor(url: string, protocols: string[]) {
    this.url = url;
    this.protocols = protocols;
  }

  /** Records a frame. */
  send(data: string): void {
    if (this.readyState !== 1) throw new Error("Fake socket is not open");
    this.sent.push(JSON.parse(data));
    this.sentAt.push(Date.now());
  }

  /** Records the close; the handshake never completes (like a dead link). */
  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 2;
  }

  /**
   * Opens the socket and sends `welcome` (with `maxMessageBytes` and
   * `rateLimit` when given; the member id is the connection id).
   */
  welcome(
    heartbeatMs = 25_000,
    connectionId = "c1",
    maxMessageBytes?: number,
    rateLimit?: { perSecond: number; burst: number },
  ): void {
    this.readyState = 1;
    this.receive({
      type: "welcome",
      connectionId,
      heartbeatMs,
      protocol: 1,
      memberId: connectionId,
      ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }),
      ...(rateLimit === undefined ? {} : { rateLimit }),
    });
  }

  /** Confirms a join of `room` at `offset` (no `recovered`: a fresh join). */
  joined(
    room: string,
    offset: number,
    epoch = "e1",
    members: Array<{ id: string; meta: unknown }> = [],
  ): void {
    this.receive({ type: "joined", room, offset, epoch, members });
  }

  /** Sends a `presence` event for `room`. */
  presence(
    room: string,
    event: "join" | "leave" | "update",
    id: string,
    meta: unknown = null,
  ): void {
    this.receive({ type: "presence", room, event, member: { id, meta } });
  }

  /** Delivers a server frame (objects are JSON-encoded). */
  receive(frame: unknown): void {
    const data = typeof frame === "string" ? frame : JSON.stringify(frame);
    this.onmessage?.(new MessageEvent("message", { data }));
  }

  /** The server closes the connection with `code`. */
  serverClose(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code, reason }));
  }

  /** Sent frames whose `type` is `type`. */
  sentOf(type: string): unknown[] {
    return this.sent.filter((frame) =>
      typeof frame === "object" && frame !== null && "type" in frame &&
      frame.type === type
    );
  }
}

/** A client on fake sockets and fake time; dispose to restore the timers. */
export interface Rig extends Disposable {
  client: RoomcastClient;
  /** Every socket the client created, oldest first. */
  sockets: FakeSocket[];
  /** The newest socket. */
  readonly socket: FakeSocket;
  /** Every event the client emitted, in order. */
  events: Array<[keyof ClientEvents, unknown]>;
  /** Advances fake time by `ms`. */
  tick(ms: number): void;
}

/**
 * Enables mock timers (`setTimeout`, `setInterval`, `Date`) and creates a
 * client on fake sockets, with `random` 0.5 and `now` reading the mock date
 * unless `options` say otherwise.
 */
export function rig(options: ClientOptions = {}): Rig {
  mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 0 });
  const sockets: FakeSocket[] = [];
  const events: Rig["events"] = [];
  const client = new RoomcastClient("http://roomcast.test/ws", {
    random: () => 0.5,
    now: () => Date.now(),
    // The fallback has suites of its own (client_transport_test.ts).
    transports: ["websocket"],
    WebSocket: class extends FakeSocket {
      constructor(url: string, protocols: string[]) {
        super(url, protocols);
        sockets.push(this);
      }
    },
    ...options,
  });
  const names: Array<keyof ClientEvents> = [
    "message",
    "state",
    "joined",
    "error",
    "close",
    "recovery",
    "presence",
    "members",
    "transport",
  ];
  for (const name of names) {
    client.on(name, (payload) => events.push([name, payload]));
  }
  return {
    client,
    sockets,
    events,
    get socket(): FakeSocket {
      const socket = sockets.at(-1);
      if (socket === undefined) throw new Error("No socket yet");
      return socket;
    },
    tick: (ms) => mock.timers.tick(ms),
    [Symbol.dispose]() {
      client.close();
      mock.timers.reset();
    },
  };
}
