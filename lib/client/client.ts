/**
 * {@linkcode RoomcastClient}: the SDK's connection state machine. One socket
 * at a time; every way a connection can end goes through `#disconnect`, and
 * every state change through `#setState`. Browser compatible.
 *
 * @module
 */

import { isRetryableClose } from "../codes.ts";
import {
  type ClientMessage,
  type Json,
  type PresenceMember,
  type ServerMessage,
  type WelcomeMessage,
} from "../protocol.ts";
import { Emitter, type Handler } from "./_emitter.ts";
import { decodeFrame } from "./_frame.ts";
import { Heartbeat } from "./_heartbeat.ts";
import { resolveOptions, type Settings, toWebSocketUrl } from "./_options.ts";
import { type PublishResult, Requests } from "./_requests.ts";
import { Reconnect } from "./_reconnect.ts";
import { Membership } from "./_membership.ts";
import { dropSocket, OPEN, openSocket } from "./_socket.ts";
import { CLIENT_CLOSE_CODE, closedError, RoomcastError } from "./errors.ts";
import type {
  ClientEvents,
  ClientOptions,
  ClientState,
  JoinOptions,
  PublishOptions,
  WebSocketLike,
} from "./types.ts";

/**
 * A roomcast connection that reconnects on its own, rejoins its rooms with
 * their last positions, drops duplicates, queues publishes while offline,
 * keeps each room's member list and detects dead links with an app-level
 * heartbeat. Create it with `createClient()`.
 */
export class RoomcastClient {
  readonly #url: string;
  readonly #settings: Settings;
  readonly #events = new Emitter<ClientEvents>();
  readonly #rooms = new Membership(
    this.#events,
    (room, error) => this.#requests.failQueued(room, error),
  );
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
    this.#url = toWebSocketUrl(url, options.user);
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

  /** The member id the server shows this client under in presence, while connected. */
  get memberId(): string | undefined {
    return this.#welcome?.memberId;
  }

  /** The rooms this client is in or joining, in join order. */
  get rooms(): string[] {
    return this.#rooms.names();
  }

  /**
   * The members of `room` (this client included) as last reported by the
   * server: empty before the first `joined`, kept while reconnecting and
   * replaced on each rejoin. The `members` event announces every change.
   */
  members(room: string): PresenceMember[] {
    return this.#rooms.members(room);
  }

  /** Subscribes `handler` to `event`; returns a function that unsubscribes. */
  on<K extends keyof ClientEvents>(
    event: K,
    handler: Handler<ClientEvents[K]>,
  ): () => void {
    return this.#events.on(event, handler);
  }

  /**
   * Joins `room` now, or as soon as connected, with presence `meta`. The
   * client stays in it across reconnects until
   * {@linkcode RoomcastClient.leave}; the `joined` event confirms each join.
   * If the server refuses a join, an `error` event with `room` says so and
   * the client is no longer in the room. No-op when already in `room` (to
   * change `meta`, leave and join again).
   *
   * @throws {TypeError} when `room` is not a valid room name or `meta` not JSON.
   * @throws {RangeError} when `meta` exceeds 1 KiB as JSON.
   */
  join(room: string, options: JoinOptions = {}): void {
    if (this.#rooms.join(room, options.meta) && this.#welcome !== undefined) {
      this.#send(this.#rooms.joinFrame(room));
    }
  }

  /** Leaves `room`; publishes to it still queued are rejected with `not_joined`. */
  leave(room: string): void {
    if (this.#rooms.leave(room)) this.#sendNow({ type: "leave", room });
  }

  /**
   * Publishes `data` to a joined `room`. Resolves with the server's `ack`;
   * rejects with a {@linkcode RoomcastError} on an `error` frame for it, on
   * timeout (`timeoutMs`), when the queue is full (while not connected),
   * when its frame exceeds the server's `maxMessageBytes` (`too_big`, not
   * sent), or when the connection drops before the `ack` (`disconnected`:
   * it may or may not have been published).
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
    const message = this.#rooms.publishFrame(room, data, options);
    if (message instanceof Error) return Promise.reject(message);
    return this.#requests.publish(
      message,
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
        return this.#rooms.onJoined(message);
      case "message":
        return this.#rooms.onMessage(message);
      case "ack":
        this.#requests.ack(message);
        return;
      case "pong":
        this.#requests.pong(message);
        return;
      case "presence":
        return this.#rooms.onPresence(message);
      case "error":
        if (this.#requests.error(message)) return;
        if (this.#rooms.onJoinError(message)) return;
        return this.#events.emit("error", message);
      case "left":
        return;
    }
  }

  #onWelcome(welcome: WelcomeMessage): void {
    this.#welcome = welcome;
    this.#requests.maxBytes = welcome.maxMessageBytes;
    this.#reconnect.up();
    // Rejoin and flush before `connected` is announced, so that frames sent
    // by state handlers come after the joins (the server keeps frame order).
    for (const frame of this.#rooms.joinFrames()) this.#send(frame);
    this.#requests.flush((frame) => this.#send(frame));
    this.#heartbeat.start(welcome.heartbeatMs, this.#settings.heartbeatGraceMs);
    this.#setState("connected");
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
