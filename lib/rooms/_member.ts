/**
 * One connection's delivery state in one room (internal), and the one way a
 * stream message reaches a live member: once, in order.
 *
 * @module
 */

import type { Connection } from "./connection.ts";
import type { StreamMessage } from "./room_stream.ts";

/** Delivery state of one connection in one room. */
export interface Member {
  /** Highest offset sent to this member, in `epoch`. */
  last: number;
  /** The sequence `last` belongs to; a message of another epoch starts a new one. */
  epoch: string;
  /** Live messages held while the join completes, or null once live. */
  pending: StreamMessage[] | null;
  /** Characters of the frames in `pending` (the memory they keep alive). */
  pendingBytes: number;
  /** Coalescing: index in the room's queue where this member's held messages start, or -1. */
  hold: number;
}

/** Sends one message to one live member, once, in order. */
export function sendOnce(
  connection: Connection,
  member: Member,
  message: StreamMessage,
): void {
  if (message.epoch !== member.epoch) {
    // The room's sequence was recreated (history lost): offsets restart.
    member.epoch = message.epoch;
    member.last = 0;
  }
  if (message.offset <= member.last || connection.id === message.except) return;
  member.last = message.offset;
  connection.send(message.frame);
}
