/**
 * The global view of a {@linkcode PresenceTable} (internal): per room and
 * member, the nodes holding it, the member as every node shows it (the meta
 * set most recently, ties to the smallest node id), and the global change
 * when what one node holds changes.
 *
 * @module
 */

import type { PresenceMember } from "../protocol/mod.ts";
import {
  compare,
  type Entry,
  type NodeState,
  type PresenceChange,
  put,
  unset,
} from "./_presence_state.ts";

/** Room → member id → ids of the nodes holding it. */
export class PresenceHolders {
  readonly #holders = new Map<string, Map<string, Set<string>>>();
  readonly #entry: (
    node: string,
    room: string,
    id: string,
  ) => Entry | undefined;

  /** Resolves members from `entry`, what a node holds of a member in a room. */
  constructor(
    entry: (node: string, room: string, id: string) => Entry | undefined,
  ) {
    this.#entry = entry;
  }

  /**
   * Sets (`undefined`: removes) what `state`, the state of node `at.node`,
   * holds of member `at.id` in `at.room`; returns the global change.
   */
  set(
    state: NodeState,
    at: { node: string; room: string; id: string },
    entry: Entry | undefined,
  ): PresenceChange[] {
    const { node, room, id } = at;
    const before = this.resolve(room, id);
    if (entry === undefined) {
      unset(state.rooms, room, id);
      this.#remove(room, id, node);
    } else {
      put(state.rooms, room, id, entry);
      this.#add(room, id, node);
    }
    const after = this.resolve(room, id);
    if (before === undefined) {
      return after === undefined
        ? []
        : [{ room, event: "join", member: after }];
    }
    if (after === undefined) return [{ room, event: "leave", member: before }];
    return JSON.stringify(before.meta) === JSON.stringify(after.meta)
      ? []
      : [{ room, event: "update", member: after }];
  }

  /** Records that `node` holds member `id` in `room`. */
  #add(room: string, id: string, node: string): void {
    const holders = this.#holders.get(room)?.get(id) ?? new Set<string>();
    put(this.#holders, room, id, holders.add(node));
  }

  /** Records that `node` no longer holds member `id` in `room`. */
  #remove(room: string, id: string, node: string): void {
    const holders = this.#holders.get(room)?.get(id) ?? new Set<string>();
    holders.delete(node);
    if (holders.size === 0) unset(this.#holders, room, id);
  }

  /** The member as seen globally: meta from the latest `metaAt`, ties to the smallest node id. */
  resolve(room: string, id: string): PresenceMember | undefined {
    let best: Entry | undefined;
    let bestNode = "";
    for (const node of this.#holders.get(room)?.get(id) ?? []) {
      const entry = this.#entry(node, room, id);
      if (
        entry !== undefined &&
        (best === undefined || entry.metaAt > best.metaAt ||
          (entry.metaAt === best.metaAt && node < bestNode))
      ) {
        best = entry;
        bestNode = node;
      }
    }
    return best && { id, meta: best.meta };
  }

  /** The members of `room` across all nodes, sorted by id. */
  members(room: string): PresenceMember[] {
    const members = this.#holders.get(room);
    if (members === undefined) return [];
    return [...members.keys()].sort(compare).map((id) =>
      this.resolve(room, id)!
    );
  }

  /** The number of members of `room` across all nodes. */
  count(room: string): number {
    return this.#holders.get(room)?.size ?? 0;
  }

  /** The rooms with at least one member on any node, sorted. */
  rooms(): string[] {
    return [...this.#holders.keys()].sort(compare);
  }
}
