/**
 * The latest messages of a room, for a join with `history` and the HTTP
 * history read: `RoomLog.since` answers all or nothing, so a window that
 * reaches past what is still stored (trimmed by count, age or bytes) is
 * halved until it fits — at most log2(`count`) + 1 reads.
 *
 * @module
 */

import type { StreamPosition } from "../protocol/mod.ts";
import type { RoomLog, StoredMessage } from "./room_log.ts";

/**
 * Up to `count` of the latest messages of `room` up to `head`, oldest
 * first; fewer when the window reaches past what is still stored (it is
 * halved until it fits), none only when nothing is.
 *
 * @example Usage
 * ```ts
 * import { MemoryLog } from "./memory.ts";
 * import { readRecent } from "./recent.ts";
 * import assert from "node:assert/strict";
 *
 * const log = new MemoryLog({ maxMessages: 100, ttlMs: 60_000 });
 * const items = [1, 2, 3].map((n) => ({ data: n, ts: Date.now(), from: "a" }));
 * const stored = await log.append("r", items);
 * const head = { offset: 3, epoch: stored[0]!.epoch };
 * const recent = await readRecent(log, "r", head, 2);
 * assert.deepEqual(recent.map((m) => m.offset), [2, 3]);
 * ```
 */
export async function readRecent(
  log: RoomLog,
  room: string,
  head: StreamPosition,
  count: number,
): Promise<StoredMessage[]> {
  let want = Math.min(count, head.offset);
  while (want > 0) {
    const result = await log.since(room, {
      offset: head.offset - want,
      epoch: head.epoch,
    });
    if (result.recovered) {
      return result.messages.filter((m) => m.offset <= head.offset);
    }
    want = Math.floor(want / 2);
  }
  return [];
}
