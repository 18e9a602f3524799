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
  sorted,
} from "./_presence_state.ts";
import { PresenceHolders } from "./_presence_holders.ts";
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
  /** Every node, this one included; only remote ones expire. */
  readonly #nodes = new Map<string, NodeState>();
  /** Room → member id → ids of the nodes holding it. */
  readonly #holders = new PresenceHolders((node, room, id) =>
    this.#nodes.get(node)?.rooms.get(room)?.get(id)
  );

  /** Creates an empty table. */
  constructor(options: PresenceTableOptions) {
    this.#nodeId = options.nodeId;
    this.#timeoutMs = options.timeoutMs;
    this.#nodes.set(this.#nodeId, {
      heard: Infinity,
      rooms: new Map(),
      roomHeard: new Map(),
    });
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
    const state = this.#heard(update.node, now, [update.room]);
    if (state === undefined) return [];
    const { room, member, metaAt, connections } = update;
    const entry = connections > 0
      ? { meta: member.meta, metaAt, connections }
      : undefined;
    return this.#set(update.node, room, member.id, entry);
  }

  /**
   * Applies a snapshot from another node: it replaces all that was known of
   * that node (a partial one: of that node in the rooms it lists), so its
   * members missing from it are gone from there.
   */
  applySnapshot(snapshot: PresenceSnapshot, now: number): PresenceChange[] {
    const listed = Object.keys(snapshot.rooms);
    const state = this.#heard(snapshot.node, now, listed);
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
    return this.#replace(
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
    const changes: PresenceChange[] = [];
    for (const [node, state] of this.#nodes) {
      if (node === this.#nodeId) continue;
      if (now - state.heard > this.#timeoutMs) {
        changes.push(...this.forgetNode(node));
        continue;
      }
      const stale: string[] = [];
      for (const [room, at] of state.roomHeard) {
        if (now - at > this.#timeoutMs) stale.push(room);
      }
      for (const room of stale) state.roomHeard.delete(room);
      if (stale.length > 0) {
        changes.push(...this.#replace(node, new Map(), stale));
      }
    }
    return sorted(changes);
  }

  /** Drops a node at once, e.g. when it announces its shutdown. */
  forgetNode(node: string): PresenceChange[] {
    if (node === this.#nodeId || !this.#nodes.has(node)) return [];
    const changes = this.#replace(node, new Map());
    this.#nodes.delete(node);
    return changes;
  }

  /** The members of `room` across all nodes, sorted by id. Do not mutate. */
  members(room: string): PresenceMember[] {
    return this.#holders.members(room);
  }

  /** The number of members of `room` across all nodes. */
  memberCount(room: string): number {
    return this.#holders.count(room);
  }

  /** The rooms with at least one member on any node, sorted. */
  rooms(): string[] {
    return this.#holders.rooms();
  }

  /** This node and the remote nodes not yet expired or forgotten, sorted. */
  nodes(): string[] {
    return [...this.#nodes.keys()].sort(compare);
  }

  get #self(): NodeState {
    return this.#nodes.get(this.#nodeId)!;
  }

  #local(room: string, id: string, entry: Entry): LocalResult {
    const { meta, metaAt, connections } = entry;
    return {
      changes: this.#set(
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

  /**
   * Makes `next` all that `node` holds (in `only`, when given); returns the
   * global changes, sorted.
   */
  #replace(
    node: string,
    next: Map<string, Map<string, Entry>>,
    only?: readonly string[],
  ): PresenceChange[] {
    const changes: PresenceChange[] = [];
    const held = this.#nodes.get(node)?.rooms ?? new Map();
    const rooms = only === undefined ? [...held.keys()] : only;
    for (const room of rooms) {
      const members: Map<string, Entry> = held.get(room) ?? new Map();
      for (const id of [...members.keys()]) {
        if (!next.get(room)?.has(id)) {
          changes.push(...this.#set(node, room, id, undefined));
        }
      }
    }
    for (const [room, members] of next) {
      for (const [id, entry] of members) {
        changes.push(...this.#set(node, room, id, entry));
      }
    }
    return sorted(changes);
  }

  /**
   * Marks `node`, and its `rooms`, as heard at `now`; `undefined` for this
   * node's own messages.
   */
  #heard(
    node: string,
    now: number,
    rooms: readonly string[],
  ): NodeState | undefined {
    if (node === this.#nodeId) return undefined;
    let state = this.#nodes.get(node);
    if (state === undefined) {
      state = { heard: now, rooms: new Map(), roomHeard: new Map() };
      this.#nodes.set(node, state);
    }
    state.heard = Math.max(state.heard, now);
    for (const room of rooms) {
      state.roomHeard.set(room, Math.max(state.roomHeard.get(room) ?? 0, now));
    }
    return state;
  }

  /** Sets (`undefined`: removes) what `node` holds; returns the global change. */
  #set(
    node: string,
    room: string,
    id: string,
    entry: Entry | undefined,
  ): PresenceChange[] {
    return this.#holders.set(this.#nodes.get(node)!, { node, room, id }, entry);
  }
}
