/**
 * Presence across nodes: who is in which room, whatever node their connections
 * are on. State based, so a lost message heals with the next snapshot: each
 * node tells the others its own state (an {@linkcode PresenceUpdate} on every
 * change, a {@linkcode PresenceSnapshot} as a periodic heartbeat), and every
 * node derives the global member list as the union of what it holds and what
 * it last heard from the others. Nodes silent for `timeoutMs` are dropped.
 *
 * Pure: no timers, no `Deno.*`, no bus. Time is passed in as `now` (ms);
 * the caller publishes and receives the messages. Messages from one node are
 * assumed to arrive in the order it sent them (true of every bus transport).
 *
 * A member is a user id; its connections (tabs) may be on several nodes. It
 * joins a room when its first connection anywhere joins, and leaves when its
 * last connection anywhere leaves. When nodes disagree about a member's meta,
 * the meta set most recently wins (largest `metaAt`, on the clock of the node
 * that set it), ties going to the smallest node id; so every node that holds
 * the same state shows the same meta, whatever the order messages arrived in.
 *
 * @module
 */

import { isValidRoomName, type Json } from "../protocol/mod.ts";
import {
  compare,
  type Entry,
  latest,
  type NodeState,
  type PresenceChange,
  put,
} from "./_presence_state.ts";
import { PresenceNodes } from "./_presence_nodes.ts";
import {
  isValidMemberId,
  type PresenceEntry,
  type PresenceMember,
  type PresenceSnapshot,
  type PresenceUpdate,
  readMeta,
} from "../protocol/mod.ts";

export type { PresenceChange } from "./_presence_state.ts";
export {
  MAX_META_BYTES,
  parsePresenceSnapshot,
  parsePresenceUpdate,
  type PresenceEntry,
  type PresenceMember,
  type PresenceSnapshot,
  type PresenceUpdate,
} from "../protocol/mod.ts";

/** What a local join or leave produced. */
export interface LocalResult {
  /** The global changes, to announce to local clients. */
  changes: PresenceChange[];
  /** The message to publish on the bus; `undefined` when nothing changed. */
  update: PresenceUpdate | undefined;
}

/** Options for {@linkcode PresenceTable}. */
export interface PresenceTableOptions {
  /** This node's id; messages carrying it are ignored. */
  nodeId: string;
  /** Silence after which a node is dropped by {@linkcode PresenceTable.expire}, in ms. */
  timeoutMs: number;
}

/**
 * The presence state of one node: its own members, and what it heard from the
 * other nodes. Every method returning {@linkcode PresenceChange}s lists them
 * sorted by room, then member id.
 *
 * @example Usage
 * ```ts
 * import { PresenceTable } from "./presence_table.ts";
 * import assert from "node:assert/strict";
 *
 * const a = new PresenceTable({ nodeId: "a", timeoutMs: 10_000 });
 * const b = new PresenceTable({ nodeId: "b", timeoutMs: 10_000 });
 * const { changes, update } = a.addLocal("lobby", "ann", "c1", "Ann", 0);
 * assert.equal(changes[0]?.event, "join");
 * b.applyUpdate(update!, 0); // sent over the bus
 * assert.deepEqual(b.members("lobby"), [{ id: "ann", meta: "Ann" }]);
 * assert.equal(b.expire(10_001)[0]?.event, "leave"); // a fell silent
 * ```
 */
export class PresenceTable {
  readonly #nodeId: string;
  readonly #timeoutMs: number;
  /** Every node, this one included, and the global view. */
  readonly #nodes: PresenceNodes;

  /** Creates an empty table. */
  constructor(options: PresenceTableOptions) {
    this.#nodeId = options.nodeId;
    this.#timeoutMs = options.timeoutMs;
    this.#nodes = new PresenceNodes(this.#nodeId);
  }

  /**
   * Records that local connection `connectionId` of member `memberId` joined
   * `room`, with `meta` (the latest given wins for this node). Throws a
   * `TypeError` for a bad room, member id or meta, `RangeError` for meta over
   * {@linkcode MAX_META_BYTES}.
   */
  addLocal(
    room: string,
    memberId: string,
    connectionId: string,
    meta: Json,
    now: number,
  ): LocalResult {
    if (!isValidRoomName(room)) throw new TypeError(`Invalid room "${room}"`);
    if (!isValidMemberId(memberId)) {
      throw new TypeError(`Invalid member id "${memberId}"`);
    }
    const read = readMeta(meta);
    if (typeof read === "string") {
      const ErrorClass = read.startsWith("meta exceeds")
        ? RangeError
        : TypeError;
      throw new ErrorClass(`Invalid meta of member "${memberId}": ${read}`);
    }
    const old = this.#self.rooms.get(room)?.get(memberId);
    if (old?.ids?.get(connectionId)?.text === read.text) {
      return { changes: [], update: undefined };
    }
    // Meta equal to what shows keeps its time: nothing changed.
    const shown = old !== undefined && JSON.stringify(old.meta) === read.text;
    const ids = new Map(old?.ids);
    ids.delete(connectionId); // The latest given goes last.
    ids.set(connectionId, { ...read, metaAt: shown ? old.metaAt : now });
    return this.#local(room, memberId, latest(ids));
  }

  /** Records that local connection `connectionId` of `memberId` left `room`. */
  removeLocal(
    room: string,
    memberId: string,
    connectionId: string,
  ): LocalResult {
    const old = this.#self.rooms.get(room)?.get(memberId);
    if (!old?.ids?.has(connectionId)) return { changes: [], update: undefined };
    const ids = new Map(old.ids);
    ids.delete(connectionId);
    // The member's other connections here show the latest meta they gave.
    const entry = ids.size > 0 ? latest(ids) : { ...old, connections: 0, ids };
    return this.#local(room, memberId, entry);
  }

  /** This node's full state, to publish as a heartbeat. */
  snapshot(): PresenceSnapshot {
    const rooms: Array<[string, PresenceEntry[]]> = [];
    for (const [room, members] of this.#self.rooms) {
      const list = [...members].map(([id, { meta, metaAt, connections }]) => ({
        id,
        meta,
        metaAt,
        connections,
      }));
      rooms.push([room, list]);
    }
    return { node: this.#nodeId, rooms: Object.fromEntries(rooms) };
  }

  /**
   * What this node holds in `room` alone, as a partial snapshot (the room's
   * heartbeat); `undefined` when it holds nobody there.
   */
  roomSnapshot(room: string): PresenceSnapshot | undefined {
    const members = this.#self.rooms.get(room);
    if (members === undefined) return undefined;
    const list = [...members].map(([id, { meta, metaAt, connections }]) => ({
      id,
      meta,
      metaAt,
      connections,
    }));
    return { node: this.#nodeId, rooms: { [room]: list }, partial: true };
  }

  /** The rooms this node holds members of. */
  localRooms(): string[] {
    return [...this.#self.rooms.keys()];
  }

  /** Applies an update from another node. */
  applyUpdate(update: PresenceUpdate, now: number): PresenceChange[] {
    const state = this.#nodes.heard(update.node, now, [update.room]);
    if (state === undefined) return [];
    const { room, member, metaAt, connections } = update;
    const entry = connections > 0
      ? { meta: member.meta, metaAt, connections }
      : undefined;
    return this.#nodes.set(update.node, room, member.id, entry);
  }

  /**
   * Applies a snapshot from another node: it replaces all that was known of
   * that node (a partial one: of that node in the rooms it lists), so its
   * members missing from it are gone from there.
   */
  applySnapshot(snapshot: PresenceSnapshot, now: number): PresenceChange[] {
    const listed = Object.keys(snapshot.rooms);
    const state = this.#nodes.heard(snapshot.node, now, listed);
    if (state === undefined) return [];
    if (snapshot.partial !== true) {
      for (const room of [...state.roomHeard.keys()]) {
        if (!Object.hasOwn(snapshot.rooms, room)) state.roomHeard.delete(room);
      }
    }
    const next = new Map<string, Map<string, Entry>>();
    for (const [room, list] of Object.entries(snapshot.rooms)) {
      for (const { id, meta, metaAt, connections } of list) {
        if (connections > 0) put(next, room, id, { meta, metaAt, connections });
      }
    }
    return this.#nodes.replace(
      snapshot.node,
      next,
      snapshot.partial === true ? listed : undefined,
    );
  }

  /**
   * Drops the nodes not heard from for more than `timeoutMs`, and what a
   * node holds in a room it has not spoken of for that long.
   */
  expire(now: number): PresenceChange[] {
    return this.#nodes.expire(now, this.#timeoutMs);
  }

  /** Drops a node at once, e.g. when it announces its shutdown. */
  forgetNode(node: string): PresenceChange[] {
    return this.#nodes.forget(node);
  }

  /** The members of `room` across all nodes, sorted by id. Do not mutate. */
  members(room: string): PresenceMember[] {
    return this.#nodes.holders.members(room);
  }

  /** The number of members of `room` across all nodes. */
  memberCount(room: string): number {
    return this.#nodes.holders.count(room);
  }

  /** The rooms with at least one member on any node, sorted. */
  rooms(): string[] {
    return this.#nodes.holders.rooms();
  }

  /** This node and the remote nodes not yet expired or forgotten, sorted. */
  nodes(): string[] {
    return [...this.#nodes.ids()].sort(compare);
  }

  get #self(): NodeState {
    return this.#nodes.self;
  }

  #local(room: string, id: string, entry: Entry): LocalResult {
    const { meta, metaAt, connections } = entry;
    return {
      changes: this.#nodes.set(
        this.#nodeId,
        room,
        id,
        connections ? entry : undefined,
      ),
      update: {
        node: this.#nodeId,
        room,
        member: { id, meta },
        metaAt,
        connections,
      },
    };
  }
}
