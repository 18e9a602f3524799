/**
 * History reads for the HTTP API (internal to the hub): the latest messages
 * of a room, or those after an offset, bounded by a limit.
 *
 * @module
 */

import type { StreamPosition } from "../protocol/mod.ts";
import type { RoomLog, StoredMessage } from "../room_log/room_log.ts";
import { readRecent } from "../room_log/recent.ts";

/** What {@linkcode Hub.readHistory} reads. */
export interface HistoryQuery {
  /** Messages after this offset; absent: the latest `limit`. */
  since?: number;
  /** The epoch `since` belongs to. @default {the room's current epoch} */
  epoch?: string;
  /** Most messages returned. */
  limit: number;
}

/** What {@linkcode Hub.readHistory} found. */
export interface HistoryRead {
  /** The room's latest position. */
  head: StreamPosition;
  /** False when `since` is not covered (trimmed, or another epoch). */
  recovered: boolean;
  /** More messages follow the last one returned (read again from its offset). */
  more: boolean;
  messages: StoredMessage[];
}

/**
 * Reads `room`'s stored messages as `options` asks. `recovered: false` when
 * `since` is no longer (or not) covered by the history: nothing is returned
 * then.
 */
export async function readHistory(
  history: RoomLog,
  room: string,
  options: HistoryQuery,
): Promise<HistoryRead> {
  const head = await history.head(room);
  const { since, limit } = options;
  if (since === undefined) {
    const messages = await readRecent(history, room, head, limit);
    return { head, recovered: true, more: false, messages };
  }
  const epoch = options.epoch ?? head.epoch;
  if (since > head.offset || epoch !== head.epoch) {
    return { head, recovered: false, more: false, messages: [] };
  }
  const result = await history.since(room, { offset: since, epoch });
  if (!result.recovered) {
    return { head, recovered: false, more: false, messages: [] };
  }
  return {
    head,
    recovered: true,
    more: result.messages.length > limit,
    messages: result.messages.slice(0, limit),
  };
}
