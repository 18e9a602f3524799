/**
 * Validation of what arrives on the bus: a post from another isolate is
 * untrusted until {@linkcode parseBusPost} accepts it, and each of its events
 * until {@linkcode parseBusEvent} does. Events of a kind this version does
 * not know (from a newer node) are skipped, not refused.
 *
 * @module
 */

import {
  isRecord,
  isValidRoomName,
  parseNodeStats,
  parsePresenceSnapshot,
  parsePresenceUpdate,
  parseSsePost,
  parseSseReply,
} from "../protocol/mod.ts";
import type { BusEvent, BusPost } from "./bus_events.ts";

/** The event kinds this version reads (a Record, so a new kind must be added). */
const KINDS: Readonly<Record<BusEvent["kind"], true>> = {
  "admin-revoke": true,
  "node-stats": true,
  terminate: true,
  subscriptions: true,
  message: true,
  presence: true,
  "presence-snapshot": true,
  "presence-sync": true,
  "node-down": true,
  "sse-post": true,
  "sse-reply": true,
};
const KNOWN_KINDS: ReadonlySet<string> = new Set(Object.keys(KINDS));

/** Validates one event of a post; returns it, or what is wrong with it. */
export function parseBusEvent(event: unknown): BusEvent | string {
  if (!isRecord(event)) return "event is not an object";
  switch (event.kind) {
    case "message": {
      const { room, offset, epoch, frame } = event;
      if (
        typeof room !== "string" || typeof epoch !== "string" ||
        typeof frame !== "string" || typeof offset !== "number" ||
        !Number.isSafeInteger(offset)
      ) {
        return "bad message event";
      }
      return { kind: "message", room, offset, epoch, frame };
    }
    case "presence": {
      const update = parsePresenceUpdate(event.update);
      return typeof update === "string" ? update : { kind: "presence", update };
    }
    case "presence-snapshot": {
      const snapshot = parsePresenceSnapshot(event.snapshot);
      return typeof snapshot === "string"
        ? snapshot
        : { kind: "presence-snapshot", snapshot };
    }
    case "node-stats": {
      const stats = parseNodeStats(event.stats);
      return typeof stats === "string" ? stats : { kind: "node-stats", stats };
    }
    case "admin-revoke": {
      const { id, expiresAt } = event;
      return typeof id === "string" && /^[A-Za-z0-9_-]{22}$/.test(id) &&
          typeof expiresAt === "number" && Number.isSafeInteger(expiresAt)
        ? { kind: "admin-revoke", id, expiresAt }
        : "bad admin-revoke event";
    }
    case "subscriptions": {
      const { node, room, count } = event;
      return typeof node === "string" && node !== "" && node.length <= 128 &&
          typeof room === "string" && room !== "" && room.length <= 200 &&
          typeof count === "number" && Number.isSafeInteger(count) &&
          count >= 0
        ? { kind: "subscriptions", node, room, count }
        : "bad subscriptions event";
    }
    case "sse-post": {
      const post = parseSsePost(event);
      return typeof post === "string" ? post : { kind: "sse-post", ...post };
    }
    case "sse-reply": {
      const reply = parseSseReply(event);
      return typeof reply === "string"
        ? reply
        : { kind: "sse-reply", ...reply };
    }
    case "terminate":
      return typeof event.member === "string" && event.member !== "" &&
          event.member.length <= 128
        ? { kind: "terminate", member: event.member }
        : "bad terminate event";
    case "node-down":
      return typeof event.node === "string" && event.node !== ""
        ? { kind: event.kind, node: event.node }
        : `bad ${event.kind} event`;
    case "presence-sync": {
      const { node, room } = event;
      if (typeof node !== "string" || node === "") {
        return "bad presence-sync event";
      }
      if (room === undefined) return { kind: "presence-sync", node };
      return isValidRoomName(room)
        ? { kind: "presence-sync", node, room }
        : "bad presence-sync event";
    }
    default:
      return `unknown event kind ${String(event.kind).slice(0, 32)}`;
  }
}

/**
 * Validates a post received from another isolate. Returns the post, or a
 * string saying what is wrong with it.
 */
export function parseBusPost(value: unknown): BusPost | string {
  if (!isRecord(value)) return "post is not an object";
  const { v, node, seq, events } = value;
  if (v !== 1) return `unknown bus version ${String(v)}`;
  if (typeof node !== "string" || node === "") return "bad node";
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) {
    return "bad seq";
  }
  if (!Array.isArray(events)) return "events is not an array";
  const parsed: BusEvent[] = [];
  let skipped = 0;
  for (const event of events) {
    const result = parseBusEvent(event);
    if (typeof result !== "string") {
      parsed.push(result);
    } else if (isUnknownKind(event)) {
      // A newer node's event: skip it, keep the rest of the post (rolling
      // upgrades must not cost the room messages riding with it).
      skipped += 1;
    } else {
      return result;
    }
  }
  return skipped === 0
    ? { v: 1, node, seq, events: parsed }
    : { v: 1, node, seq, events: parsed, skipped };
}

/** Whether `event` is well formed but of a kind this version does not know. */
function isUnknownKind(event: unknown): boolean {
  if (!isRecord(event)) return false;
  const { kind } = event;
  return typeof kind === "string" && kind !== "" && kind.length <= 64 &&
    !KNOWN_KINDS.has(kind);
}
