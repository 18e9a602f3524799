/**
 * The hub: the pure core of the service. It takes connections from the edge,
 * dispatches their frames, keeps the room registry, assigns offsets, delivers
 * to local members and hands each message to the bus for the other isolates.
 * No `Deno.*` and no network here: sockets, bus and clock are injected.
 *
 * @module
 */

import type { Bus } from "../bus/bus.ts";
import { CLOSE_CODE, ERROR_CODE, type ErrorCode } from "../protocol/mod.ts";
import {
  type Access,
  Connection,
  type SocketLike,
} from "../rooms/connection.ts";
import { ConnectionGuard } from "./connection_guard.ts";
import {
  LogOverloadedError,
  type RoomLog,
  type StoredMessage,
} from "../room_log/room_log.ts";
import type { Logger } from "../support/log.ts";
import type { Metrics } from "../support/metrics.ts";
import {
  type ClientMessage,
  encodeServerMessage,
  type Json,
  type MessageId,
  PROTOCOL_VERSION,
  ProtocolError,
} from "../protocol/mod.ts";
import { type PendingPublish, Publisher } from "../rooms/publisher.ts";
import {
  type RoomInfo,
  Rooms,
  type RoomsLimits,
  type RoomSummary,
} from "../rooms/rooms.ts";

export type { RoomInfo, RoomSummary };

/** Limits and timings the hub enforces. */
export interface HubLimits extends RoomsLimits {
  /** Largest accepted client frame in UTF-8 bytes; larger closes with 1009. */
  maxMessageBytes: number;
  /** Outbound bytes queued for one client before it is closed as slow (1013). */
  maxBufferedBytes: number;
  /** Interval announced in `welcome` for app-level pings, in ms. */
  heartbeatMs: number;
  /** Messages per second a connection may send. */
  rateLimitPerS: number;
  /** Burst a connection may send at once. */
  rateLimitBurst: number;
  /** Messages refused for rate in a row before the connection is closed (4029). */
  rateLimitStrikes: number;
  /** Rooms one connection may be in at once. */
  maxRoomsPerConnection: number;
  /** Deepest nesting of `data` and `meta` in client frames. @default {MAX_JSON_DEPTH} */
  maxJsonDepth?: number;
}

/** Who a new connection is: from its token, or anonymous. */
export interface ConnectOptions {
  /** Presence member id. @default {the connection id} */
  memberId?: string;
  /** Room permissions. @default {every room} */
  access?: Access;
  /** When its token expires (ms since the Unix epoch): it is closed with 4401 then. */
  expiresAt?: number;
  /** It negotiated batch frames (`roomcast.v1.batch`). */
  batch?: boolean;
}

/** What the hub is built from. */
export interface HubOptions {
  bus: Bus;
  /** Assigns offsets and keeps history. */
  history: RoomLog;
  metrics: Metrics;
  log: Logger;
  limits: HubLimits;
  /** Server time in ms since the Unix epoch. @default {Date.now} */
  now?: () => number;
}

/** Options of {@linkcode Hub.publish}. */
export interface PublishOptions {
  /** Publisher id stamped as `from`. */
  from: string;
  /** A local connection id that must not receive it (publish with `echo:false`). */
  except?: string;
  /**
   * Resolve only once the message is committed to the history store (with
   * the write-behind log, after its flush; elsewhere an append is committed
   * already). @default {false}
   */
  durable?: boolean;
}

/** Counts for health checks. */
export interface HubStats {
  connections: number;
  rooms: number;
}

/** Routes frames between connections, rooms and the bus. */
export class Hub {
  readonly #rooms: Rooms;
  readonly #connections = new Map<Connection, ConnectionGuard>();
  readonly #publisher: Publisher;
  readonly #options: HubOptions;
  readonly #now: () => number;
  readonly #unsubscribe: () => void;
  readonly #onShutdown: Array<() => void> = [];
  #nextId = 0;
  #draining = false;

  /** Creates a hub and subscribes it to the bus. */
  constructor(options: HubOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const { bus, history, metrics, log, limits } = options;
    this.#rooms = new Rooms({
      bus,
      history,
      metrics,
      log,
      limits,
      now: this.#now,
    });
    this.#unsubscribe = bus.subscribe((event) => {
      if (event.kind === "terminate") this.#terminateLocal(event.member);
      else this.#rooms.onBusEvent(event);
    });
    this.#publisher = new Publisher(history, (room, stored, item) => {
      this.#rooms.offer(room, stored, item.except);
      const { offset, epoch, frame } = stored;
      bus.publish({ kind: "message", room, offset, epoch, frame });
    }, (count, ms) => {
      metrics.inc("history_appends_total");
      metrics.inc("history_appended_messages_total", count);
      metrics.inc("history_append_ms_total", Math.round(ms * 1000) / 1000);
    });
  }

  /** The bus to the other isolates, for layers above that share state of their own. */
  get bus(): Bus {
    return this.#options.bus;
  }

  /** Calls `fn` once when the hub shuts down (layers above stop their timers). */
  onShutdown(fn: () => void): void {
    this.#onShutdown.push(fn);
  }

  /** The latest offset of `room` and its epoch (the log's head). */
  head(room: string): Promise<{ offset: number; epoch: string }> {
    return this.#options.history.head(room);
  }

  /** Whether the hub stopped accepting connections (shutdown in progress). */
  get draining(): boolean {
    return this.#draining;
  }

  /** Current counts. */
  stats(): HubStats {
    return { connections: this.#connections.size, rooms: this.#rooms.size };
  }

  /** Number of local connections in `room`. */
  memberCount(room: string): number {
    return this.#rooms.count(room);
  }

  /** Rooms with members on any isolate, with member and local connection counts. */
  roomList(): RoomSummary[] {
    return this.#rooms.list();
  }

  /** One room: its members across isolates, local connections and stream position. */
  roomInfo(room: string): Promise<RoomInfo> {
    return this.#rooms.info(room);
  }

  /**
   * Registers an open socket and greets it with `welcome`. Call it from the
   * socket's `open` event; feed its frames to {@linkcode Hub.receive} and its
   * `close` event to {@linkcode Hub.disconnect}.
   */
  connect(socket: SocketLike, options: ConnectOptions = {}): Connection {
    const { metrics, bus, limits } = this.#options;
    const id = `${bus.nodeId.slice(0, 8)}-${(++this.#nextId).toString(36)}`;
    const connection = new Connection(id, socket, {
      maxBufferedBytes: limits.maxBufferedBytes,
      metrics,
      onClose: (c, code) => this.disconnect(c, code),
      ...(options.memberId === undefined ? {} : { memberId: options.memberId }),
      ...(options.access === undefined ? {} : { access: options.access }),
      ...(options.batch === undefined ? {} : { batch: options.batch }),
    });
    this.#connections.set(
      connection,
      new ConnectionGuard({
        perSecond: limits.rateLimitPerS,
        burst: limits.rateLimitBurst,
        strikes: limits.rateLimitStrikes,
        maxMessageBytes: limits.maxMessageBytes,
        ...(limits.maxJsonDepth === undefined
          ? {}
          : { maxJsonDepth: limits.maxJsonDepth }),
        ...(options.expiresAt === undefined
          ? {}
          : { expiresAt: options.expiresAt }),
        onExpire: () => {
          metrics.inc("token_expiries_total");
          connection.close(CLOSE_CODE.TOKEN_EXPIRED, "Token expired");
        },
        now: this.#now,
      }),
    );
    metrics.inc("connections_opened_total");
    metrics.set("connections", this.#connections.size);
    connection.send(encodeServerMessage({
      type: "welcome",
      connectionId: id,
      heartbeatMs: limits.heartbeatMs,
      protocol: PROTOCOL_VERSION,
      memberId: connection.memberId,
      maxMessageBytes: limits.maxMessageBytes,
      rateLimit: {
        perSecond: limits.rateLimitPerS,
        burst: limits.rateLimitBurst,
      },
    }));
    return connection;
  }

  /** Forgets a connection: it leaves every room. Idempotent. */
  disconnect(connection: Connection, code?: number): void {
    const guard = this.#connections.get(connection);
    if (guard === undefined) return;
    this.#connections.delete(connection);
    guard.close();
    this.#rooms.leaveAll(connection);
    const { metrics } = this.#options;
    metrics.inc("connections_closed_total", 1, String(code ?? "server"));
    metrics.set("connections", this.#connections.size);
    metrics.set("rooms", this.#rooms.size);
  }

  /** Handles one frame from a client. Never throws. */
  receive(connection: Connection, data: unknown): void {
    const { metrics, log } = this.#options;
    const guard = this.#connections.get(connection);
    if (guard === undefined) return;
    metrics.inc("messages_in_total");
    if (typeof data === "string") metrics.inc("bytes_in_total", data.length);
    const verdict = guard.inspect(data);
    switch (verdict.kind) {
      case "close":
        if (verdict.code === CLOSE_CODE.RATE_LIMITED) {
          metrics.inc("rate_limited_total");
        }
        connection.close(verdict.code, verdict.reason);
        return;
      case "error":
        if (verdict.code === ERROR_CODE.RATE_LIMITED) {
          metrics.inc("rate_limited_total");
        }
        this.#sendError(connection, verdict.code, verdict.text, verdict.ref);
        return;
      case "message":
        break;
    }
    const { message } = verdict;
    try {
      this.#dispatch(connection, message);
    } catch (error) {
      log.error("Handler failed", { type: message.type, error: String(error) });
      const ref = "id" in message ? message.id : undefined;
      this.#sendError(connection, ERROR_CODE.INTERNAL, "Internal error", ref);
    }
  }

  /**
   * Closes every connection of `member` on every node with 4500 (terminal:
   * clients do not reconnect), e.g. after a logout or a ban. Returns how
   * many were closed on this node.
   */
  terminate(member: string): number {
    this.#options.bus.publish({ kind: "terminate", member });
    return this.#terminateLocal(member);
  }

  #terminateLocal(member: string): number {
    let closed = 0;
    for (const connection of [...this.#connections.keys()]) {
      if (connection.memberId !== member) continue;
      connection.close(CLOSE_CODE.TERMINATED, "Terminated by the server");
      closed += 1;
    }
    if (closed > 0) this.#options.metrics.inc("terminations_total", closed);
    return closed;
  }

  /**
   * Publishes `data` to `room`: the log assigns the next offset and stores
   * the frame (serialized once); it is then delivered to local members in
   * offset order and handed to the bus for the other isolates. Resolves with
   * the stored message (with `durable`, once it is committed). Rejects with
   * a {@linkcode LogOverloadedError} (counted, nothing published) when the
   * history store is behind.
   */
  async publish(
    room: string,
    data: Json,
    options: PublishOptions,
  ): Promise<StoredMessage> {
    const { metrics, history } = this.#options;
    metrics.inc("publishes_total");
    const item: PendingPublish = { data, ts: this.#now(), from: options.from };
    if (options.except !== undefined) item.except = options.except;
    let stored: StoredMessage;
    try {
      stored = await this.#publisher.publish(room, item);
    } catch (error) {
      if (error instanceof LogOverloadedError) {
        metrics.inc("publishes_refused_total", 1, error.reason);
      }
      throw error;
    }
    if (options.durable === true && history.committed !== undefined) {
      await history.committed();
      metrics.inc("durable_acks_total");
    }
    return stored;
  }

  /**
   * Stops accepting, closes every connection with `code` (1012 by default,
   * so clients reconnect elsewhere) and unsubscribes from the bus.
   */
  shutdown(
    code: number = CLOSE_CODE.SERVICE_RESTART,
    reason = "Server restart",
  ): void {
    this.#draining = true;
    for (const connection of [...this.#connections.keys()]) {
      connection.close(code, reason);
    }
    this.#rooms.close();
    this.#unsubscribe();
    for (const fn of this.#onShutdown.splice(0)) fn();
  }

  #dispatch(connection: Connection, message: ClientMessage): void {
    const refusal = this.#refusal(connection, message);
    if (refusal !== undefined) {
      const ref = "id" in message ? message.id : undefined;
      this.#sendError(connection, refusal[0], refusal[1], ref);
      return;
    }
    switch (message.type) {
      case "join":
        this.#rooms.join(connection, message).catch((error) => {
          if (error instanceof ProtocolError) {
            this.#sendError(connection, error.code, error.message, message.id);
            return;
          }
          this.#options.log.error("Join failed", {
            room: message.room,
            error: String(error),
          });
          this.#sendError(
            connection,
            ERROR_CODE.INTERNAL,
            `Could not join room "${message.room}"`,
            message.id,
          );
        });
        return;
      case "leave":
        this.#rooms.leave(message.room, connection);
        connection.send(
          encodeServerMessage({ type: "left", room: message.room }),
        );
        return;
      case "publish": {
        const { room, data, id } = message;
        const options: PublishOptions = { from: connection.id };
        if (message.echo === false) options.except = connection.id;
        if (message.durable === true) options.durable = true;
        this.publish(room, data, options).then(({ offset }) => {
          if (id === undefined) return;
          connection.send(encodeServerMessage({ type: "ack", id, offset }));
        }, (error) => {
          if (error instanceof LogOverloadedError) {
            // Counted in publishes_refused_total; not an error of ours.
            this.#sendError(
              connection,
              ERROR_CODE.OVERLOADED,
              error.message,
              id,
            );
            return;
          }
          this.#options.log.error("Publish failed", {
            room,
            error: String(error),
          });
          this.#sendError(
            connection,
            ERROR_CODE.INTERNAL,
            options.durable === true
              ? "Publish failed, or was delivered but not committed"
              : "Publish failed",
            id,
          );
        });
        return;
      }
      case "ping": {
        const ts = this.#now();
        connection.send(encodeServerMessage(
          message.id === undefined
            ? { type: "pong", ts }
            : { type: "pong", id: message.id, ts },
        ));
        return;
      }
    }
  }

  /** Why `message` may not go ahead (membership, the token's rooms, limits), if so. */
  #refusal(
    connection: Connection,
    message: ClientMessage,
  ): [ErrorCode, string] | undefined {
    if (message.type === "ping") return undefined;
    const { room } = message;
    const member = connection.rooms.has(room);
    const max = this.#options.limits.maxRoomsPerConnection;
    switch (message.type) {
      case "join":
        if (!connection.access.canJoin(room)) {
          return [ERROR_CODE.FORBIDDEN, `Not allowed to join room "${room}"`];
        }
        if (!member && connection.rooms.size >= max) {
          return [
            ERROR_CODE.TOO_MANY_ROOMS,
            `At most ${max} rooms per connection`,
          ];
        }
        return undefined;
      case "leave":
        return member
          ? undefined
          : [ERROR_CODE.NOT_JOINED, `Not a member of room "${room}"`];
      case "publish":
        if (!member) {
          return [
            ERROR_CODE.NOT_JOINED,
            `Join room "${room}" before publishing to it`,
          ];
        }
        if (!connection.access.canPublish(room)) {
          return [
            ERROR_CODE.FORBIDDEN,
            `Not allowed to publish to room "${room}"`,
          ];
        }
        return undefined;
    }
  }

  #sendError(
    connection: Connection,
    code: ErrorCode,
    message: string,
    ref?: MessageId,
  ): void {
    this.#options.metrics.inc("protocol_errors_total", 1, code);
    connection.send(encodeServerMessage(
      ref === undefined
        ? { type: "error", code, message }
        : { type: "error", code, message, ref },
    ));
  }
}
