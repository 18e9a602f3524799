/**
 * The rooms side of the client (internal): the rooms it wants with their
 * positions ({@linkcode RoomTracker}) and member lists
 * ({@linkcode PresenceTracker}), and the events that `joined`, `message`,
 * `presence` and join `error` frames become.
 *
 * @module
 */

import { ERROR_CODE } from "../protocol/mod.ts";
import {
  type ErrorMessage,
  isJson,
  type JoinedMessage,
  type JoinMessage,
  type Json,
  type PresenceMember,
  type PresenceMessage,
  type PublishMessage,
  type RoomMessage,
} from "../protocol/mod.ts";
import type { Emitter } from "./_emitter.ts";
import { PresenceTracker } from "./_presence.ts";
import { checkJoin, RoomTracker } from "./_room_tracker.ts";
import { RoomcastError } from "./errors.ts";
import type { ClientEvents, PublishOptions } from "./types.ts";

/** Called when a room is dropped (left, or its join refused) with the error for its queued publishes. */
export type Dropped = (room: string, error: RoomcastError) => void;

/** Rooms, positions and member lists, turned into client events. */
export class Membership {
  readonly #rooms = new RoomTracker();
  readonly #presence: PresenceTracker;
  readonly #events: Pick<Emitter<ClientEvents>, "emit">;
  readonly #dropped: Dropped;

  /** Emits on `events`; calls `dropped` for each room given up. */
  constructor(events: Pick<Emitter<ClientEvents>, "emit">, dropped: Dropped) {
    this.#events = events;
    this.#dropped = dropped;
    this.#presence = new PresenceTracker({
      presence: (event) => events.emit("presence", event),
      members: (event) => events.emit("members", event),
    });
  }

  /** Room names in join order. */
  names(): string[] {
    return this.#rooms.names();
  }

  /** Whether the client wants to be in `room`. */
  has(room: string): boolean {
    return this.#rooms.has(room);
  }

  /** The last known members of `room`. */
  members(room: string): PresenceMember[] {
    return this.#presence.members(room);
  }

  /**
   * Adds `room` with its presence `meta`; false when it was already wanted.
   *
   * @throws {TypeError} for an invalid room name or `meta` that is not JSON.
   * @throws {RangeError} for `meta` over 1 KiB.
   */
  join(room: string, meta: Json | undefined, history?: number): boolean {
    checkJoin(room, meta, history);
    return this.#rooms.add(room, meta, history);
  }

  /** The `join` frame for a wanted `room`, with a fresh id awaiting its answer. */
  joinFrame(room: string): JoinMessage {
    return this.#rooms.joinFrame(room);
  }

  /** Drops `room` (its queued publishes fail with `not_joined`); false if it was not wanted. */
  leave(room: string): boolean {
    if (!this.#rooms.delete(room)) return false;
    this.#drop(
      room,
      new RoomcastError(ERROR_CODE.NOT_JOINED, `Left room "${room}"`),
    );
    return true;
  }

  /**
   * The `publish` frame (without `id`) for `data` to `room`, or the error
   * that refuses it: `not_joined` for a room not wanted, a `TypeError` for
   * `data` that is not JSON.
   */
  publishFrame(
    room: string,
    data: Json,
    options: PublishOptions,
  ): Omit<PublishMessage, "id"> | Error {
    if (!this.#rooms.has(room)) {
      return new RoomcastError(
        ERROR_CODE.NOT_JOINED,
        `Join room "${room}" before publishing to it`,
      );
    }
    if (!isJson(data)) return new TypeError("Cannot publish: data is not JSON");
    const frame: Omit<PublishMessage, "id"> = { type: "publish", room, data };
    if (options.echo !== undefined) frame.echo = options.echo;
    if (options.durable === true) frame.durable = true;
    return frame;
  }

  /** A `join` frame for every wanted room, for a new connection. */
  joinFrames(): JoinMessage[] {
    return this.names().map((room) => this.#rooms.joinFrame(room));
  }

  /**
   * A `joined` frame: replaces the member list (`members` event) when it
   * carries one, then emits `joined`, and `recovery` when missed messages
   * are lost.
   */
  onJoined(frame: JoinedMessage): void {
    const outcome = this.#rooms.joined(frame);
    if (outcome === undefined) return; // Left meanwhile.
    const { room, offset, epoch } = frame;
    // A re-join's answer carries no list: the one held stands.
    if (frame.members !== undefined) this.#presence.reset(room, frame.members);
    this.#events.emit("joined", {
      room,
      offset,
      epoch,
      resumed: outcome.resumed,
      ...(frame.history === undefined ? {} : { history: frame.history }),
    });
    if (!outcome.recovered) {
      this.#events.emit("recovery", { room, recovered: false });
    }
  }

  /** A `message` frame: emitted unless it is a duplicate or for a room not wanted. */
  onMessage(message: RoomMessage): void {
    if (this.#rooms.accept(message)) this.#events.emit("message", message);
  }

  /** A `presence` frame: applied to the room's member list. */
  onPresence(frame: PresenceMessage): void {
    this.#presence.apply(frame);
  }

  /**
   * An `error` frame: when its `ref` is a pending join, drops that room and
   * emits `error` with `room`; returns whether it was such an answer.
   */
  onJoinError(error: ErrorMessage): boolean {
    const room = this.#rooms.failed(error.ref);
    if (room === undefined) return false;
    this.#drop(room, new RoomcastError(error.code, error.message));
    this.#events.emit("error", { ...error, room });
    return true;
  }

  #drop(room: string, error: RoomcastError): void {
    this.#dropped(room, error);
    this.#presence.delete(room);
  }
}
