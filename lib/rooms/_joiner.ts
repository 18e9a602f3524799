/**
 * Joins with resume, for {@linkcode Rooms} (internal): a member is pending
 * until its starting point is known, then gets its `joined`, any replay and
 * the live messages it held, in order; a re-join updates presence meta and
 * confirms the position in a few bytes.
 *
 * @module
 */

import type { Connection } from "./connection.ts";
import type { PresenceRelay } from "../presence/presence_relay.ts";
import {
  encodeServerMessage,
  type JoinMessage,
  type Json,
} from "../protocol/mod.ts";
import type { RoomLog, StoredMessage } from "../room_log/room_log.ts";
import type { Metrics } from "../support/metrics.ts";
import type { Member, RoomRegistry } from "./room_registry.ts";
import type { RoomStream } from "./room_stream.ts";
import { storedMeta } from "./_room_stream_open.ts";
import { readRecent } from "../room_log/recent.ts";

/** What a {@linkcode Joiner} works with: the parts of its {@linkcode Rooms}. */
export interface JoinerParts {
  registry: RoomRegistry;
  presence: PresenceRelay<Connection>;
  history: RoomLog;
  metrics: Metrics;
  /** Most stored messages a `join` with `history` replays. */
  maxHistoryRead: number;
  /** The room's stream on this isolate, created with its first local member. */
  stream(room: string): RoomStream;
  /** Takes `connection` out of `room` (and presence); false when it was not a member. */
  leave(room: string, connection: Connection): boolean;
}

/** Runs the joins of one {@linkcode Rooms}; see {@linkcode Rooms.join}. */
export class Joiner {
  readonly #parts: JoinerParts;
  /** The meta a join in progress enters presence with (a re-join may replace it). */
  readonly #joining = new WeakMap<Member, Json>();

  /** Joins into `parts`. */
  constructor(parts: JoinerParts) {
    this.#parts = parts;
  }

  /** Joins a room; completes or leaves no trace (see {@linkcode Rooms.join}). */
  async join(connection: Connection, message: JoinMessage): Promise<void> {
    const { registry, presence, history, metrics } = this.#parts;
    const { room } = message;
    let since = message.since;
    // Presence is opt-in, as with the peers (Phoenix track, Ably enter):
    // an audience of thousands costs nothing until it asks to be seen.
    const tracked = message.presence ?? message.meta !== undefined;
    const meta = tracked
      ? storedMeta(message.meta ?? null, connection.access.name)
      : undefined;
    const existing = registry.member(room, connection);
    if (existing !== undefined) {
      return await this.#rejoin(connection, room, existing, meta);
    }
    const member = registry.join(room, connection)!;
    metrics.set("rooms", registry.size);
    if (meta !== undefined) this.#joining.set(member, meta);
    try {
      const stream = this.#parts.stream(room);
      await stream.ready;
      let after: number | undefined;
      let recovered: boolean | undefined;
      let replay: StoredMessage[] = [];
      let replayed: number | undefined;
      if (since === undefined && message.history !== undefined) {
        // The latest N before live: a resume from just before them.
        const head = stream.position;
        const want = Math.min(message.history, this.#parts.maxHistoryRead);
        replay = await readRecent(history, room, head, want);
        replayed = replay.length;
        metrics.inc("join_history_messages_total", replayed);
        after = replay[0] === undefined ? head.offset : replay[0].offset - 1;
        since = { offset: after, epoch: head.epoch };
        recovered = undefined;
      } else if (since !== undefined) {
        const result = await history.since(room, since);
        recovered = result.recovered;
        metrics.inc("resumes_total", 1, String(recovered));
        if (result.recovered) {
          after = since.offset;
          replay = result.messages;
        }
      }
      // The connection may have left or closed while the log answered.
      if (registry.member(room, connection) !== member) return;
      after ??= member.pending?.[0] !== undefined
        ? member.pending[0].offset - 1
        : stream.position.offset;
      const latest = this.#joining.get(member);
      const changes = latest === undefined
        ? []
        : presence.join(room, connection, latest);
      const epoch = (recovered === true || replayed !== undefined) &&
          since !== undefined
        ? since.epoch
        : stream.position.epoch;
      this.#sendJoined(connection, room, after, epoch, recovered, replayed);
      registry.release(
        connection,
        member,
        { offset: after, epoch },
        replay,
      );
      presence.announce(changes, connection);
    } catch (error) {
      // One funnel: nothing of a failed join stays behind.
      if (registry.member(room, connection) === member) {
        this.#parts.leave(room, connection);
      }
      throw error;
    } finally {
      this.#joining.delete(member);
    }
  }

  /**
   * A join of a room the connection is in: updates its meta when given and
   * confirms its position in a few bytes (the member list it has already).
   */
  async #rejoin(
    connection: Connection,
    room: string,
    member: Member,
    meta: Json | undefined,
  ): Promise<void> {
    const { registry, presence, metrics } = this.#parts;
    metrics.inc("rejoins_total");
    if (member.pending !== null) {
      // The first join is still completing: it enters presence with this.
      if (meta !== undefined) this.#joining.set(member, meta);
      await this.#parts.stream(room).ready;
      if (registry.member(room, connection) !== member) {
        throw new Error(`Left room "${room}" while joining`);
      }
    }
    const changes = meta === undefined || member.pending !== null
      ? []
      : presence.join(room, connection, meta);
    const epoch = member.pending === null
      ? member.epoch
      : this.#parts.stream(room).position.epoch;
    connection.send(encodeServerMessage({
      type: "joined",
      room,
      offset: member.last,
      epoch,
      rejoined: true,
    }));
    // Its own change too: a re-joiner gets no member list to read it from.
    presence.announce(changes);
  }

  #sendJoined(
    connection: Connection,
    room: string,
    offset: number,
    epoch: string,
    recovered?: boolean,
    history?: number,
  ): void {
    const members = this.#parts.presence.members(room);
    connection.send(encodeServerMessage({
      type: "joined",
      room,
      offset,
      epoch,
      ...(recovered === undefined ? {} : { recovered }),
      members,
      ...(history === undefined ? {} : { history }),
    }));
  }
}
