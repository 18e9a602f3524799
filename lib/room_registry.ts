/**
 * Rooms and their local members: a two-way index between room names and
 * connections, with per-member delivery state. Empty rooms are freed at once.
 *
 * A member joining with a resume position is *pending* until its replay has
 * been sent: live messages for it are held, then released in order, and a
 * member never receives an offset twice.
 *
 * @module
 */

import type { Connection } from "./connection.ts";
import type { StreamMessage } from "./room_stream.ts";

/** Delivery state of one connection in one room. */
export interface Member {
  /** Highest offset sent to this member. */
  last: number;
  /** Live messages held while the join completes, or null once live. */
  pending: StreamMessage[] | null;
}

/** The local rooms of one isolate. */
export class RoomRegistry {
  #rooms = new Map<string, Map<Connection, Member>>();

  /** Number of rooms with at least one local member. */
  get size(): number {
    return this.#rooms.size;
  }

  /**
   * Adds `connection` to `room` as a pending member and returns its state,
   * or undefined when it was already a member.
   */
  join(room: string, connection: Connection): Member | undefined {
    let members = this.#rooms.get(room);
    if (members === undefined) {
      members = new Map();
      this.#rooms.set(room, members);
    }
    if (members.has(connection)) return undefined;
    const member: Member = { last: 0, pending: [] };
    members.set(connection, member);
    connection.rooms.add(room);
    return member;
  }

  /** The member state of `connection` in `room`, if it is a member. */
  member(room: string, connection: Connection): Member | undefined {
    return this.#rooms.get(room)?.get(connection);
  }

  /** Removes `connection` from `room`; returns false when it was not a member. */
  leave(room: string, connection: Connection): boolean {
    const members = this.#rooms.get(room);
    if (members === undefined || !members.delete(connection)) return false;
    connection.rooms.delete(room);
    if (members.size === 0) this.#rooms.delete(room);
    return true;
  }

  /** Removes `connection` from every room; returns the rooms it left. */
  leaveAll(connection: Connection): string[] {
    const left = [...connection.rooms];
    for (const room of left) this.leave(room, connection);
    return left;
  }

  /** Number of local members of `room`. */
  count(room: string): number {
    return this.#rooms.get(room)?.size ?? 0;
  }

  /** Names of the rooms with local members. */
  rooms(): IterableIterator<string> {
    return this.#rooms.keys();
  }

  /**
   * Sends a message, serialized once, to every live member of its room
   * (except `message.except`) that has not had its offset yet; pending
   * members hold it. A failing member never stops the loop. Returns how many
   * sends succeeded.
   */
  broadcast(room: string, message: StreamMessage): number {
    const members = this.#rooms.get(room);
    if (members === undefined) return 0;
    let sent = 0;
    // A send may close a slow member, which leaves the room mid-loop: a Map
    // iterator tolerates that (deleted members are simply not visited).
    for (const [connection, member] of members) {
      if (member.pending !== null) {
        member.pending.push(message);
        continue;
      }
      if (message.offset <= member.last || connection.id === message.except) {
        continue;
      }
      member.last = message.offset;
      if (connection.send(message.frame)) sent += 1;
    }
    return sent;
  }

  /** Sends a frame outside the offset stream (presence) to live members except one. */
  notify(room: string, frame: string, except?: Connection): void {
    const members = this.#rooms.get(room);
    if (members === undefined) return;
    for (const [connection, member] of members) {
      if (connection !== except && member.pending === null) {
        connection.send(frame);
      }
    }
  }

  /**
   * Makes a pending member live: sends `replay` then its held messages, in
   * order, skipping offsets at or below `after` and any already sent.
   */
  release(
    connection: Connection,
    member: Member,
    after: number,
    replay: readonly StreamMessage[] = [],
  ): void {
    const held = member.pending ?? [];
    member.pending = null;
    member.last = Math.max(member.last, after);
    for (const message of [...replay, ...held]) {
      if (message.offset <= member.last || connection.id === message.except) {
        continue;
      }
      member.last = message.offset;
      connection.send(message.frame);
    }
  }
}
