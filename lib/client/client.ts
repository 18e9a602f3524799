/**
 * {@linkcode RoomcastClient}: the SDK's client, over its connection state
 * machine (`_connection.ts`: one socket at a time; every way a connection
 * can end goes through its `disconnect`, and every state change through its
 * `#setState`; every frame leaves through the outbox, which paces it to the
 * server's rate limit). Browser compatible.
 *
 * @module
 */

import type { Json, PresenceMember } from "../protocol/mod.ts";
import { Connection } from "./_connection.ts";
import { Emitter, type Handler } from "./_emitter.ts";
import { resolveOptions, toWebSocketUrl } from "./_options.ts";
import { type PublishResult, Requests } from "./_requests.ts";
import { Membership } from "./_membership.ts";
import {
  CLIENT_CLOSE_CODE,
  closedError,
  offlineError,
  stoppedError,
} from "./errors.ts";
import type {
  ClientEvents,
  ClientOptions,
  ClientState,
  JoinOptions,
  PublishOptions,
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
  readonly #events = new Emitter<ClientEvents>();
  readonly #rooms = new Membership(
    this.#events,
    (room, error) => this.#requests.failQueued(room, error),
  );
  readonly #requests: Requests;
  readonly #connection: Connection;

  /**
   * Starts connecting to `url` (`ws:`/`wss:`, or `http:`/`https:` mapped to them).
   *
   * @throws {TypeError} for a bad URL, `user` or `token` string.
   * @throws {RangeError} for an option out of range.
   */
  constructor(url: string | URL, options: ClientOptions = {}) {
    const webSocketUrl = toWebSocketUrl(url, options.user);
    const settings = resolveOptions(options);
    this.#requests = new Requests(settings);
    this.#connection = new Connection({
      url: webSocketUrl,
      settings,
      events: this.#events,
      rooms: this.#rooms,
      requests: this.#requests,
    });
    this.#connection.connect();
  }

  /** The current connection state. */
  get state(): ClientState {
    return this.#connection.state;
  }

  /** The transport in use, or that the next attempt uses; the `transport` event announces changes. */
  get transport(): Transport {
    return this.#connection.picker.current;
  }

  /** The server's id for the current connection, while connected. */
  get connectionId(): string | undefined {
    return this.#connection.welcome?.connectionId;
  }

  /** The member id the server shows this client under in presence, while connected. */
  get memberId(): string | undefined {
    return this.#connection.welcome?.memberId;
  }

  /**
   * Connection attempts in a row that ended before the server's `welcome`
   * (0 once connected). A refused token (401) and an unreachable server look
   * alike to a browser, and the client retries both for as long as it runs:
   * this count lets an app tell its user, or give up with `close()`.
   */
  get failedConnects(): number {
    return this.#connection.reconnect.failures;
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
      this.#connection.welcome !== undefined
    ) {
      this.#connection.outbox.send({ frame: this.#rooms.joinFrame(room) });
    }
  }

  /** Leaves `room`; publishes to it not sent yet are rejected with `not_joined`. */
  leave(room: string): void {
    if (this.#rooms.leave(room)) {
      this.#connection.sendNow({ type: "leave", room });
    }
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
    const connection = this.#connection;
    if (connection.state === "disconnected") {
      return Promise.reject(stoppedError(connection.closed));
    }
    const message = this.#rooms.publishFrame(room, data, options);
    if (message instanceof Error) return Promise.reject(message);
    return this.#requests.publish(
      message,
      connection.welcome === undefined ? undefined : connection.sendPublish,
    );
  }

  /**
   * Measures the round-trip time to the server in ms (rejects when not
   * connected). The ping goes ahead of frames held for the rate limit.
   */
  ping(): Promise<number> {
    const connection = this.#connection;
    if (connection.welcome === undefined) {
      return Promise.reject(
        offlineError(connection.closed, "Cannot ping: not connected"),
      );
    }
    return this.#requests.ping(connection.sendPing);
  }

  /** Connects again after the server closed for good; no-op unless disconnected. */
  connect(): void {
    const connection = this.#connection;
    if (connection.closed) throw closedError();
    if (connection.state !== "disconnected") return;
    connection.reconnect.reset();
    connection.connect();
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
    const connection = this.#connection;
    if (connection.closed) throw closedError();
    connection.reconnect.reset();
    if (connection.state === "disconnected") return connection.connect();
    connection.disconnect(
      CLIENT_CLOSE_CODE.RECONNECT,
      "reconnect() called",
      true,
    );
  }

  /** Disconnects for good: no reconnect; pending requests are rejected with `closed`. */
  close(): void {
    this.#connection.close();
  }
}
