/**
 * The hub: the pure core of the service. It takes connections from the edge,
 * applies their limits and dispatches their frames to the rooms (which
 * sequence, deliver and fan out), and terminates members on every node.
 * No `Deno.*` and no network here: sockets, bus and clock are injected.
 *
 * @module
 */

import type { Bus } from "../bus/bus.ts";
import { CLOSE_CODE } from "../protocol/mod.ts";
import {
  Connection,
  type ConnectionOptions,
  type SocketLike,
} from "../rooms/connection.ts";
import {
  ConnectionGuard,
  type ConnectionGuardOptions,
} from "./connection_guard.ts";
import { dispatch, type DispatchParts, sendError } from "./_dispatch.ts";
import type { HistorySize, StoredMessage } from "../room_log/room_log.ts";
import {
  type HistoryQuery,
  type HistoryRead,
  readHistory,
} from "./_history_read.ts";
import {
  type ConnectOptions,
  guardOptionsOf,
  type HubLimits,
  type HubOptions,
  type HubStats,
  welcomeOf,
} from "./_hub_options.ts";
import { type Json, type WelcomeEncoder } from "../protocol/mod.ts";
import type { PresenceChange } from "../presence/presence_table.ts";
import {
  type PublishOptions,
  type RoomInfo,
  Rooms,
  type RoomSummary,
} from "../rooms/rooms.ts";

export type {
  ConnectOptions,
  HistoryQuery,
  HistoryRead,
  HubLimits,
  HubOptions,
  HubStats,
  PresenceChange,
  PublishOptions,
  RoomInfo,
  RoomSummary,
};

/** Routes frames between connections, rooms and the bus. */
export class Hub {
  readonly #rooms: Rooms;
  readonly #connections = new Map<Connection, ConnectionGuard>();
  readonly #options: HubOptions;
  readonly #now: () => number;
  readonly #unsubscribe: () => void;
  readonly #dispatchParts: DispatchParts;
  readonly #onShutdown: Array<() => void> = [];
  /** The `welcome` frame, its fixed part serialized once. */
  readonly #welcome: WelcomeEncoder;
  /** Connection ids: this node's first 8 characters, a dash, a counter. */
  readonly #idPrefix: string;
  /** Every connection's `onClose` (one function, not one per connection). */
  readonly #onConnectionClose = (connection: Connection, code: number) =>
    this.disconnect(connection, code);
  /** The per-connection guard settings every connection shares. */
  readonly #guardOptions: Omit<ConnectionGuardOptions, "onExpire">;
  #nextId = 0;
  #draining = false;

  /** Creates a hub and subscribes it to the bus. */
  constructor(options: HubOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const { bus, history, metrics, log, limits } = options;
    this.#idPrefix = `${bus.nodeId.slice(0, 8)}-`;
    this.#guardOptions = guardOptionsOf(limits, this.#now);
    this.#rooms = new Rooms({
      bus,
      history,
      metrics,
      log,
      limits,
      now: this.#now,
    });
    this.#welcome = welcomeOf(limits);
    this.#dispatchParts = {
      rooms: this.#rooms,
      log,
      metrics,
      now: this.#now,
      limits,
      sendError: (connection, code, message, ref) =>
        sendError(metrics, connection, code, message, ref),
    };
    const stopEvents = bus.subscribe((event) => {
      if (event.kind === "terminate") this.#terminateLocal(event.member);
      else this.#rooms.onBusEvent(event);
    });
    // Posts lost while the bus was interrupted: the rooms read them back.
    const stopResume = bus.onResume(() => this.#rooms.resync());
    this.#unsubscribe = () => {
      stopEvents();
      stopResume();
    };
  }

  /** The bus to the other isolates, for layers above that share state of their own. */
  get bus(): Bus {
    return this.#options.bus;
  }

  /**
   * Calls `fn` with every change of the deployment-wide presence (a member
   * joined or left a room on any node; every node sees the same); returns
   * the function that stops it.
   */
  onPresence(fn: (changes: readonly PresenceChange[]) => void): () => void {
    return this.#rooms.onPresence(fn);
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

  /** Messages and bytes of `room`'s history, when the room log counts them. */
  async historySize(room: string): Promise<HistorySize | undefined> {
    return await this.#options.history.historySize?.(room);
  }

  /**
   * Deletes `room`'s stored history (offset and epoch stay), when the room
   * log can: how many messages went, or undefined when it cannot.
   */
  async dropHistory(room: string): Promise<number | undefined> {
    return await this.#options.history.dropHistory?.(room);
  }

  /**
   * Reads stored messages of `room`: after offset `since` (of `epoch`, by
   * default the current one), or without `since` the latest; at most
   * `limit`, oldest first (see {@linkcode readHistory}).
   */
  readHistory(room: string, options: HistoryQuery): Promise<HistoryRead> {
    const { history, metrics } = this.#options;
    metrics.inc("history_reads_total");
    return readHistory(history, room, options);
  }

  /**
   * Registers an open socket and greets it with `welcome`. Call it from the
   * socket's `open` event; feed its frames to {@linkcode Hub.receive} and its
   * `close` event to {@linkcode Hub.disconnect}.
   */
  connect(socket: SocketLike, options: ConnectOptions = {}): Connection {
    const { metrics, limits } = this.#options;
    const id = this.#idPrefix + (++this.#nextId).toString(36);
    // One object shape per connection (no conditional spreads: each one
    // copied property by property), the shared parts made once.
    const own: ConnectionOptions = {
      maxBufferedBytes: limits.maxBufferedBytes,
      metrics,
      onClose: this.#onConnectionClose,
    };
    if (options.paced !== false) own.budget = this.#rooms.frameBudget;
    if (options.memberId !== undefined) own.memberId = options.memberId;
    if (options.access !== undefined) own.access = options.access;
    if (options.batch !== undefined) own.batch = options.batch;
    const connection = new Connection(id, socket, own);
    const guard: ConnectionGuardOptions = {
      ...this.#guardOptions,
      onExpire: () => {
        metrics.inc("token_expiries_total");
        connection.close(CLOSE_CODE.TOKEN_EXPIRED, "Token expired");
      },
    };
    if (options.expiresAt !== undefined) guard.expiresAt = options.expiresAt;
    this.#connections.set(connection, new ConnectionGuard(guard));
    metrics.inc("connections_opened_total");
    metrics.set("connections", this.#connections.size);
    this.#options.log.debug("Client connected", {
      connection: id,
      member: connection.memberId,
      batch: options.batch ?? false,
    });
    connection.send(this.#welcome(id, connection.memberId));
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
    this.#options.log.debug("Client disconnected", {
      connection: connection.id,
      code: code ?? null,
    });
    metrics.set("connections", this.#connections.size);
    metrics.set("rooms", this.#rooms.size);
  }

  /** Handles one frame from a client. Never throws. */
  receive(connection: Connection, data: unknown): void {
    const { metrics } = this.#options;
    const guard = this.#connections.get(connection);
    if (guard === undefined) return;
    metrics.inc("messages_in_total");
    if (typeof data === "string") metrics.inc("bytes_in_total", data.length);
    // Reading a frame costs the turn like writing one (the fan-out paces by both).
    this.#rooms.frameBudget.spend(1);
    dispatch(this.#dispatchParts, connection, guard.inspect(data));
  }

  /**
   * The tokens (fractional) left in `connection`'s rate-limit bucket now, or
   * undefined once it is gone (the SSE POST's answer reports them).
   */
  tokensOf(connection: Connection): number | undefined {
    return this.#connections.get(connection)?.tokens();
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
   * a `LogOverloadedError` (counted, nothing published) when the
   * history store is behind.
   */
  publish(
    room: string,
    data: Json,
    options: PublishOptions,
  ): Promise<StoredMessage> {
    return this.#rooms.publish(room, data, options);
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
}
