/**
 * {@linkcode RoomcastClient}: the SDK's connection state machine. One socket
 * at a time; every way a connection can end goes through `#disconnect`, and
 * every state change through `#setState`; every frame leaves through the
 * outbox, which paces it to the server's rate limit. Browser compatible.
 *
 * @module
 */

import { isRetryableClose } from "../protocol/mod.ts";
import type {
  ClientMessage,
  Json,
  PresenceMember,
  WelcomeMessage,
} from "../protocol/mod.ts";
import { Emitter, type Handler } from "./_emitter.ts";
import { attempt } from "./_attempt.ts";
import { receive, type Routes } from "./_frame.ts";
import { Heartbeat } from "./_heartbeat.ts";
import { resolveOptions, type Settings, toWebSocketUrl } from "./_options.ts";
import { Outbox } from "./_outbox.ts";
import { type PublishResult, Requests, type Send } from "./_requests.ts";
import { Reconnect } from "./_reconnect.ts";
import { Membership } from "./_membership.ts";
import { Picker } from "./_picker.ts";
import { dropSocket } from "./_socket.ts";
import {
  CLIENT_CLOSE_CODE,
  closedError,
  lostError,
  offlineError,
  stoppedError,
} from "./errors.ts";
import type {
  ClientEvents,
  ClientOptions,
  ClientState,
  JoinOptions,
  PublishOptions,
  WebSocketLike,
} from "./types.ts";
import type { Transport } from "./transport_types.ts";

/**
 * A roomcast connection that reconnects on its own (with a fresh token from
 * its provider each time), rejoins its rooms with their last positions,
 * drops duplicates, queues publishes while offline, paces what it sends to
 * the server's rate limit, keeps each room's member list and detects dead
 * links with an app-level heartbeat. Create it with `createClient()`.
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
  readonly #outbox: Outbox;
  readonly #picker: Picker;
  #state: ClientState = "disconnected";
  #socket: WebSocketLike | undefined;
  #welcome: WelcomeMessage | undefined;
  #closed = false;
  #generation = 0;
  readonly #heartbeat = new Heartbeat({
    // Skipped while frames wait for the rate limit: their answers prove the link.
    ping: () => this.#outbox.send({ frame: { type: "ping" } }, "optional"),
    timeout: (code, reason) => this.#disconnect(code, reason, true),
  });
  readonly #sendPublish: Send = (item) => this.#outbox.send(item);
  readonly #sendPing: Send = (item) => this.#outbox.send(item, "first");
  readonly #routes: Routes;

  /**
   * Starts connecting to `url` (`ws:`/`wss:`, or `http:`/`https:` mapped to them).
   *
   * @throws {TypeError} for a bad URL, `user` or `token` string.
   * @throws {RangeError} for an option out of range.
   */
  constructor(url: string | URL, options: ClientOptions = {}) {
    this.#url = toWebSocketUrl(url, options.user);
    this.#settings = resolveOptions(options);
    this.#requests = new Requests(this.#settings);
    this.#reconnect = new Reconnect(this.#settings);
    this.#outbox = new Outbox(this.#settings.now);
    this.#picker = new Picker(this.#settings, this.#url, this.#events, {
      idle: () =>
        this.#welcome !== undefined && this.#requests.unanswered === 0,
      move: () =>
        this.#disconnect(
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
        this.#disconnect(CLIENT_CLOSE_CODE.BAD_FRAME, reason, true),
    };
    this.#connect();
  }

  /** The current connection state. */
  get state(): ClientState {
    return this.#state;
  }

  /** The transport in use, or that the next attempt uses; the `transport` event announces changes. */
  get transport(): Transport {
    return this.#picker.current;
  }

  /** The server's id for the current connection, while connected. */
  get connectionId(): string | undefined {
    return this.#welcome?.connectionId;
  }

  /** The member id the server shows this client under in presence, while connected. */
  get memberId(): string | undefined {
    return this.#welcome?.memberId;
  }

  /**
   * Connection attempts in a row that ended before the server's `welcome`
   * (0 once connected). A refused token (401) and an unreachable server look
   * alike to a browser, and the client retries both for as long as it runs:
   * this count lets an app tell its user, or give up with `close()`.
   */
  get failedConnects(): number {
    return this.#reconnect.failures;
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
    if (
      this.#rooms.join(room, options.meta, options.history) &&
      this.#welcome !== undefined
    ) {
      this.#outbox.send({ frame: this.#rooms.joinFrame(room) });
    }
  }

  /** Leaves `room`; publishes to it not sent yet are rejected with `not_joined`. */
  leave(room: string): void {
    if (this.#rooms.leave(room)) this.#sendNow({ type: "leave", room });
  }

  /**
   * Publishes `data` to a joined `room`. Resolves with the server's `ack`;
   * rejects with a {@linkcode RoomcastError} on an `error` frame for it, on
   * timeout (`timeoutMs`), when the queue is full (`maxQueueSize`
   * publishes wait: offline, or held for the server's rate limit), when its
   * frame exceeds the server's `maxMessageBytes` (`too_big`, not sent), or
   * when the connection drops after it was sent and before the `ack`
   * (`disconnected`: it may or may not have been published). One not sent
   * yet when the connection drops stays queued for the next.
   */
  publish(
    room: string,
    data: Json,
    options: PublishOptions = {},
  ): Promise<PublishResult> {
    if (this.#state === "disconnected") {
      return Promise.reject(stoppedError(this.#closed));
    }
    const message = this.#rooms.publishFrame(room, data, options);
    if (message instanceof Error) return Promise.reject(message);
    return this.#requests.publish(
      message,
      this.#welcome === undefined ? undefined : this.#sendPublish,
    );
  }

  /**
   * Measures the round-trip time to the server in ms (rejects when not
   * connected). The ping goes ahead of frames held for the rate limit.
   */
  ping(): Promise<number> {
    if (this.#welcome === undefined) {
      return Promise.reject(
        offlineError(this.#closed, "Cannot ping: not connected"),
      );
    }
    return this.#requests.ping(this.#sendPing);
  }

  /** Connects again after the server closed for good; no-op unless disconnected. */
  connect(): void {
    if (this.#closed) throw closedError();
    if (this.#state !== "disconnected") return;
    this.#reconnect.reset();
    this.#connect();
  }

  /**
   * Replaces the connection at once (no backoff), asking the `token`
   * provider for a new token: for when the user's identity changed. The
   * current connection ends with a `close` event (code 3006,
   * `CLIENT_CLOSE_CODE.RECONNECT`); its unanswered requests are rejected
   * with `disconnected`, publishes not sent yet stay queued. When
   * disconnected, the same as {@linkcode RoomcastClient.connect}.
   *
   * @throws {RoomcastError} `closed` after `close()`.
   */
  reconnect(): void {
    if (this.#closed) throw closedError();
    this.#reconnect.reset();
    if (this.#state === "disconnected") return this.#connect();
    this.#disconnect(CLIENT_CLOSE_CODE.RECONNECT, "reconnect() called", true);
  }

  /** Disconnects for good: no reconnect; pending requests are rejected with `closed`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#requests.fail(closedError(), true);
    if (this.#state === "disconnected") return;
    this.#disconnect(CLIENT_CLOSE_CODE.CLOSED, "Client closed", false);
  }

  /** One attempt: the token (a provider may take a while), then the socket. */
  #connect(): void {
    const generation = ++this.#generation;
    this.#setState("connecting");
    this.#heartbeat.connecting(this.#settings.connectTimeoutMs);
    const WebSocket = this.#picker.socketClass();
    attempt({ ...this.#settings, WebSocket, url: this.#url }, {
      current: () => generation === this.#generation,
      opened: (socket) => this.#socket = socket,
      failed: (code, reason, retry) => this.#disconnect(code, reason, retry),
      message: (data) => {
        this.#heartbeat.frame();
        receive(data, this.#routes);
        this.#picker.frame();
      },
      close: (code, reason) =>
        this.#disconnect(code, reason, isRetryableClose(code)),
    });
  }

  #onWelcome(welcome: WelcomeMessage): void {
    if (this.#socket === undefined) return;
    this.#welcome = welcome;
    this.#requests.maxBytes = welcome.maxMessageBytes;
    this.#reconnect.up();
    this.#outbox.open(this.#socket, welcome.rateLimit);
    // Rejoin and flush before `connected` is announced, so that frames sent
    // by state handlers come after the joins (the server keeps frame order).
    for (const frame of this.#rooms.joinFrames()) this.#sendNow(frame);
    this.#requests.flush(this.#sendPublish);
    this.#heartbeat.start(welcome.heartbeatMs, this.#settings.heartbeatGraceMs);
    this.#setState("connected");
    this.#picker.welcomed();
  }

  /** The single exit of a connection, whoever ended it. */
  #disconnect(code: number, reason: string, reconnect: boolean): void {
    const requested = code === CLIENT_CLOSE_CODE.RECONNECT;
    const early = this.#socket !== undefined && this.#welcome === undefined;
    if (early && reconnect && !requested) this.#picker.failed();
    this.#picker.stop();
    if (this.#socket !== undefined) dropSocket(this.#socket, code);
    this.#socket = undefined;
    this.#outbox.close();
    this.#heartbeat.stop();
    this.#reconnect.down(reconnect && !requested);
    this.#reconnect.cancel();
    this.#welcome = undefined;
    const willReconnect = reconnect && !this.#closed;
    this.#requests.fail(lostError(code, reason, willReconnect), !willReconnect);
    const generation = ++this.#generation;
    this.#events.emit("close", { code, reason, willReconnect });
    // A `close` handler that called close() has taken over.
    if (generation !== this.#generation) return;
    if (!willReconnect) return this.#setState("disconnected");
    if (requested) return this.#connect();
    this.#reconnect.schedule(() => this.#connect());
    this.#setState("connecting");
  }

  #setState(newState: ClientState): void {
    const oldState = this.#state;
    if (oldState === newState) return;
    this.#state = newState;
    this.#events.emit("state", { oldState, newState });
  }

  /** Sends (paced) once the server has welcomed us; before, the welcome will. */
  #sendNow(frame: ClientMessage): void {
    if (this.#welcome !== undefined) this.#outbox.send({ frame });
  }
}
