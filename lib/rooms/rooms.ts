/**
 * The rooms of one isolate: membership (the registry), each room's ordered
 * stream, presence, joins with resume, and fan-out both ways: a publish of
 * this isolate is sequenced by the room log (the publisher), offered to the
 * room's local stream and posted on the bus; a post from another isolate is
 * offered to the same stream. The hub decides *whether* a connection may join
 * or publish; this decides *what it receives*.
 *
 * @module
 */

import type { BusEvent } from "../bus/bus.ts";
import type { Connection, FrameBudget } from "./connection.ts";
import {
  LogOverloadedError,
  type StoredMessage,
} from "../room_log/room_log.ts";
import { PresenceRelay } from "../presence/presence_relay.ts";
import type { PresenceChange } from "../presence/presence_table.ts";
import type { JoinMessage, Json } from "../protocol/mod.ts";
import { type PendingPublish, Publisher } from "./publisher.ts";
import { RoomRegistry } from "./room_registry.ts";
import { Joiner } from "./_joiner.ts";
import type { RoomStream } from "./room_stream.ts";
import { openStream } from "./_room_stream_open.ts";
import { PresenceWatch } from "./_presence_watch.ts";
import type {
  PublishOptions,
  RoomInfo,
  RoomsOptions,
  RoomSummary,
} from "./_rooms_options.ts";

export type {
  PublishOptions,
  RoomInfo,
  RoomsLimits,
  RoomsOptions,
  RoomSummary,
} from "./_rooms_options.ts";

/** Membership, ordered delivery and presence of this isolate's rooms. */
export class Rooms {
  readonly #registry: RoomRegistry;
  readonly #streams = new Map<string, RoomStream>();
  readonly #presence: PresenceRelay<Connection>;
  readonly #publisher: Publisher;
  readonly #options: RoomsOptions;
  readonly #joiner: Joiner;
  readonly #watch: PresenceWatch;

  /** Starts the presence heartbeat; {@linkcode Rooms.close} stops it. */
  constructor(options: RoomsOptions) {
    this.#options = options;
    this.#registry = new RoomRegistry({
      coalesceMs: options.limits.coalesceMs,
      coalesceMaxMessages: options.limits.coalesceMaxMessages ?? 256,
      framesPerTurn: options.limits.framesPerTurn ?? 1000,
      maxWaitingMessages: options.limits.fanoutMaxWaiting ?? 10_000,
      metrics: options.metrics,
      maxPendingMessages: options.limits.maxPendingMessages ?? 10_000,
      maxPendingBytes: options.limits.maxBufferedBytes ?? 1_048_576,
    });
    this.#presence = new PresenceRelay({
      bus: options.bus,
      log: options.log,
      intervalMs: options.limits.presenceIntervalMs,
      timeoutMs: options.limits.presenceTimeoutMs,
      now: options.now,
      notify: (room, frame, except) =>
        this.#registry.notify(room, frame, except),
    });
    const { bus, history, metrics } = options;
    this.#watch = new PresenceWatch({
      bus,
      metrics,
      max: options.limits.presenceWatchMax ?? 1_000,
      ttlMs: options.limits.presenceTimeoutMs,
      sync: (room) => this.#presence.sync(room),
    });
    this.#joiner = new Joiner({
      registry: this.#registry,
      presence: this.#presence,
      history,
      metrics,
      maxHistoryRead: options.limits.maxHistoryRead ?? 100,
      stream: (room) => this.#stream(room),
      leave: (room, connection) => this.leave(room, connection),
    });
    this.#publisher = new Publisher(history, (room, stored, item) => {
      this.#offer(room, stored, item.except);
      const { offset, epoch, frame } = stored;
      bus.publish({ kind: "message", room, offset, epoch, frame });
    }, (count, ms) => {
      metrics.inc("history_appends_total");
      metrics.inc("history_appended_messages_total", count);
      metrics.inc("history_append_ms_total", Math.round(ms * 1000) / 1000);
    });
  }

  /**
   * The frames (received and sent) one event-loop turn of this isolate
   * handles before the fan-out leaves the rest to the next turn: each
   * {@linkcode Connection} spends it (`budget`), and so does each frame read.
   */
  get frameBudget(): FrameBudget {
    return this.#registry.budget;
  }

  /** Number of rooms with local members. */
  get size(): number {
    return this.#registry.size;
  }

  /** Number of local connections in `room`. */
  count(room: string): number {
    return this.#registry.count(room);
  }

  /** Rooms with members on any isolate, with member and local connection counts. */
  list(): RoomSummary[] {
    const names = new Set([
      ...this.#presence.rooms(),
      ...this.#registry.rooms(),
    ]);
    return [...names].sort().map((room) => ({
      room,
      members: this.#presence.members(room).length,
      localConnections: this.#registry.count(room),
    }));
  }

  /** One room: members across isolates, local connections, latest position. */
  async info(room: string): Promise<RoomInfo> {
    // Presence travels on the room's topic: without a local member, listen.
    if (!this.#streams.has(room)) this.#watch.touch(room);
    const { offset, epoch } = await this.#options.history.head(room);
    return {
      room,
      members: this.#presence.members(room),
      localConnections: this.#registry.count(room),
      offset,
      epoch,
    };
  }

  /**
   * Joins a room. The member is pending until its starting point is known:
   * the stream's position for a fresh join, or, with `since`, the client's
   * position followed by a replay of everything it missed (or
   * `recovered:false` when the log no longer holds the whole gap).
   *
   * A join completes or leaves no trace: whatever fails once the member is
   * registered (the log, presence) takes it out of the room and out of
   * presence again, and the promise rejects. Meta that does not fit once the
   * token's name is stamped in is refused before anything is registered,
   * with a {@linkcode ProtocolError} `bad_meta`.
   *
   * A re-join of a room the connection is in is answered with a short
   * `joined` (`rejoined: true`, no member list); new `meta` replaces the
   * connection's meta (the latest given wins) and observers get a
   * `presence` `update`.
   */
  join(connection: Connection, message: JoinMessage): Promise<void> {
    return this.#joiner.join(connection, message);
  }

  /** Takes `connection` out of `room`; false when it was not a member. */
  leave(room: string, connection: Connection): boolean {
    if (!this.#registry.leave(room, connection)) return false;
    this.#presence.leave(room, connection);
    this.#free(room);
    return true;
  }

  /** Takes `connection` out of every room. */
  leaveAll(connection: Connection): void {
    for (const room of [...connection.rooms]) this.leave(room, connection);
  }

  /**
   * Publishes `data` to `room`: the log assigns the next offset and stores
   * the frame (serialized once); it is then offered to the room's local
   * stream and posted on the bus for the other isolates. Resolves with the
   * stored message (with `durable`, once it is committed). Rejects with a
   * {@linkcode LogOverloadedError} (counted, nothing published) when the
   * history store is behind.
   */
  async publish(
    room: string,
    data: Json,
    options: PublishOptions,
  ): Promise<StoredMessage> {
    const { metrics, history } = this.#options;
    metrics.inc("publishes_total");
    const item: PendingPublish = {
      data,
      ts: this.#options.now(),
      from: options.from,
    };
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

  /** Calls `fn` with every change of the deployment-wide presence; returns the function that stops it. */
  onPresence(fn: (changes: readonly PresenceChange[]) => void): () => void {
    return this.#presence.observe(fn);
  }

  /** Handles a bus event from another isolate. */
  onBusEvent(event: BusEvent): void {
    if (event.kind === "message") {
      this.#streams.get(event.room)?.offer(event);
      this.#options.history.seen?.(event.room, event);
    } else this.#presence.onBusEvent(event);
  }

  /**
   * The bus resumed after an interruption: every room's stream reads what
   * it may have missed from the room log.
   */
  resync(): void {
    for (const [room, stream] of this.#streams) {
      // Own appends in flight are delivered by their reply (with `except`).
      void stream.resync(() => this.#publisher.settled(room));
    }
  }

  /** Sends what coalescing holds, stops the streams and the presence heartbeat. */
  close(): void {
    this.#registry.close();
    for (const stream of this.#streams.values()) stream.close();
    this.#streams.clear();
    this.#watch.close();
    this.#presence.close();
  }

  /** Offers a message stored by this isolate to its room's local stream. */
  #offer(room: string, stored: StoredMessage, except?: string): void {
    this.#streams.get(room)?.offer(
      except === undefined ? stored : { ...stored, except },
    );
  }

  /** The room's stream on this isolate, created with its first local member. */
  #stream(room: string): RoomStream {
    const existing = this.#streams.get(room);
    if (existing !== undefined) return existing;
    // Hear the room's posts before reading its head: nothing falls between.
    const subscribed = this.#options.bus.join(room);
    // Its presence too: the nodes there answer with their snapshot of it.
    subscribed.then(() => this.#presence.sync(room), () => {});
    const stream = openStream(room, {
      ...this.#options,
      registry: this.#registry,
      members: (name) => this.#presence.members(name),
      subscribed,
    });
    stream.ready.catch(() => {
      if (this.#streams.get(room) === stream) {
        this.#streams.delete(room);
        this.#options.bus.leave(room);
      }
      stream.close();
    });
    this.#streams.set(room, stream);
    return stream;
  }

  /** Drops a room's stream once its last local member is gone. */
  #free(room: string): void {
    this.#options.metrics.set("rooms", this.#registry.size);
    if (this.#registry.count(room) > 0) return;
    const stream = this.#streams.get(room);
    if (stream === undefined) return;
    stream.close();
    this.#streams.delete(room);
    this.#options.bus.leave(room); // after the grace period
  }
}
