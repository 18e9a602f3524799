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

import { CLOSE_CODE } from "../protocol/mod.ts";
import type { Connection } from "./connection.ts";
import type { MetricCell, Metrics } from "../support/metrics.ts";
import type { StreamMessage } from "./room_stream.ts";
import { type CoalesceClock, Coalescer, LOOP_CLOCK } from "./_coalescer.ts";
import { Fanout } from "./_fanout.ts";
import { type Member, sendOnce } from "./_member.ts";
import { SendBudget } from "./_send_budget.ts";

export type { Member };

/** Options for {@linkcode RoomRegistry}. */
export interface RoomRegistryOptions {
  /**
   * Frame coalescing for members that negotiated batch frames: a message
   * that finds the room idle (nothing held, nothing sent for this long)
   * goes out when its event-loop turn ends (no timer), with the rest of
   * what that turn published;
   * messages arriving while the room is corked go out together in one frame
   * at the end of the first event-loop turn that brings no more, and under
   * load none is held past this many ms (checked at arrivals and turn ends).
   * 0 disables. @default {1}
   */
  coalesceMs?: number;
  /** Most messages in one batch frame; a full queue flushes at once. @default {256} */
  coalesceMaxMessages?: number;
  /**
   * Frames (received and sent, counted by the connections) one event-loop
   * turn handles before the fan-out leaves the rest to the next turns, in
   * order, so timers and I/O (the history's flush, other rooms) are not
   * kept waiting behind a big room. @default {1000}
   */
  framesPerTurn?: number;
  /**
   * Messages a room may have waiting for later turns; one more is delivered
   * to every member at once, whatever the budget (counted as
   * `fanout_overruns_total`). @default {10000}
   */
  maxWaitingMessages?: number;
  /** Time and turn ends for coalescing and the send budget (tests). @default {performance.now and setImmediate} */
  clock?: CoalesceClock;
  /** Counts batch frames and the messages they carried. */
  metrics?: Metrics;
  /**
   * Messages a pending member may hold; one more closes it with 1013 like
   * a slow consumer. @default {10000}
   */
  maxPendingMessages?: number;
  /**
   * Characters of frames a pending member may hold; more closes it with
   * 1013 like a slow consumer. @default {1048576}
   */
  maxPendingBytes?: number;
}

/** The local rooms of one isolate. */
export class RoomRegistry {
  #rooms = new Map<string, Map<Connection, Member>>();
  readonly #coalescer: Coalescer;
  readonly #budget: SendBudget;
  readonly #fanout: Fanout;
  readonly #metrics: Metrics | undefined;
  readonly #maxPending: number;
  readonly #maxPendingBytes: number;
  /** Messages held by pending members (the `pending_messages` gauge). */
  readonly #held: MetricCell;

  /** Creates an empty registry. */
  constructor(options: RoomRegistryOptions = {}) {
    const clock = options.clock ?? LOOP_CLOCK;
    this.#budget = new SendBudget(
      options.framesPerTurn ?? 1000,
      (fn) => clock.afterTurn(fn),
    );
    this.#coalescer = new Coalescer({
      coalesceMs: options.coalesceMs ?? 1,
      maxMessages: options.coalesceMaxMessages ?? 256,
      metrics: options.metrics,
      members: (room) => this.#rooms.get(room),
      budget: this.#budget,
      clock,
    });
    this.#fanout = new Fanout({
      coalescer: this.#coalescer,
      budget: this.#budget,
      members: (room) => this.#rooms.get(room),
      hold: (connection, member, message) =>
        this.#deliver(connection, member, message),
      maxWaiting: options.maxWaitingMessages ?? 10_000,
      metrics: options.metrics,
    });
    this.#metrics = options.metrics;
    this.#maxPending = options.maxPendingMessages ?? 10_000;
    this.#maxPendingBytes = options.maxPendingBytes ?? 1_048_576;
    this.#held = options.metrics?.cell("pending_messages") ?? { value: 0 };
  }

  /** The frames per event-loop turn the fan-out paces itself by; connections (and reads) spend it. */
  get budget(): SendBudget {
    return this.#budget;
  }

  /** Number of rooms with at least one local member. */
  get size(): number {
    return this.#rooms.size;
  }

  /** Messages held, on this isolate, for members whose join has not completed. */
  get pendingMessages(): number {
    return this.#held.value;
  }

  /**
   * Sends one message to one member, or holds it while the member is
   * pending. A pending member over its bounds (count or bytes) is closed
   * with 1013 like a slow consumer and holds nothing more.
   */
  #deliver(
    connection: Connection,
    member: Member,
    message: StreamMessage,
  ): void {
    if (member.pending === null) return sendOnce(connection, member, message);
    if (connection.closed) return;
    member.pending.push(message);
    member.pendingBytes += message.frame.length;
    this.#held.value += 1;
    if (
      member.pending.length <= this.#maxPending &&
      member.pendingBytes <= this.#maxPendingBytes
    ) return;
    this.#drop(member);
    this.#metrics?.inc("pending_overflows_total");
    this.#metrics?.inc("slow_consumers_total");
    this.#metrics?.inc("dropped_messages_total", 1, "slow");
    connection.close(CLOSE_CODE.TRY_AGAIN_LATER, "Slow consumer");
  }

  /** Frees what a pending member holds. */
  #drop(member: Member): void {
    if (member.pending === null) return;
    this.#held.value -= member.pending.length;
    member.pending = [];
    member.pendingBytes = 0;
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
    const member: Member = {
      last: 0,
      epoch: "",
      pending: [],
      pendingBytes: 0,
      hold: -1,
    };
    members.set(connection, member);
    connection.rooms.add(room);
    if (connection.batch) this.#coalescer.join(room);
    return member;
  }

  /** The member state of `connection` in `room`, if it is a member. */
  member(room: string, connection: Connection): Member | undefined {
    return this.#rooms.get(room)?.get(connection);
  }

  /** Removes `connection` from `room`; returns false when it was not a member. */
  leave(room: string, connection: Connection): boolean {
    const members = this.#rooms.get(room);
    const member = members?.get(connection);
    if (members === undefined || member === undefined) return false;
    this.#drop(member);
    members.delete(connection);
    connection.rooms.delete(room);
    if (members.size === 0) this.#rooms.delete(room);
    this.#coalescer.leave(room, connection.batch, members.size === 0);
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
   * members hold it. A failing member never stops the loop.
   *
   * Frame coalescing (members that negotiated batch frames), like `cork` in
   * uWS: a message that finds the room idle (nothing held, nothing sent for
   * `coalesceMs`) goes out when the event-loop turn that published it ends
   * (alone, unless that turn published more); otherwise the room is corked, and
   * messages arriving while it is corked go out together at the
   * end of the first event-loop turn that brings no more, as one frame
   * `[m1,m2,…]`, built once for every member holding the same run. Under
   * load none waits past the first arrival or turn end `coalesceMs` after it.
   *
   * Paced by the turn's frame budget (`framesPerTurn`): the members it does
   * not reach get the message in the next turns, where it stopped, and the
   * room's later messages wait behind it (`lib/rooms/_fanout.ts`).
   */
  broadcast(room: string, message: StreamMessage): void {
    const members = this.#rooms.get(room);
    if (members !== undefined) this.#fanout.broadcast(room, members, message);
  }

  /** Messages of `room` whose delivery continues in a later turn (the send budget). */
  waiting(room: string): number {
    return this.#fanout.waiting(room);
  }

  /** Sends everything waiting or queued now, whatever the budget, and stops the timers (shutdown). */
  close(): void {
    this.#fanout.close();
    this.#coalescer.close();
    this.#budget.drain();
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
   * Makes a pending member live at `position`: sends `replay` then its held
   * messages, in order, skipping offsets at or below the position and any
   * already sent.
   */
  release(
    connection: Connection,
    member: Member,
    position: { offset: number; epoch: string },
    replay: readonly StreamMessage[] = [],
  ): void {
    const held = member.pending ?? [];
    this.#held.value -= held.length;
    member.pending = null;
    member.pendingBytes = 0;
    member.epoch = position.epoch;
    member.last = position.offset;
    for (const message of [...replay, ...held]) {
      sendOnce(connection, member, message);
    }
  }
}
