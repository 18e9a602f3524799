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
import { Connection, type SocketLike } from "./connection.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import {
  type ClientMessage,
  encodeServerMessage,
  type Json,
  type MessageId,
  parseClientMessage,
  PROTOCOL_VERSION,
  ProtocolError,
  type RoomMessage,
} from "./protocol.ts";
import { RoomRegistry } from "./room_registry.ts";
import type { Sequencer } from "./sequencer.ts";

/** Limits and timings the hub enforces. */
export interface HubLimits {
  /** Largest accepted client frame in UTF-8 bytes; larger closes with 1009. */
  maxMessageBytes: number;
  /** Outbound bytes queued for one client before it is closed as slow (1013). */
  maxBufferedBytes: number;
  /** Interval announced in `welcome` for app-level pings, in ms. */
  heartbeatMs: number;
}

/** What the hub is built from. */
export interface HubOptions {
  bus: Bus;
  sequencer: Sequencer;
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
  /** A local member that must not receive it (publish with `echo:false`). */
  except?: Connection;
}

/** Counts for health checks. */
export interface HubStats {
  connections: number;
  rooms: number;
}

/** Routes frames between connections, rooms and the bus. */
export class Hub {
  readonly #rooms = new RoomRegistry();
  readonly #connections = new Set<Connection>();
  readonly #options: HubOptions;
  readonly #now: () => number;
  readonly #unsubscribe: () => void;
  #nextId = 0;
  #draining = false;

  /** Creates a hub and subscribes it to the bus. */
  constructor(options: HubOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#unsubscribe = options.bus.subscribe((event) =>
      this.#onBusEvent(event)
    );
  }

  /** Whether the hub stopped accepting connections (shutdown in progress). */
  get draining(): boolean {
    return this.#draining;
  }

  /** Current counts. */
  stats(): HubStats {
    return { connections: this.#connections.size, rooms: this.#rooms.size };
  }

  /** Number of local members of `room`. */
  memberCount(room: string): number {
    return this.#rooms.count(room);
  }

  /**
   * Registers an open socket and greets it with `welcome`. Call it from the
   * socket's `open` event; feed its frames to {@linkcode Hub.receive} and its
   * `close` event to {@linkcode Hub.disconnect}.
   */
  connect(socket: SocketLike): Connection {
    const { metrics, bus, limits } = this.#options;
    const id = `${bus.nodeId.slice(0, 8)}-${(++this.#nextId).toString(36)}`;
    const connection = new Connection(id, socket, {
      maxBufferedBytes: limits.maxBufferedBytes,
      metrics,
      onClose: (c, code) => this.disconnect(c, code),
    });
    this.#connections.add(connection);
    metrics.inc("connections_opened_total");
    metrics.set("connections", this.#connections.size);
    connection.send(encodeServerMessage({
      type: "welcome",
      connectionId: id,
      heartbeatMs: limits.heartbeatMs,
      protocol: PROTOCOL_VERSION,
    }));
    return connection;
  }

  /** Forgets a connection: it leaves every room. Idempotent. */
  disconnect(connection: Connection, code?: number): void {
    if (!this.#connections.delete(connection)) return;
    this.#rooms.leaveAll(connection);
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
   * Publishes `data` to `room`: assigns the next offset, serializes the frame
   * once, delivers it to local members and queues it for the other isolates.
   * Returns the message as delivered.
   */
  publish(room: string, data: Json, options: PublishOptions): RoomMessage {
    const { sequencer, bus, metrics } = this.#options;
    const { offset, epoch } = sequencer.next(room);
    const message: RoomMessage = {
      type: "message",
      room,
      data,
      offset,
      epoch,
      ts: this.#now(),
      from: options.from,
    };
    const frame = encodeServerMessage(message);
    metrics.inc("publishes_total");
    this.#rooms.broadcast(room, frame, options.except);
    bus.publish({ kind: "message", room, offset, epoch, frame });
    return message;
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
    for (const connection of [...this.#connections]) {
      connection.close(code, reason);
    }
    this.#unsubscribe();
  }

  #dispatch(connection: Connection, message: ClientMessage): void {
    switch (message.type) {
      case "join": {
        this.#rooms.join(message.room, connection);
        this.#options.metrics.set("rooms", this.#rooms.size);
        const { offset, epoch } = this.#options.sequencer.current(
          message.room,
        );
        connection.send(encodeServerMessage({
          type: "joined",
          room: message.room,
          offset,
          epoch,
        }));
        return;
      }
      case "leave": {
        if (!this.#rooms.leave(message.room, connection)) {
          this.#sendError(
            connection,
            ERROR_CODE.NOT_JOINED,
            `Not a member of room "${message.room}"`,
          );
          return;
        }
        this.#options.metrics.set("rooms", this.#rooms.size);
        connection.send(
          encodeServerMessage({ type: "left", room: message.room }),
        );
        return;
      }
      case "publish": {
        if (!connection.rooms.has(message.room)) {
          this.#sendError(
            connection,
            ERROR_CODE.NOT_JOINED,
            `Join room "${message.room}" before publishing to it`,
            message.id,
          );
          return;
        }
        const options: PublishOptions = { from: connection.id };
        if (message.echo === false) options.except = connection;
        const { offset } = this.publish(message.room, message.data, options);
        if (message.id !== undefined) {
          connection.send(
            encodeServerMessage({ type: "ack", id: message.id, offset }),
          );
        }
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

  #onBusEvent(event: BusEvent): void {
    switch (event.kind) {
      case "message":
        this.#options.sequencer.observe(event.room, event);
        this.#rooms.broadcast(event.room, event.frame);
        return;
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
