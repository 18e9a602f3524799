/**
 * The member list of each joined room, as the server reports it: replaced
 * by `joined.members` on every (re)join, then kept up to date by `presence`
 * frames (internal).
 *
 * @module
 */

import type { Json, PresenceMember, PresenceMessage } from "../protocol/mod.ts";
import type { MembersEvent, PresenceEvent } from "./types.ts";

/** Where the tracker reports changes. */
export interface PresenceHooks {
  /** A member joined, left or changed its meta in a room (only real changes). */
  presence(event: PresenceEvent): void;
  /** The member list of a room changed. */
  members(event: MembersEvent): void;
}

/** Member lists by room. */
export class PresenceTracker {
  /** Room → member id → meta, in arrival order. */
  readonly #rooms = new Map<string, Map<string, Json>>();
  readonly #hooks: PresenceHooks;

  /** Creates a tracker with no rooms. */
  constructor(hooks: PresenceHooks) {
    this.#hooks = hooks;
  }

  /** The members of `room` (empty when the list is not known). */
  members(room: string): PresenceMember[] {
    const list = this.#rooms.get(room);
    if (list === undefined) return [];
    return [...list].map(([id, meta]) => ({ id, meta }));
  }

  /** Replaces the list of `room` (a `joined` frame) and reports it. */
  reset(room: string, members: readonly PresenceMember[]): void {
    const list = new Map<string, Json>();
    for (const { id, meta } of members) list.set(id, meta);
    this.#rooms.set(room, list);
    this.#hooks.members({ room, members: this.members(room) });
  }

  /**
   * Applies a `presence` frame to a room whose list is known. A join or
   * update of a member already listed with the same meta, or a leave of a
   * member not listed, changes nothing and is not reported. An update of a
   * member not listed yet is reported as its join; a join of a listed
   * member with other meta, as an update.
   */
  apply(frame: Pick<PresenceMessage, "room" | "event" | "member">): void {
    const { room, member } = frame;
    let event = frame.event;
    const list = this.#rooms.get(room);
    if (list === undefined) return;
    if (event === "leave") {
      if (!list.delete(member.id)) return;
    } else {
      if (!list.has(member.id)) event = "join";
      else if (sameJson(list.get(member.id), member.meta)) return;
      else event = "update";
      list.set(member.id, member.meta);
    }
    this.#hooks.presence({
      room,
      event,
      member: { id: member.id, meta: member.meta },
    });
    this.#hooks.members({ room, members: this.members(room) });
  }

  /** Forgets the list of `room` (left), reporting it empty if it was known. */
  delete(room: string): void {
    if (this.#rooms.delete(room)) this.#hooks.members({ room, members: [] });
  }
}

function sameJson(a: Json | undefined, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
