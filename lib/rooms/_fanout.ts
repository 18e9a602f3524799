/**
 * A room message's walk over the room's members (internal), paced by the
 * turn's {@linkcode SendBudget}: members that take one frame per message
 * are sent to while the budget lasts, members that negotiated batch frames
 * are queued in the {@linkcode Coalescer} (free: their frames are written
 * by its flush), pending members hold it. A walk the budget stops is
 * resumed in the next turn where it stopped, and later messages of that
 * room wait behind it, so each member still gets the room's messages in
 * order. A resumed walk sees members that joined since (the offset check
 * sends no offset twice) and skips those that left.
 *
 * @module
 */

import type { Connection } from "./connection.ts";
import type { Coalescer } from "./_coalescer.ts";
import { type Member, sendOnce } from "./_member.ts";
import type { StreamMessage } from "./room_stream.ts";
import type { Deferred, SendBudget } from "./_send_budget.ts";
import type { Metrics } from "../support/metrics.ts";

/** What a {@linkcode Fanout} works with: the parts of its registry. */
export interface FanoutParts {
  coalescer: Coalescer;
  budget: SendBudget;
  /** The local members of a room. */
  members(room: string): Map<Connection, Member> | undefined;
  /** Holds a message for a pending member (bounded there). */
  hold(connection: Connection, member: Member, message: StreamMessage): void;
  /** Messages a room may have waiting; one more is delivered in full at once (counted). */
  maxWaiting: number;
  /** Counts deferred messages and overruns. */
  metrics?: Metrics | undefined;
}

/** One message's progress through its room's members. */
interface Walk {
  message: StreamMessage;
  /** The room's members when the walk started. */
  members: Map<Connection, Member>;
  cursor: MapIterator<[Connection, Member]>;
  /** A member the budget stopped at, visited first when the walk resumes. */
  stuck: [Connection, Member] | undefined;
  /** The message's place in the coalescer's queue once queued, else -1. */
  queued: number;
}

function walkOf(
  message: StreamMessage,
  members: Map<Connection, Member>,
): Walk {
  return {
    message,
    members,
    cursor: members.entries(),
    stuck: undefined,
    queued: -1,
  };
}

/** The messages of one room waiting for later turns; the first is under way. */
class Backlog implements Deferred {
  readonly messages: StreamMessage[] = [];
  head = 0;
  walk: Walk | undefined;
  constructor(
    readonly room: string,
    readonly fanout: Fanout,
    walk: Walk,
  ) {
    this.walk = walk;
  }
  resume(): boolean {
    return this.fanout.resume(this, false);
  }
}

/** Delivers room messages to their local members, a turn's budget at a time. */
export class Fanout {
  readonly #parts: FanoutParts;
  readonly #behind = new Map<string, Backlog>();

  /** Walks through `parts`. */
  constructor(parts: FanoutParts) {
    this.#parts = parts;
  }

  /** Messages waiting (or under way) for later turns in `room`. */
  waiting(room: string): number {
    const backlog = this.#behind.get(room);
    if (backlog === undefined) return 0;
    const underWay = backlog.walk === undefined ? 0 : 1;
    return backlog.messages.length - backlog.head + underWay;
  }

  /**
   * Delivers `message` to `members` (the room's): at once while the budget
   * lasts, the rest in later turns, after what the room has waiting.
   */
  broadcast(
    room: string,
    members: Map<Connection, Member>,
    message: StreamMessage,
  ): void {
    const backlog = this.#behind.get(room);
    if (backlog !== undefined) {
      backlog.messages.push(message);
      this.#parts.metrics?.inc("fanout_deferred_total");
      if (this.waiting(room) > this.#parts.maxWaiting) {
        // Bounded: the oldest goes to every member now, whatever the budget.
        this.#parts.metrics?.inc("fanout_overruns_total");
        this.resume(backlog, true, 1);
      }
      return;
    }
    const walk = walkOf(message, members);
    if (this.#walk(room, walk, false)) return;
    this.#parts.metrics?.inc("fanout_deferred_total");
    const started = new Backlog(room, this, walk);
    this.#behind.set(room, started);
    this.#parts.budget.defer(started);
  }

  /**
   * Continues `backlog` while the turn's budget lasts (`unbounded`: whatever
   * it is), finishing at most `messages` messages; true once it is empty
   * (and forgotten).
   */
  resume(backlog: Backlog, unbounded: boolean, messages = Infinity): boolean {
    const { room } = backlog;
    while (messages > 0) {
      let walk = backlog.walk;
      if (walk === undefined) {
        if (backlog.head === backlog.messages.length) break;
        const message = backlog.messages[backlog.head]!;
        backlog.head += 1;
        if (
          backlog.head >= 1024 && 2 * backlog.head >= backlog.messages.length
        ) {
          // A room that stays behind never empties: drop what was delivered.
          backlog.messages.splice(0, backlog.head);
          backlog.head = 0;
        }
        const members = this.#parts.members(room);
        if (members === undefined) continue; // the room emptied meanwhile
        walk = backlog.walk = walkOf(message, members);
      }
      if (!this.#walk(room, walk, unbounded)) return false;
      backlog.walk = undefined;
      messages -= 1;
    }
    if (backlog.walk !== undefined || backlog.head < backlog.messages.length) {
      return false;
    }
    if (this.#behind.get(room) === backlog) this.#behind.delete(room);
    return true;
  }

  /**
   * Visits members from `walk.cursor` while the turn's budget lasts (the
   * connections spend it; `unbounded`: whatever it is); true when every
   * member was visited. A failing member never stops the walk, and a
   * send may close a slow member, which leaves the room mid-walk: a Map
   * iterator tolerates that (deleted members are simply not visited).
   */
  #walk(room: string, walk: Walk, unbounded: boolean): boolean {
    const { coalescer, budget } = this.#parts;
    const coalesce = coalescer.active(room);
    const { message, cursor } = walk;
    const { offset, epoch, frame, except } = message;
    if (walk.queued >= 0 && !coalescer.holds(room, walk.queued, message)) {
      walk.queued = -1; // flushed since: queue it anew for the rest
    }
    let done = true;
    if (walk.stuck !== undefined) {
      const [connection, member] = walk.stuck;
      walk.stuck = undefined;
      if (walk.members.get(connection) === member) {
        this.#visit(room, walk, connection, member, coalesce);
      }
    }
    // This loop runs once per recipient: keep it lean (#visit and sendOnce, inlined).
    for (let next = cursor.next(); next.done !== true; next = cursor.next()) {
      const [connection, member] = next.value;
      if (member.pending !== null) {
        this.#parts.hold(connection, member, message);
        continue;
      }
      if (coalesce && connection.batch) {
        if (walk.queued < 0) walk.queued = coalescer.queue(room, message);
        if (member.hold < 0) member.hold = walk.queued;
        continue;
      }
      // sendOnce, inlined.
      if (member.epoch !== epoch) {
        member.epoch = epoch;
        member.last = 0;
      }
      if (offset <= member.last || connection.id === except) continue;
      if (!unbounded && budget.left <= 0) {
        walk.stuck = next.value;
        done = false;
        break;
      }
      member.last = offset;
      connection.send(frame);
    }
    if (walk.queued >= 0) coalescer.settle(room);
    return done;
  }

  /** One member of `walk` (the loop of `#walk`, for the member it stopped at). */
  #visit(
    room: string,
    walk: Walk,
    connection: Connection,
    member: Member,
    coalesce: boolean,
  ): void {
    const { message } = walk;
    if (member.pending !== null) {
      this.#parts.hold(connection, member, message);
      return;
    }
    if (coalesce && connection.batch) {
      if (walk.queued < 0) {
        walk.queued = this.#parts.coalescer.queue(room, message);
      }
      if (member.hold < 0) member.hold = walk.queued;
      return;
    }
    sendOnce(connection, member, message);
  }

  /** Delivers everything waiting, now (shutdown). */
  close(): void {
    for (const backlog of [...this.#behind.values()]) {
      this.resume(backlog, true);
    }
  }
}
