/**
 * The client's connection state machine (internal; the public face is
 * {@linkcode RoomcastClient}). One socket at a time; every way a connection
 * can end goes through {@linkcode Connection.disconnect}, and every state
 * change through `#setState`; every frame leaves through the outbox, which
 * paces it to the server's rate limit.
 *
 * @module
 */

import { isRetryableClose } from "../protocol/mod.ts";
import type { ClientMessage, WelcomeMessage } from "../protocol/mod.ts";
import type { Emitter } from "./_emitter.ts";
import { attempt } from "./_attempt.ts";
import { receive, type Routes } from "./_frame.ts";
import { Heartbeat } from "./_heartbeat.ts";
import type { Settings } from "./_options.ts";
import { Outbox } from "./_outbox.ts";
import type { Requests, Send } from "./_requests.ts";
import { Reconnect } from "./_reconnect.ts";
import type { Membership } from "./_membership.ts";
import { Picker } from "./_picker.ts";
import { dropSocket } from "./_socket.ts";
import { CLIENT_CLOSE_CODE, closedError, lostError } from "./errors.ts";
import type { ClientEvents, ClientState, WebSocketLike } from "./types.ts";

/** What a {@linkcode Connection} shares with the client. */
export interface ConnectionParts {
  /** The WebSocket URL, with the `user` parameter. */
  url: string;
  settings: Settings;
  events: Emitter<ClientEvents>;
  rooms: Membership;
  requests: Requests;
}

/** A client's connection: attempts, welcome, heartbeat and the single exit. */
export class Connection {
  readonly #url: string;
  readonly #settings: Settings;
  readonly #events: Emitter<ClientEvents>;
  readonly #rooms: Membership;
  readonly #requests: Requests;
  /** The backoff between attempts, and the count of failed ones. */
  readonly reconnect: Reconnect;
  /** Every frame leaves through it, paced to the server's rate limit. */
  readonly outbox: Outbox;
  /** The transport of each attempt. */
  readonly picker: Picker;
  #state: ClientState = "disconnected";
  #socket: WebSocketLike | undefined;
  #welcome: WelcomeMessage | undefined;
  #closed = false;
  #generation = 0;
  readonly #heartbeat = new Heartbeat({
    // Skipped while frames wait for the rate limit: their answers prove the link.
    ping: () => this.outbox.send({ frame: { type: "ping" } }, "optional"),
    timeout: (code, reason) => this.disconnect(code, reason, true),
  });
  /** Sends a publish (paced). */
  readonly sendPublish: Send = (item) => this.outbox.send(item);
  /** Sends a ping, ahead of frames held for the rate limit. */
  readonly sendPing: Send = (item) => this.outbox.send(item, "first");
  readonly #routes: Routes;

  /** Sets up a connection, disconnected until {@linkcode Connection.connect}. */
  constructor(parts: ConnectionParts) {
    this.#url = parts.url;
    this.#settings = parts.settings;
    this.#events = parts.events;
    this.#rooms = parts.rooms;
    this.#requests = parts.requests;
    this.reconnect = new Reconnect(this.#settings);
    this.outbox = new Outbox(this.#settings.now);
    this.picker = new Picker(this.#settings, this.#url, this.#events, {
      idle: () =>
        this.#welcome !== undefined && this.#requests.unanswered === 0,
      move: () =>
        this.disconnect(
          CLIENT_CLOSE_CODE.RECONNECT,
          "Moving to WebSocket",
          true,
        ),
    });
    this.#routes = {
      welcome: (message) => this.#onWelcome(message),
      rooms: this.#rooms,
      requests: this.#requests,
      error: (message) => this.#events.emit("error", message),
      invalid: (reason) =>
        this.disconnect(CLIENT_CLOSE_CODE.BAD_FRAME, reason, true),
    };
  }

  /** The current connection state. */
  get state(): ClientState {
    return this.#state;
  }

  /** The server's welcome of the current connection, while connected. */
  get welcome(): WelcomeMessage | undefined {
    return this.#welcome;
  }

  /** Whether `close()` was called: no reconnect any more. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Disconnects for good: no reconnect; pending requests are rejected with `closed`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#requests.fail(closedError(), true);
    if (this.#state === "disconnected") return;
    this.disconnect(CLIENT_CLOSE_CODE.CLOSED, "Client closed", false);
  }

  /** One attempt: the token (a provider may take a while), then the socket. */
  connect(): void {
    const generation = ++this.#generation;
    this.#setState("connecting");
    this.#heartbeat.connecting(this.#settings.connectTimeoutMs);
    const WebSocket = this.picker.socketClass();
    attempt({ ...this.#settings, WebSocket, url: this.#url }, {
      current: () => generation === this.#generation,
      opened: (socket) => this.#socket = socket,
      failed: (code, reason, retry) => this.disconnect(code, reason, retry),
      message: (data) => {
        this.#heartbeat.frame();
        receive(data, this.#routes);
        this.picker.frame();
      },
      close: (code, reason) =>
        this.disconnect(code, reason, isRetryableClose(code)),
    });
  }

  #onWelcome(welcome: WelcomeMessage): void {
    if (this.#socket === undefined) return;
    this.#welcome = welcome;
    this.#requests.maxBytes = welcome.maxMessageBytes;
    this.reconnect.up();
    this.outbox.open(this.#socket, welcome.rateLimit);
    // Rejoin and flush before `connected` is announced, so that frames sent
    // by state handlers come after the joins (the server keeps frame order).
    for (const frame of this.#rooms.joinFrames()) this.sendNow(frame);
    this.#requests.flush(this.sendPublish);
    this.#heartbeat.start(welcome.heartbeatMs, this.#settings.heartbeatGraceMs);
    this.#setState("connected");
    this.picker.welcomed();
  }

  /** The single exit of a connection, whoever ended it. */
  disconnect(code: number, reason: string, reconnect: boolean): void {
    const requested = code === CLIENT_CLOSE_CODE.RECONNECT;
    const early = this.#socket !== undefined && this.#welcome === undefined;
    if (early && reconnect && !requested) this.picker.failed();
    this.picker.stop();
    if (this.#socket !== undefined) dropSocket(this.#socket, code);
    this.#socket = undefined;
    this.outbox.close();
    this.#heartbeat.stop();
    this.reconnect.down(reconnect && !requested);
    this.reconnect.cancel();
    this.#welcome = undefined;
    const willReconnect = reconnect && !this.#closed;
    this.#requests.fail(lostError(code, reason, willReconnect), !willReconnect);
    const generation = ++this.#generation;
    this.#events.emit("close", { code, reason, willReconnect });
    // A `close` handler that called close() has taken over.
    if (generation !== this.#generation) return;
    if (!willReconnect) return this.#setState("disconnected");
    if (requested) return this.connect();
    this.reconnect.schedule(() => this.connect());
    this.#setState("connecting");
  }

  #setState(newState: ClientState): void {
    const oldState = this.#state;
    if (oldState === newState) return;
    this.#state = newState;
    this.#events.emit("state", { oldState, newState });
  }

  /** Sends (paced) once the server has welcomed us; before, the welcome will. */
  sendNow(frame: ClientMessage): void {
    if (this.#welcome !== undefined) this.outbox.send({ frame });
  }
}
