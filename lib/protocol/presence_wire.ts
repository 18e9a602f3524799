/**
 * The presence messages isolates and nodes exchange over the bus (clients
 * never see them), and their validators.
 *
 * @module
 */

import { isJson, isRecord, type Json } from "./json.ts";
import {
  isValidRoomName,
  MAX_ID_LENGTH,
  MAX_META_BYTES,
  type PresenceMember,
} from "./messages.ts";

/** What one node knows about one member of one room. */
export interface PresenceEntry extends PresenceMember {
  /** When the node last set `meta`, on its own clock (ms); the latest wins. */
  metaAt: number;
  /** The member's connections to the room on that node; 0 means gone. */
  connections: number;
}

/** A member's state on one node changed: publish it on the bus. */
export interface PresenceUpdate {
  /** The sending node. */
  node: string;
  room: string;
  member: PresenceMember;
  /** When the sending node last set `member.meta` (its clock, ms). */
  metaAt: number;
  /** The member's connections to `room` on `node`; 0 means it left there. */
  connections: number;
}

/**
 * Everything one node holds: publish it periodically as its heartbeat. It
 * replaces what receivers knew about that node; an empty one is a heartbeat.
 */
export interface PresenceSnapshot {
  /** The sending node. */
  node: string;
  /** Room name → the node's members of it. */
  rooms: Record<string, PresenceEntry[]>;
  /**
   * Replaces only the rooms listed (a per-room heartbeat, on the room's
   * topic); absent: the node holds nothing else.
   */
  partial?: true;
}

/** Whether `id` is a valid member id: 1 to 128 characters. */
export function isValidMemberId(id: unknown): id is string {
  return typeof id === "string" && id !== "" && id.length <= MAX_ID_LENGTH;
}

/**
 * Checks a `meta` value: JSON, at most {@linkcode MAX_META_BYTES} serialized.
 * Returns a private copy with its JSON text, or what is wrong with it.
 */
export function readMeta(
  value: unknown,
): { meta: Json; text: string } | string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return "meta is not JSON"; // cycles, bigint
  }
  if (text === undefined || !isJson(value)) return "meta is not JSON";
  if (
    text.length > MAX_META_BYTES ||
    new TextEncoder().encode(text).byteLength > MAX_META_BYTES
  ) {
    return `meta exceeds ${MAX_META_BYTES} bytes`;
  }
  const meta: unknown = JSON.parse(text);
  return isJson(meta) ? { meta, text } : "meta is not JSON";
}

/**
 * Validates a presence update received from another node. Returns the update,
 * or a string saying what is wrong with it.
 *
 * @example Usage
 * ```ts
 * import { parsePresenceUpdate } from "./presence_wire.ts";
 * import assert from "node:assert/strict";
 *
 * const update = { node: "n", room: "r", member: { id: "u", meta: null }, metaAt: 0, connections: 1 };
 * assert.deepEqual(parsePresenceUpdate(update), update);
 * assert.equal(typeof parsePresenceUpdate({ ...update, connections: -1 }), "string");
 * ```
 */
export function parsePresenceUpdate(value: unknown): PresenceUpdate | string {
  if (!isRecord(value)) return "update is not an object";
  const { node, room, member, metaAt, connections } = value;
  if (!isValidNode(node)) return "bad node";
  if (!isValidRoomName(room)) return "bad room";
  if (!isRecord(member)) return "member is not an object";
  const entry = readEntry({ ...member, metaAt, connections });
  if (typeof entry === "string") return entry;
  return {
    node,
    room,
    member: { id: entry.id, meta: entry.meta },
    metaAt: entry.metaAt,
    connections: entry.connections,
  };
}

/**
 * Validates a presence snapshot received from another node. Returns the
 * snapshot, or a string saying what is wrong with it.
 *
 * @example Usage
 * ```ts
 * import { parsePresenceSnapshot } from "./presence_wire.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parsePresenceSnapshot({ node: "n", rooms: {} }), { node: "n", rooms: {} });
 * assert.equal(parsePresenceSnapshot({ node: "n", rooms: { "a b": [] } }), "bad room \"a b\"");
 * ```
 */
export function parsePresenceSnapshot(
  value: unknown,
): PresenceSnapshot | string {
  if (!isRecord(value)) return "snapshot is not an object";
  const { node, rooms, partial } = value;
  if (!isValidNode(node)) return "bad node";
  if (!isRecord(rooms)) return "rooms is not an object";
  if (partial !== undefined && partial !== true) return "bad partial";
  const parsed: Array<[string, PresenceEntry[]]> = [];
  for (const [room, list] of Object.entries(rooms)) {
    if (!isValidRoomName(room)) return `bad room "${room}"`;
    if (!Array.isArray(list)) return `room "${room}" is not an array`;
    const entries: PresenceEntry[] = [];
    const ids = new Set<string>();
    for (const item of list) {
      const entry = readEntry(item);
      if (typeof entry === "string") return entry;
      if (ids.has(entry.id)) return `duplicate member "${entry.id}"`;
      ids.add(entry.id);
      entries.push(entry);
    }
    parsed.push([room, entries]);
  }
  // fromEntries defines own properties, so a room named "__proto__" is safe.
  const snapshot: PresenceSnapshot = {
    node,
    rooms: Object.fromEntries(parsed),
  };
  if (partial === true) snapshot.partial = true;
  return snapshot;
}

function readEntry(value: unknown): PresenceEntry | string {
  if (!isRecord(value)) return "member is not an object";
  const { id, metaAt, connections } = value;
  if (!isValidMemberId(id)) return "bad member id";
  if (typeof metaAt !== "number" || !Number.isFinite(metaAt)) {
    return "bad metaAt";
  }
  if (
    typeof connections !== "number" || !Number.isSafeInteger(connections) ||
    connections < 0
  ) {
    return "bad connections";
  }
  if (!Object.hasOwn(value, "meta")) return "missing meta";
  const meta = readMeta(value.meta);
  if (typeof meta === "string") return meta;
  return { id, meta: meta.meta, metaAt, connections };
}

function isValidNode(node: unknown): node is string {
  return typeof node === "string" && node !== "" &&
    node.length <= MAX_ID_LENGTH;
}
