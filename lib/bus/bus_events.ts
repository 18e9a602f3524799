/**
 * What travels on the bus: the events isolates tell each other, the post
 * that carries one tick's events, and their validation (a post from another
 * isolate is untrusted until {@linkcode parseBusPost} accepts it).
 *
 * @module
 */

import {
  isRecord,
  parsePresenceSnapshot,
  parsePresenceUpdate,
  type PresenceSnapshot,
  type PresenceUpdate,
} from "../protocol/mod.ts";

/** A room message, already serialized once as its client frame. */
export interface BusRoomMessage {
  kind: "message";
  room: string;
  offset: number;
  epoch: string;
  /** The exact text frame to send to each member. */
  frame: string;
}

/** A member's presence on the sending node changed. */
export interface BusPresenceUpdate {
  kind: "presence";
  update: PresenceUpdate;
}

/** The sending node's whole presence state: its periodic heartbeat. */
export interface BusPresenceSnapshot {
  kind: "presence-snapshot";
  snapshot: PresenceSnapshot;
}

/** The sending node is shutting down: forget its members now. */
export interface BusNodeDown {
  kind: "node-down";
  node: string;
}

/** The sending node just started: every node answers with its snapshot. */
export interface BusPresenceSync {
  kind: "presence-sync";
  node: string;
}

/** Close every connection of a member, on every node (logout, ban). */
export interface BusTerminate {
  kind: "terminate";
  member: string;
}

/** Everything an isolate can tell the others. */
export type BusEvent =
  | BusTerminate
  | BusRoomMessage
  | BusPresenceUpdate
  | BusPresenceSnapshot
  | BusPresenceSync
  | BusNodeDown;

/**
 * The topic of the node channel: every event that is not a room's message
 * (presence, terminate, node-down) travels there, and every isolate
 * listens to it.
 */
export const NODE_TOPIC = "";

/** The topic an event travels on: its room for a message, else the node channel. */
export function topicOf(event: BusEvent): string {
  return event.kind === "message" ? event.room : NODE_TOPIC;
}

/** One post on the transport: the events of one tick from one sender on one topic. */
export interface BusPost {
  /** Bus format version. */
  v: 1;
  /** The sending isolate. */
  node: string;
  /**
   * Post number per sender and topic, one more per post; 1 starts a new run
   * (a sender forgets the numbers of topics it no longer posts on).
   */
  seq: number;
  events: BusEvent[];
}

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
    case "terminate":
      return typeof event.member === "string" && event.member !== "" &&
          event.member.length <= 128
        ? { kind: "terminate", member: event.member }
        : "bad terminate event";
    case "node-down":
    case "presence-sync":
      return typeof event.node === "string" && event.node !== ""
        ? { kind: event.kind, node: event.node }
        : `bad ${event.kind} event`;
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
  for (const event of events) {
    const result = parseBusEvent(event);
    if (typeof result === "string") return result;
    parsed.push(result);
  }
  return { v: 1, node, seq, events: parsed };
}
