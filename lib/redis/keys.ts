/**
 * Key and channel names of the Redis engine, and the validators its replies
 * go through (a Redis reply is `unknown` until one of these accepts it).
 *
 * Layout, for a prefix `p` (default `roomcast`):
 * - `p:v1:{room}:head`: a hash `{epoch, offset}`, the room's latest position
 *   (expires `metaTtlMs` after the last append);
 * - `p:v1:{room}:log`: a stream, one entry per message with id `<offset>-0`
 *   and fields `t` (server time, ms) and `f` (the client frame);
 * - `p:v1:{room}:bus`: the room's pub/sub channel (its messages);
 * - `p:bus`: the node channel of the bus (presence, terminate, node-down);
 *   one fixed name, so one fixed slot in a cluster.
 *
 * The room is the hash tag (`{room}`), so both keys and the channel of a
 * room live in one slot: one Lua script may touch both keys, and in a
 * cluster the room's sharded pub/sub runs on the shard that holds them. Room names never contain braces
 * (`isValidRoomName`).
 *
 * @module
 */

/** The default namespace of keys and the bus channel. */
export const DEFAULT_PREFIX = "roomcast";

/** The two keys of one room. */
export interface RoomKeys {
  /** Hash `{epoch, offset}`. */
  head: string;
  /** Stream of stored messages. */
  log: string;
}

/**
 * The keys of `room` under `prefix`.
 *
 * @example Usage
 * ```ts
 * import { roomKeys } from "./keys.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(roomKeys("roomcast", "lobby"), {
 *   head: "roomcast:v1:{lobby}:head",
 *   log: "roomcast:v1:{lobby}:log",
 * });
 * ```
 */
export function roomKeys(prefix: string, room: string): RoomKeys {
  const base = `${prefix}:v1:{${room}}`;
  return { head: `${base}:head`, log: `${base}:log` };
}

/** The pub/sub channel of `room` under `prefix` (same hash tag as its keys). */
export function roomChannel(prefix: string, room: string): string {
  return `${prefix}:v1:{${room}}:bus`;
}

/** The node channel of the bus under `prefix`. */
export function busChannel(prefix: string): string {
  return `${prefix}:bus`;
}

/** `value` as an array, or undefined. */
export function replyArray(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

/** `value` as a string (Redis bulk strings may arrive as strings), or undefined. */
export function replyString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * `value` as a non-negative safe integer: Redis integers arrive as numbers,
 * hash fields and stream fields as decimal strings.
 */
export function replyInteger(value: unknown): number | undefined {
  const n = typeof value === "number"
    ? value
    : typeof value === "string" && /^\d{1,16}$/.test(value)
    ? Number(value)
    : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
