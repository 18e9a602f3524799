/**
 * What a {@linkcode PresenceTable} holds per node (internal): every node's
 * members, when each remote node (and each of its rooms) was last heard, and
 * the global view derived from them; setting, replacing, expiring and
 * forgetting what a node holds all return the global changes.
 *
 * @module
 */

import {
  type Entry,
  type NodeState,
  type PresenceChange,
  sorted,
} from "./_presence_state.ts";
import { PresenceHolders } from "./_presence_holders.ts";

/** Every node, this one included, and the global view; only remote nodes expire. */
export class PresenceNodes {
  readonly #nodeId: string;
  /** Every node, this one included; only remote ones expire. */
  readonly #nodes = new Map<string, NodeState>();
  /** Room → member id → ids of the nodes holding it. */
  readonly holders: PresenceHolders = new PresenceHolders((node, room, id) =>
    this.#nodes.get(node)?.rooms.get(room)?.get(id)
  );

  /** Creates the state of node `nodeId`, holding nobody, and nothing heard. */
  constructor(nodeId: string) {
    this.#nodeId = nodeId;
    this.#nodes.set(this.#nodeId, {
      heard: Infinity,
      rooms: new Map(),
      roomHeard: new Map(),
    });
  }

  /** This node's own state. */
  get self(): NodeState {
    return this.#nodes.get(this.#nodeId)!;
  }

  /** The ids of this node and the remote nodes not yet expired or forgotten. */
  ids(): IterableIterator<string> {
    return this.#nodes.keys();
  }

  /**
   * Drops the nodes not heard from for more than `timeoutMs`, and what a
   * node holds in a room it has not spoken of for that long.
   */
  expire(now: number, timeoutMs: number): PresenceChange[] {
    const changes: PresenceChange[] = [];
    for (const [node, state] of this.#nodes) {
      if (node === this.#nodeId) continue;
      if (now - state.heard > timeoutMs) {
        changes.push(...this.forget(node));
        continue;
      }
      const stale: string[] = [];
      for (const [room, at] of state.roomHeard) {
        if (now - at > timeoutMs) stale.push(room);
      }
      for (const room of stale) state.roomHeard.delete(room);
      if (stale.length > 0) {
        changes.push(...this.replace(node, new Map(), stale));
      }
    }
    return sorted(changes);
  }

  /** Drops a remote node at once; returns the global changes. */
  forget(node: string): PresenceChange[] {
    if (node === this.#nodeId || !this.#nodes.has(node)) return [];
    const changes = this.replace(node, new Map());
    this.#nodes.delete(node);
    return changes;
  }

  /**
   * Makes `next` all that `node` holds (in `only`, when given); returns the
   * global changes, sorted.
   */
  replace(
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
          changes.push(...this.set(node, room, id, undefined));
        }
      }
    }
    for (const [room, members] of next) {
      for (const [id, entry] of members) {
        changes.push(...this.set(node, room, id, entry));
      }
    }
    return sorted(changes);
  }

  /**
   * Marks `node`, and its `rooms`, as heard at `now`; `undefined` for this
   * node's own messages.
   */
  heard(
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
  set(
    node: string,
    room: string,
    id: string,
    entry: Entry | undefined,
  ): PresenceChange[] {
    return this.holders.set(this.#nodes.get(node)!, { node, room, id }, entry);
  }
}
