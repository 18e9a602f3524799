/**
 * The state a {@linkcode PresenceTable} keeps (internal): what one node
 * holds of a member in a room, the changes it reports, and the helpers on
 * the nested maps it is kept in.
 *
 * @module
 */

import type { Json, PresenceMember } from "../protocol/mod.ts";

/**
 * A member became present in, or absent from, a room across all nodes, or
 * the meta it shows changed (`update`).
 */
export interface PresenceChange {
  room: string;
  event: "join" | "leave" | "update";
  /** For a leave, the meta the member had last; for an update, the new one. */
  member: PresenceMember;
}

/** What one node holds of one member in one room. */
export interface Entry {
  meta: Json;
  metaAt: number;
  connections: number;
  /**
   * This node's connections with the meta each gave last, in the order it
   * was given (only in this node's own entries): the entry shows the latest.
   */
  ids?: Map<string, Given>;
}

/** The meta one connection gave, and when it took effect. */
export interface Given {
  meta: Json;
  text: string;
  metaAt: number;
}

/** What is known of one node. */
export interface NodeState {
  heard: number;
  /** Room → when the node last spoke of it (only remote nodes' rooms expire). */
  roomHeard: Map<string, number>;
  /** Room → member id → entry; empty maps are deleted. */
  rooms: Map<string, Map<string, Entry>>;
}

/** The entry of a member's local connections: the meta given last shows. */
export function latest(ids: Map<string, Given>): Entry {
  let last: Given | undefined;
  for (const given of ids.values()) last = given; // Kept in the order given.
  const { meta, metaAt } = last!;
  return { meta, metaAt, connections: ids.size, ids };
}

/** Sets `map[a][b]`, creating the inner map as needed. */
export function put<V>(
  map: Map<string, Map<string, V>>,
  a: string,
  b: string,
  v: V,
): void {
  let inner = map.get(a);
  if (inner === undefined) map.set(a, inner = new Map());
  inner.set(b, v);
}

/** Deletes `map[a][b]`, and `map[a]` if it became empty. */
export function unset<V>(
  map: Map<string, Map<string, V>>,
  a: string,
  b: string,
): void {
  const inner = map.get(a);
  if (inner?.delete(b) && inner.size === 0) map.delete(a);
}

/** Orders two ids or room names by code unit. */
export function compare(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Sorts `changes` by room, then member id. */
export function sorted(changes: PresenceChange[]): PresenceChange[] {
  return changes.sort((x, y) =>
    compare(x.room, y.room) || compare(x.member.id, y.member.id)
  );
}
