/**
 * {@linkcode RoomcastClient}: the SDK's connection state machine. One socket
 * at a time; every way a connection can end goes through `#disconnect`, and
 * every state change through `#setState`. Browser compatible.
 *
 * @module
 */

import { ERROR_CODE, isRetryableClose } from "../codes.ts";
import {
  type ClientMessage,
  isJson,
  isValidRoomName,
  type Json,
  type ServerMessage,
  type WelcomeMessage,
} from "../protocol.ts";
import { Emitter, type Handler } from "./_emitter.ts";
import { decodeFrame } from "./_frame.ts";
import { Heartbeat } from "./_heartbeat.ts";
import { resolveOptions, type Settings, toWebSocketUrl } from "./_options.ts";
import { type PublishResult, Requests } from "./_requests.ts";
import { Reconnect } from "./_reconnect.ts";
import { type JoinedFrame, RoomTracker } from "./_rooms.ts";
import { dropSocket, OPEN, openSocket } from "./_socket.ts";
import { CLIENT_CLOSE_CODE, closedError, RoomcastError } from "./errors.ts";
import type {
  ClientEvents,
  ClientOptions,
  ClientState,
  PublishOptions,
  WebSocketLike,
} from "./types.ts";

/**
 * A roomcast connection that reconnects on its own, rejoins its rooms with
 * their last positions, drops duplicates, queues publishes while offline
 * and detects dead links with an app-level heartbeat. Create it with
 * `createClient()`.
 */
export class RoomcastClient {
  readonly #url: string;
  readonly #settings: Settings;
  readonly #events = new Emitter<ClientEvents>();
  readonly #rooms = new RoomTracker();
  readonly #requests: Requests;
  readonly #reconnect: Reconnect;
  #state: ClientState = "disconnected";
  #socket: WebSocketLike | undefined;
  #welcome: WelcomeMessage | undefined;
  #closed = false;
  #generation = 0;
  readonly #heartbeat = new Heartbeat({
    ping: () => this.#send({ type: "ping" }),
    timeout: (code, reason) => this.#disconnect(code, reason, true),
  });

  /** Starts connecting to `url` (`ws:`/`wss:`, or `http:`/`https:` mapped to them). */
  constructor(url: string | URL, options: ClientOptions = {}) {
    this.#url = toWebSocketUrl(url);
    this.#settings = resolveOptions(options);
    this.#requests = new Requests(this.#settings);
    this.#reconnect = new Reconnect(this.#settings);
    this.#connect();
  }

  /** The current connection state. */
  get state(): ClientState {
    return this.#state;
  }

  /** The server's id for the current connection, while connected. */
  get connectionId(): string | undefined {
    return this.#welcome?.connectionId;
  }

  /** The rooms this client is in or joining, in join order. */
  get rooms(): string[] {
    return this.#rooms.names();
  }

  /** Subscribes `handler` to `event`; returns a function that unsubscribes. */
  on<K extends keyof ClientEvents>(
    event: K,
    handler: Handler<ClientEvents[K]>,
  ): () => void {
    return this.#events.on(event, handler);
  }

  /**
   * Joins `room` now, or as soon as connected. The client stays in it across
   * reconnects until {@linkcode RoomcastClient.leave}; the `joined` event
   * confirms each join.
   *
   * @throws {TypeError} when `room` is not a valid room name.
   */
  join(room: string): void {
    if (!isValidRoomName(room)) {
      const name = JSON.stringify(String(room).slice(0, 40));
      throw new TypeError(
        `Invalid room name ${name}: expected 1-128 characters of [A-Za-z0-9_.:@-]`,
      );
    }
    if (this.#rooms.add(room)) this.#sendNow(this.#rooms.joinFrame(room));
  }

  /** Leaves `room`; publishes to it still queued are rejected with `not_joined`. */
  leave(room: string): void {
    if (!this.#rooms.delete(room)) return;
    this.#requests.failQueued(
      room,
      new RoomcastError(ERROR_CODE.NOT_JOINED, `Left room "${room}"`),
    );
    this.#sendNow({ type: "leave", room });
  }

  /**
   * Publishes `data` to a joined `room`. Resolves with the server's `ack`;
   * rejects with a {@linkcode RoomcastError} on an `error` frame for it, on
   * timeout (`timeoutMs`), when the queue is full (while not connected), or
   * when the connection drops before the `ack` (`disconnected`: it may or
   * may not have been published).
   */
  publish(
    room: string,
    data: Json,
    options: PublishOptions = {},
  ): Promise<PublishResult> {
    if (this.#state === "disconnected") {
      return Promise.reject(
        this.#closed ? closedError() : new RoomcastError(
          "closed",
          "The client is disconnected: call connect() first",
        ),
      );
    }
    if (!this.#rooms.has(room)) {
      return Promise.reject(
        new RoomcastError(
          ERROR_CODE.NOT_JOINED,
          `Join room "${room}" before publishing to it`,
        ),
      );
    }
    if (!isJson(data)) {
      return Promise.reject(new TypeError("Cannot publish: data is not JSON"));
    }
    return this.#requests.publish(
      options.echo === undefined
        ? { type: "publish", room, data }
        : { type: "publish", room, data, echo: options.echo },
      this.#welcome === undefined ? undefined : (frame) => this.#send(frame),
    );
  }

  /** Measures the round-trip time to the server in ms (rejects when not connected). */
  ping(): Promise<number> {
    if (this.#welcome === undefined) {
      return Promise.reject(
        new RoomcastError(
          this.#closed ? "closed" : "disconnected",
          "Cannot ping: not connected",
        ),
      );
    }
    return this.#requests.ping((frame) => this.#send(frame));
  }

  /** Connects again after the server closed for good; no-op unless disconnected. */
  connect(): void {
    if (this.#closed) throw closedError();
    if (this.#state !== "disconnected") return;
    this.#reconnect.reset();
    this.#connect();
  }

  /** Disconnects for good: no reconnect; pending requests are rejected with `closed`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#requests.fail(closedError(), true);
    if (this.#state === "disconnected") return;
    this.#disconnect(CLIENT_CLOSE_CODE.CLOSED, "Client closed", false);
  }

  #connect(): void {
    this.#generation++;
    this.#setState("connecting");
    try {
      this.#socket = openSocket(this.#settings.WebSocket, this.#url, {
        message: (data) => this.#onFrame(data),
        close: (code, reason) =>
          this.#disconnect(code, reason, isRetryableClose(code)),
      });
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      this.#disconnect(
        CLIENT_CLOSE_CODE.CONNECT_FAILED,
        `Cannot open a WebSocket: ${detail}`,
        false,
      );
      return;
    }
    this.#heartbeat.connecting(this.#settings.connectTimeoutMs);
  }

  #onFrame(data: unknown): void {
    this.#heartbeat.frame();
    let message: ServerMessage | undefined;
    try {
      message = decodeFrame(data);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return this.#disconnect(
        CLIENT_CLOSE_CODE.BAD_FRAME,
        `Invalid frame from the server: ${detail}`,
        true,
      );
    }
    if (message === undefined) return; // A type this SDK does not know.
    switch (message.type) {
      case "welcome":
        return this.#onWelcome(message);
      case "joined":
        return this.#onJoined(message);
      case "message":
        if (this.#rooms.accept(message)) this.#events.emit("message", message);
        return;
      case "ack":
        this.#requests.ack(message);
        return;
      case "pong":
        this.#requests.pong(message);
        return;
      case "error":
        if (!this.#requests.error(message)) this.#events.emit("error", message);
        return;
      case "left":
        return;
    }
  }

  #onWelcome(welcome: WelcomeMessage): void {
    this.#welcome = welcome;
    this.#reconnect.up();
    // Rejoin and flush before `connected` is announced, so that frames sent
    // by state handlers come after the joins (the server keeps frame order).
    for (const room of this.#rooms.names()) {
      this.#send(this.#rooms.joinFrame(room));
    }
    this.#requests.flush((frame) => this.#send(frame));
    this.#heartbeat.start(welcome.heartbeatMs, this.#settings.heartbeatGraceMs);
    this.#setState("connected");
  }

  #onJoined(frame: JoinedFrame): void {
    const outcome = this.#rooms.joined(frame);
    if (outcome === undefined) return; // Left meanwhile.
    const { room, offset, epoch } = frame;
    this.#events.emit("joined", {
      room,
      offset,
      epoch,
      resumed: outcome.resumed,
    });
    if (!outcome.recovered) {
      this.#events.emit("recovery", { room, recovered: false });
    }
  }

  /** The single exit of a connection, whoever ended it. */
  #disconnect(code: number, reason: string, reconnect: boolean): void {
    if (this.#socket !== undefined) dropSocket(this.#socket, code);
    this.#socket = undefined;
    this.#heartbeat.stop();
    this.#reconnect.down();
    this.#reconnect.cancel();
    this.#welcome = undefined;
    const willReconnect = reconnect && !this.#closed;
    this.#requests.fail(
      willReconnect
        ? new RoomcastError(
          "disconnected",
          `Connection lost: ${code} ${reason}`.trimEnd(),
        )
        : closedError(code, reason),
      !willReconnect,
    );
    const generation = ++this.#generation;
    this.#events.emit("close", { code, reason, willReconnect });
    // A `close` handler that called close() has taken over.
    if (generation !== this.#generation) return;
    if (!willReconnect) return this.#setState("disconnected");
    this.#reconnect.schedule(() => this.#connect());
    this.#setState("connecting");
  }

  #setState(newState: ClientState): void {
    const oldState = this.#state;
    if (oldState === newState) return;
    this.#state = newState;
    this.#events.emit("state", { oldState, newState });
  }

  /** Sends when the server has welcomed us; otherwise the welcome will. */
  #sendNow(frame: ClientMessage): void {
    if (this.#welcome !== undefined) this.#send(frame);
  }

  #send(frame: ClientMessage): void {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== OPEN) return;
    try {
      socket.send(JSON.stringify(frame));
    } catch {
      // The socket is going away; its `close` event runs the reconnect.
    }
  }
}
