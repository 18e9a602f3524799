/**
 * Turns the roomcast frames the hub sends a connection into what a Pusher
 * client needs. A broadcast hands every member the same frame string, so the
 * translator keeps the last one it saw: the JSON is parsed and the Pusher
 * frame built once per message per isolate, never once per recipient.
 *
 * @module
 */

import {
  type Json,
  parseServerMessage,
  type PresenceMember,
  type ServerMessage,
} from "../protocol/mod.ts";
import { dataString, encodeFrame, fromRoomcast, roomChannel } from "./wire.ts";

/** What a roomcast frame means to a Pusher connection. */
export type HubOutput =
  /** A room message, as a Pusher event frame; `from` is the publisher (a socket id for Pusher senders). */
  | { kind: "message"; channel: string; from: string; frame: string }
  /** The connection became a member of `channel`. */
  | {
    kind: "joined";
    channel: string;
    members: PresenceMember[];
    recovered?: boolean;
  }
  /** A member appeared or left: `pusher_internal:member_added` / `member_removed`. */
  | { kind: "presence"; channel: string; frame: string }
  /** A request failed; `ref` is the id the session gave it. */
  | { kind: "error"; code: string; message: string; ref?: string | number }
  /** Nothing to send (welcome, ack, pong, left). */
  | { kind: "ignore"; type: string };

/** Translates hub frames, remembering the last one. */
export class FrameTranslator {
  #lastIn = "";
  #lastOut: HubOutput = { kind: "ignore", type: "none" };

  /**
   * The meaning of `frame`. A frame that does not parse (never expected: the
   * hub wrote it) is `ignore` with type `invalid`, which the session counts.
   */
  translate(frame: string): HubOutput {
    if (frame === this.#lastIn) return this.#lastOut;
    let message: ServerMessage;
    try {
      message = parseServerMessage(frame);
    } catch {
      return { kind: "ignore", type: "invalid" };
    }
    const out = translateMessage(message);
    this.#lastIn = frame;
    this.#lastOut = out;
    return out;
  }
}

function translateMessage(message: ServerMessage): HubOutput {
  switch (message.type) {
    case "message": {
      const event = fromRoomcast(message.data);
      const channel = roomChannel(message.room);
      return {
        kind: "message",
        channel,
        from: message.from,
        frame: encodeFrame(
          event.event,
          dataString(event.data),
          channel,
          event.user_id,
        ),
      };
    }
    case "joined": {
      // A re-join's short answer (no member list) changes nothing for Pusher.
      if (message.members === undefined) {
        return { kind: "ignore", type: "rejoined" };
      }
      const { members, recovered } = message;
      const channel = roomChannel(message.room);
      return recovered === undefined
        ? { kind: "joined", channel, members }
        : { kind: "joined", channel, members, recovered };
    }
    case "presence": {
      // Pusher has no event for a member's new info: only arrivals and leaves.
      if (message.event === "update") {
        return { kind: "ignore", type: "presence_update" };
      }
      const { id, meta } = message.member;
      const frame = message.event === "join"
        ? encodeFrame(
          "pusher_internal:member_added",
          { "user_id": id, "user_info": meta },
          message.room,
        )
        : encodeFrame(
          "pusher_internal:member_removed",
          { "user_id": id },
          message.room,
        );
      return { kind: "presence", channel: message.room, frame };
    }
    case "error":
      return message.ref === undefined
        ? { kind: "error", code: message.code, message: message.message }
        : {
          kind: "error",
          code: message.code,
          message: message.message,
          ref: message.ref,
        };
    default:
      return { kind: "ignore", type: message.type };
  }
}

/** The `subscription_succeeded` data of a presence channel: `{presence: {ids, hash, count}}`. */
export function subscriptionData(members: PresenceMember[]): Json {
  const hash: Record<string, Json> = {};
  for (const member of members) hash[member.id] = member.meta;
  return {
    presence: { ids: members.map((m) => m.id), hash, count: members.length },
  };
}
