/**
 * The hub: the pure core of the service. It takes connections from the edge,
 * dispatches their frames, keeps the room registry, assigns offsets, delivers
 * to local members and hands each message to the bus for the other isolates.
 * No `Deno.*` and no network here: sockets, bus and clock are injected.
 *
 * @module
 */

import type { Bus, BusEvent } from "./bus/bus.ts";
import { CLOSE_CODE, ERROR_CODE, type ErrorCode } from "./codes.ts";
import { type Access, Connection, type SocketLike } from "./connection.ts";
import type { RoomLog, StoredMessage } from "./history/history.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import {
  type ClientMessage,
  encodeServerMessage,
  type JoinMessage,
  type Json,
  type MessageId,
  parseClientMessage,
  type PresenceMember,
  PROTOCOL_VERSION,
  ProtocolError,
} from "./protocol.ts";
import { PresenceRelay } from "./presence_relay.ts";
import { TokenBucket } from "./rate_limit.ts";
import { type PendingPublish, Publisher } from "./publisher.ts";
import { RoomRegistry } from "./room_registry.ts";
import { RoomStream } from "./room_stream.ts";

/** Limits and timings the hub enforces. */
export interface HubLimits {
  /** Largest accepted client frame in UTF-8 bytes; larger closes with 1009. */
  maxMessageBytes: number;
  /** Outbound bytes queued for one client before it is closed as slow (1013). */
  maxBufferedBytes: number;
  /** Interval announced in `welcome` for app-level pings, in ms. */
  heartbeatMs: number;
  /** How long a hole in a room's stream may stay open before history fills it, in ms. */
  repairDelayMs: number;
  /** Presence heartbeat interval, ms. */
  presenceIntervalMs: number;
  /** A node silent this long loses its members, ms. */
  presenceTimeoutMs: number;
  /** Messages per second a connection may send. */
  rateLimitPerS: number;
  /** Burst a connection may send at once. */
  rateLimitBurst: number;
  /** Messages refused for rate in a row before the connection is closed (4029). */
  rateLimitStrikes: number;
  /** Rooms one connection may be in at once. */
  maxRoomsPerConnection: number;
  /** Frame coalescing window for batch clients, ms (0: never wait). */
  coalesceMs: number;
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

/** Per-connection state the hub keeps beside the connection. */
interface ConnectionState {
  bucket: TokenBucket;
  strikes: number;
  expiry: ReturnType<typeof setTimeout> | undefined;
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
}

/** A line of {@linkcode Hub.roomList}. */
export interface RoomSummary {
  room: string;
  /** Members present across every isolate. */
  members: number;
  /** Connections to the room on this isolate. */
  localConnections: number;
}

/** The answer of {@linkcode Hub.roomInfo}. */
export interface RoomInfo {
  room: string;
  members: PresenceMember[];
  localConnections: number;
  /** Latest offset and its epoch. */
  offset: number;
  epoch: string;
}

/** Counts for health checks. */
export interface HubStats {
  connections: number;
  rooms: number;
}

/** Routes frames between connections, rooms and the bus. */
export class Hub {
  readonly #rooms: RoomRegistry;
  readonly #streams = new Map<string, RoomStream>();
  readonly #connections = new Map<Connection, ConnectionState>();
  readonly #publisher: Publisher;
  readonly #presence: PresenceRelay;
  readonly #options: HubOptions;
  readonly #now: () => number;
  readonly #unsubscribe: () => void;
  #nextId = 0;
  #draining = false;

  /** Creates a hub and subscribes it to the bus. */
  constructor(options: HubOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#rooms = new RoomRegistry({
      coalesceMs: options.limits.coalesceMs,
      metrics: options.metrics,
    });
    this.#unsubscribe = options.bus.subscribe((event) =>
      this.#onBusEvent(event)
    );
    this.#presence = new PresenceRelay({
      bus: options.bus,
      log: options.log,
      intervalMs: options.limits.presenceIntervalMs,
      timeoutMs: options.limits.presenceTimeoutMs,
      now: this.#now,
      notify: (room, frame, except) => this.#rooms.notify(room, frame, except),
    });
    this.#publisher = new Publisher(options.history, (room, stored, item) => {
      this.#streams.get(room)?.offer(
        item.except === undefined ? stored : { ...stored, except: item.except },
      );
      const { offset, epoch, frame } = stored;
      options.bus.publish({ kind: "message", room, offset, epoch, frame });
    }, (count, ms) => {
      options.metrics.inc("history_appends_total");
      options.metrics.inc("history_appended_messages_total", count);
      options.metrics.inc(
        "history_append_ms_total",
        Math.round(ms * 1000) / 1000,
      );
    });
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

  /**
   * Rooms with members on any isolate (from presence), each with its member
   * count across isolates and its connections on this isolate.
   */
  roomList(): RoomSummary[] {
    const names = new Set([...this.#presence.rooms(), ...this.#rooms.rooms()]);
    return [...names].sort().map((room) => ({
      room,
      members: this.#presence.members(room).length,
      localConnections: this.#rooms.count(room),
    }));
  }

  /** One room: its members across isolates, local connections and stream position. */
  async roomInfo(room: string): Promise<RoomInfo> {
    const { offset, epoch } = await this.#options.history.head(room);
    return {
      room,
      members: this.#presence.members(room),
      localConnections: this.#rooms.count(room),
      offset,
      epoch,
    };
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
    const now = this.#now();
    const expiry = options.expiresAt === undefined ? undefined : setTimeout(
      () => {
        metrics.inc("token_expiries_total");
        connection.close(CLOSE_CODE.TOKEN_EXPIRED, "Token expired");
      },
      Math.max(0, options.expiresAt - now),
    );
    this.#connections.set(connection, {
      bucket: new TokenBucket(limits.rateLimitPerS, limits.rateLimitBurst, now),
      strikes: 0,
      expiry,
    });
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
    const state = this.#connections.get(connection);
    if (state === undefined) return;
    this.#connections.delete(connection);
    clearTimeout(state.expiry);
    for (const room of this.#rooms.leaveAll(connection)) {
      this.#presence.leave(room, connection);
      this.#freeRoom(room);
    }
    const { metrics } = this.#options;
    metrics.inc("connections_closed_total", 1, String(code ?? "server"));
    metrics.set("connections", this.#connections.size);
    metrics.set("rooms", this.#rooms.size);
  }

  /** Handles one frame from a client. Never throws. */
  receive(connection: Connection, data: unknown): void {
    const { metrics, limits, log } = this.#options;
    metrics.inc("messages_in_total");
    if (typeof data !== "string") {
      connection.close(
        CLOSE_CODE.UNSUPPORTED_DATA,
        "Binary frames are not supported",
      );
      return;
    }
    metrics.inc("bytes_in_total", data.length);
    if (!this.#admit(connection)) return;
    if (exceedsUtf8Bytes(data, limits.maxMessageBytes)) {
      connection.close(
        CLOSE_CODE.MESSAGE_TOO_BIG,
        `Message exceeds ${limits.maxMessageBytes} bytes`,
      );
      return;
    }
    let message: ClientMessage;
    try {
      message = parseClientMessage(data);
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.#sendError(connection, error.code, error.message, error.ref);
        return;
      }
      throw error;
    }
    try {
      this.#dispatch(connection, message);
    } catch (error) {
      log.error("Handler failed", {
        type: message.type,
        error: String(error),
      });
      this.#sendError(
        connection,
        ERROR_CODE.INTERNAL,
        "Internal error",
        "id" in message ? message.id : undefined,
      );
    }
  }

  /**
   * Publishes `data` to `room`: the log assigns the next offset and stores
   * the frame (serialized once); it is then delivered to local members in
   * offset order and handed to the bus for the other isolates. Resolves with
   * the stored message.
   */
  publish(
    room: string,
    data: Json,
    options: PublishOptions,
  ): Promise<StoredMessage> {
    this.#options.metrics.inc("publishes_total");
    const item: PendingPublish = { data, ts: this.#now(), from: options.from };
    if (options.except !== undefined) item.except = options.except;
    return this.#publisher.publish(room, item);
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
    for (const stream of this.#streams.values()) stream.close();
    this.#streams.clear();
    this.#presence.close();
    this.#unsubscribe();
  }

  /**
   * Rate limit: a message over the connection's budget gets `rate_limited`;
   * `rateLimitStrikes` refusals in a row close it with 4029.
   */
  #admit(connection: Connection): boolean {
    const state = this.#connections.get(connection);
    if (state === undefined) return false;
    if (state.bucket.take(this.#now())) {
      state.strikes = 0;
      return true;
    }
    const { metrics, limits } = this.#options;
    metrics.inc("rate_limited_total");
    state.strikes += 1;
    if (state.strikes >= limits.rateLimitStrikes) {
      connection.close(CLOSE_CODE.RATE_LIMITED, "Too many messages");
    } else {
      this.#sendError(
        connection,
        ERROR_CODE.RATE_LIMITED,
        `Over ${limits.rateLimitPerS} messages per second: message dropped`,
      );
    }
    return false;
  }

  #dispatch(connection: Connection, message: ClientMessage): void {
    switch (message.type) {
      case "join":
        if (!connection.access.canJoin(message.room)) {
          this.#sendError(
            connection,
            ERROR_CODE.FORBIDDEN,
            `Not allowed to join room "${message.room}"`,
            message.id,
          );
          return;
        }
        if (
          !connection.rooms.has(message.room) &&
          connection.rooms.size >= this.#options.limits.maxRoomsPerConnection
        ) {
          this.#sendError(
            connection,
            ERROR_CODE.TOO_MANY_ROOMS,
            `At most ${this.#options.limits.maxRoomsPerConnection} rooms per connection`,
            message.id,
          );
          return;
        }
        this.#join(connection, message).catch((error) => {
          this.#options.log.error("Join failed", {
            room: message.room,
            error: String(error),
          });
          if (this.#rooms.leave(message.room, connection)) {
            this.#freeRoom(message.room);
          }
          this.#sendError(
            connection,
            ERROR_CODE.INTERNAL,
            `Could not join room "${message.room}"`,
            message.id,
          );
        });
        return;
      case "leave": {
        if (!this.#rooms.leave(message.room, connection)) {
          this.#sendError(
            connection,
            ERROR_CODE.NOT_JOINED,
            `Not a member of room "${message.room}"`,
            message.id,
          );
          return;
        }
        this.#presence.leave(message.room, connection);
        this.#freeRoom(message.room);
        connection.send(
          encodeServerMessage({ type: "left", room: message.room }),
        );
        return;
      }
      case "publish": {
        const { room, data, id } = message;
        if (!connection.rooms.has(room)) {
          this.#sendError(
            connection,
            ERROR_CODE.NOT_JOINED,
            `Join room "${room}" before publishing to it`,
            id,
          );
          return;
        }
        if (!connection.access.canPublish(room)) {
          this.#sendError(
            connection,
            ERROR_CODE.FORBIDDEN,
            `Not allowed to publish to room "${room}"`,
            id,
          );
          return;
        }
        const options: PublishOptions = { from: connection.id };
        if (message.echo === false) options.except = connection.id;
        this.publish(room, data, options).then(
          ({ offset }) => {
            if (id === undefined) return;
            connection.send(encodeServerMessage({ type: "ack", id, offset }));
          },
          (error) => {
            this.#options.log.error("Publish failed", {
              room,
              error: String(error),
            });
            this.#sendError(
              connection,
              ERROR_CODE.INTERNAL,
              "Publish failed",
              id,
            );
          },
        );
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

  /**
   * Joins a room. The member is pending until its starting point is known:
   * the stream's position for a fresh join, or, with `since`, the client's
   * position followed by a replay of everything it missed (or
   * `recovered:false` when the log no longer holds the whole gap).
   */
  async #join(connection: Connection, message: JoinMessage): Promise<void> {
    const { room, since } = message;
    const member = this.#rooms.join(room, connection);
    this.#options.metrics.set("rooms", this.#rooms.size);
    const stream = this.#stream(room);
    if (member === undefined) {
      // Already a member: confirm where it stands.
      const last = this.#rooms.member(room, connection)?.last ?? 0;
      await stream.ready;
      this.#sendJoined(connection, room, last, stream.position.epoch);
      return;
    }
    await stream.ready;
    let after: number | undefined;
    let recovered: boolean | undefined;
    let replay: StoredMessage[] = [];
    if (since !== undefined) {
      const result = await this.#options.history.since(room, since);
      recovered = result.recovered;
      this.#options.metrics.inc("resumes_total", 1, String(recovered));
      if (result.recovered) {
        after = since.offset;
        replay = result.messages;
      }
    }
    // The connection may have left or closed while the log answered.
    if (this.#rooms.member(room, connection) !== member) return;
    after ??= member.pending?.[0] !== undefined
      ? member.pending[0].offset - 1
      : stream.position.offset;
    // Presence is opt-in, as with the peers (Phoenix track, Ably enter):
    // an audience of thousands costs nothing until it asks to be seen.
    const tracked = message.presence ?? message.meta !== undefined;
    const changes = tracked
      ? this.#presence.join(
        room,
        connection,
        stampName(message.meta ?? null, connection.access.name),
      )
      : [];
    const epoch = recovered === true && since !== undefined
      ? since.epoch
      : stream.position.epoch;
    this.#sendJoined(connection, room, after, epoch, recovered);
    this.#rooms.release(connection, member, { offset: after, epoch }, replay);
    this.#presence.announce(changes, connection);
  }

  #sendJoined(
    connection: Connection,
    room: string,
    offset: number,
    epoch: string,
    recovered?: boolean,
  ): void {
    const members = this.#presence.members(room);
    connection.send(encodeServerMessage(
      recovered === undefined
        ? { type: "joined", room, offset, epoch, members }
        : { type: "joined", room, offset, epoch, recovered, members },
    ));
  }

  /** The room's stream on this isolate, created with its first local member. */
  #stream(room: string): RoomStream {
    let stream = this.#streams.get(room);
    if (stream !== undefined) return stream;
    const { metrics, log, history, limits } = this.#options;
    const created = new RoomStream({
      room,
      log: history,
      repairDelayMs: limits.repairDelayMs,
      deliver: (message) => this.#rooms.broadcast(room, message),
      onRepair: (count) => metrics.inc("history_repaired_total", count),
      onLoss: (count, position) => {
        metrics.inc("messages_lost_total", count);
        log.warn("Messages lost: history no longer holds them", {
          room,
          count,
          after: position.offset,
        });
        // Never silently: members learn it as they would on a failed resume.
        this.#rooms.notify(
          room,
          encodeServerMessage({
            type: "joined",
            room,
            offset: position.offset + count,
            epoch: position.epoch,
            recovered: false,
            members: this.#presence.members(room),
          }),
        );
      },
      onError: (error) =>
        log.error("History read failed", { room, error: String(error) }),
    });
    created.ready.catch(() => {
      if (this.#streams.get(room) === created) this.#streams.delete(room);
      created.close();
    });
    this.#streams.set(room, created);
    stream = created;
    return stream;
  }

  /** Drops a room's stream once its last local member is gone. */
  #freeRoom(room: string): void {
    this.#options.metrics.set("rooms", this.#rooms.size);
    if (this.#rooms.count(room) > 0) return;
    this.#streams.get(room)?.close();
    this.#streams.delete(room);
  }

  #onBusEvent(event: BusEvent): void {
    if (event.kind === "message") this.#streams.get(event.room)?.offer(event);
    else this.#presence.onBusEvent(event);
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

/**
 * Presence metadata with the token's display name stamped in (it wins over
 * whatever the client claims): `{...meta, name}` for object metadata.
 */
function stampName(meta: Json, name: string | undefined): Json {
  if (name === undefined) return meta;
  const base = typeof meta === "object" && meta !== null && !Array.isArray(meta)
    ? meta
    : {};
  return { ...base, name };
}

/**
 * Whether `text` takes more than `limit` bytes in UTF-8. Decided from
 * `text.length` alone when it can be (one to three bytes per UTF-16 unit);
 * otherwise counts, stopping as soon as the limit is passed.
 */
export function exceedsUtf8Bytes(text: string, limit: number): boolean {
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4; // a surrogate pair: one 4-byte code point
      i += 1;
    } else bytes += 3;
    if (bytes > limit) return true;
  }
  return false;
}
