/**
 * Rooms and their local members: a two-way index between room names and
 * connections. Empty rooms are freed at once.
 *
 * @module
 */

import type { Connection } from "./connection.ts";

/** The local rooms of one isolate. */
export class RoomRegistry {
  #rooms = new Map<string, Set<Connection>>();

  /** Number of rooms with at least one local member. */
  get size(): number {
    return this.#rooms.size;
  }

  /** Adds `connection` to `room`; returns false when it was already a member. */
  join(room: string, connection: Connection): boolean {
    let members = this.#rooms.get(room);
    if (members === undefined) {
      members = new Set();
      this.#rooms.set(room, members);
    }
    if (members.has(connection)) return false;
    members.add(connection);
    connection.rooms.add(room);
    return true;
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
   * Sends an already-serialized frame to every local member of `room` except
   * `except`. A failing member never stops the loop. Returns how many sends
   * succeeded.
   */
  broadcast(room: string, frame: string, except?: Connection): number {
    const members = this.#rooms.get(room);
    if (members === undefined) return 0;
    let sent = 0;
    // A send may close a slow member, which leaves the room mid-loop: a Set
    // iterator tolerates that (deleted members are simply not visited).
    for (const member of members) {
      if (member !== except && member.send(frame)) sent += 1;
    }
    return sent;
  }
}
