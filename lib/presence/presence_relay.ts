/**
 * Connects the {@linkcode PresenceTable} to the world: local joins and leaves
 * go in, updates go out on the bus, every interval a snapshot of each room
 * this node holds members of goes out as its heartbeat there, silent nodes
 * (and rooms a node no longer speaks of) expire, and every change becomes one
 * `presence` frame (serialized once) for the room's local members.
 *
 * All of a room's presence travels on the room's topic, so only the nodes
 * hearing the room (members there, a dashboard or API look) pay for it. A
 * node that starts hearing a room asks the others for their snapshot of it
 * ({@linkcode PresenceRelay.sync}). A joiner gets the member list known at
 * that instant, then `presence` events for whatever the other nodes report
 * later: its view converges within one bus round trip.
 *
 * @module
 */

import type { Bus, BusEvent } from "../bus/bus.ts";
import type { Logger } from "../support/log.ts";
import {
  type PresenceChange,
  type PresenceMember,
  PresenceTable,
} from "./presence_table.ts";
import { encodeServerMessage, type Json } from "../protocol/mod.ts";

/** What presence needs of a connection: its id and the member it belongs to. */
export interface PresenceHolder {
  /** The connection's unique id. */
  readonly id: string;
  /** The member (user) id it appears under. */
  readonly memberId: string;
}

/** Options for {@linkcode PresenceRelay}. */
export interface PresenceRelayOptions<
  C extends PresenceHolder = PresenceHolder,
> {
  bus: Bus;
  log: Logger;
  /** Heartbeat (snapshot) interval, ms. */
  intervalMs: number;
  /** A node silent this long is dropped with its members, ms. */
  timeoutMs: number;
  now: () => number;
  /** Sends a presence frame to the live local members of `room`, except one. */
  notify(room: string, frame: string, except?: C): void;
}

/** Presence of this node, kept in step with the other nodes over the bus. */
export class PresenceRelay<C extends PresenceHolder = PresenceHolder> {
  #table: PresenceTable;
  #options: PresenceRelayOptions<C>;
  #timer: ReturnType<typeof setInterval>;
  #observers: Array<(changes: readonly PresenceChange[]) => void> = [];

  /** Starts the heartbeat timer; {@linkcode PresenceRelay.close} stops it. */
  constructor(options: PresenceRelayOptions<C>) {
    this.#options = options;
    this.#table = new PresenceTable({
      nodeId: options.bus.nodeId,
      timeoutMs: options.timeoutMs,
    });
    this.#timer = setInterval(() => this.#tick(), options.intervalMs);
    // Node-level: other layers (Pusher counts) answer with their state.
    options.bus.publish({ kind: "presence-sync", node: options.bus.nodeId });
  }

  /**
   * Asks the nodes with members in `room` for their snapshot of it: call
   * once this node hears the room's topic, so the answers arrive.
   */
  sync(room: string): void {
    const { bus } = this.#options;
    bus.publish({ kind: "presence-sync", node: bus.nodeId, room });
  }

  /** Everyone present in `room` across the nodes. */
  members(room: string): PresenceMember[] {
    return this.#table.members(room);
  }

  /** Rooms with at least one member on any node. */
  rooms(): string[] {
    return this.#table.rooms();
  }

  /**
   * Records a connection joining; returns the changes to announce once the
   * joiner has its member list (see {@linkcode PresenceRelay.announce}).
   */
  join(room: string, connection: C, meta: Json): PresenceChange[] {
    const { changes, update } = this.#table.addLocal(
      room,
      connection.memberId,
      connection.id,
      meta,
      this.#options.now(),
    );
    if (update !== undefined) {
      this.#options.bus.publish({ kind: "presence", update });
    }
    return changes;
  }

  /** Records a connection leaving `room` and announces what changed. */
  leave(room: string, connection: C): void {
    const { changes, update } = this.#table.removeLocal(
      room,
      connection.memberId,
      connection.id,
    );
    if (update !== undefined) {
      this.#options.bus.publish({ kind: "presence", update });
    }
    this.announce(changes);
  }

  /**
   * Calls `fn` with every change of the deployment-wide view (each node sees
   * the same ones); returns the function that stops it.
   */
  observe(fn: (changes: readonly PresenceChange[]) => void): () => void {
    this.#observers.push(fn);
    return () => {
      this.#observers = this.#observers.filter((o) => o !== fn);
    };
  }

  /** Sends each change to the room's local members (except `except`). */
  announce(changes: PresenceChange[], except?: C): void {
    if (changes.length > 0) {
      for (const observer of this.#observers) observer(changes);
    }
    for (const { room, event, member } of changes) {
      const frame = encodeServerMessage({
        type: "presence",
        room,
        event,
        member,
      });
      this.#options.notify(room, frame, except);
    }
  }

  /** Applies a presence event from another node. */
  onBusEvent(event: BusEvent): void {
    const now = this.#options.now();
    switch (event.kind) {
      case "presence":
        this.announce(this.#table.applyUpdate(event.update, now));
        return;
      case "presence-snapshot":
        this.announce(this.#table.applySnapshot(event.snapshot, now));
        return;
      case "node-down":
        this.announce(this.#table.forgetNode(event.node));
        return;
      case "presence-sync": {
        if (event.room === undefined) return; // a started node holds no room yet
        const snapshot = this.#table.roomSnapshot(event.room);
        if (snapshot !== undefined) {
          this.#options.bus.publish({ kind: "presence-snapshot", snapshot });
        }
        return;
      }
    }
  }

  /** Stops the heartbeat and tells the other nodes to forget this one. */
  close(): void {
    clearInterval(this.#timer);
    this.#options.bus.publish({
      kind: "node-down",
      node: this.#options.bus.nodeId,
    });
  }

  #tick(): void {
    const { bus, now, log } = this.#options;
    // One heartbeat per room held, on the room's topic.
    for (const room of this.#table.localRooms()) {
      const snapshot = this.#table.roomSnapshot(room);
      if (snapshot !== undefined) {
        bus.publish({ kind: "presence-snapshot", snapshot });
      }
    }
    const expired = this.#table.expire(now());
    if (expired.length > 0) {
      log.warn("Presence: silent nodes dropped", { leaves: expired.length });
      this.announce(expired);
    }
  }
}
