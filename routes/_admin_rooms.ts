/**
 * The dashboard's rooms list: every room known to this isolate (presence
 * across nodes, local members, the nodes' snapshots, the room tap), with
 * members, subscribers (connections on every node: this one counted now,
 * the others as of their last snapshot), offset, epoch, messages/s and
 * history size where the room log counts it.
 *
 * @module
 */

import type { Admin } from "../lib/admin/admin.ts";
import type { Hub } from "../lib/hub/hub.ts";
import type { HistorySize } from "../lib/room_log/room_log.ts";

/** One row of the rooms list. */
export interface RoomRow {
  room: string;
  /** Presence members across every node. */
  members: number;
  /** Connections joined to the room on every node. */
  subscribers: number;
  /** Nodes with connections to it. */
  nodes: number;
  offset: number | null;
  epoch: string | null;
  /** Messages per second over the last sampling interval. */
  perS: number;
  history: HistorySize | null;
}

/** The rooms list: the first `limit` rooms whose name contains `query`. */
export async function roomRows(
  admin: Admin,
  hub: Hub,
  nodeId: string,
  query: string,
  limit: number,
): Promise<{ rooms: RoomRow[]; total: number }> {
  const needle = query.toLowerCase();
  const local = new Map(hub.roomList().map((r) => [r.room, r]));
  const others = admin.cluster.roomConnections(nodeId);
  const names = new Set<string>([
    ...local.keys(),
    ...others.keys(),
    ...admin.tap.rooms(),
  ]);
  const rows: RoomRow[] = [];
  for (const room of names) {
    if (needle !== "" && !room.toLowerCase().includes(needle)) continue;
    const here = local.get(room);
    const there = others.get(room);
    const activity = admin.tap.activity(room);
    const localConnections = here?.localConnections ?? 0;
    rows.push({
      room,
      members: here?.members ?? 0,
      subscribers: localConnections + (there?.connections ?? 0),
      nodes: (localConnections > 0 ? 1 : 0) + (there?.nodes ?? 0),
      offset: activity?.offset ?? null,
      epoch: activity?.epoch ?? null,
      perS: Math.round((activity?.perS ?? 0) * 10) / 10,
      history: null,
    });
  }
  rows.sort((a, b) =>
    b.subscribers - a.subscribers || b.members - a.members ||
    b.perS - a.perS || a.room.localeCompare(b.room)
  );
  const shown = rows.slice(0, limit);
  await Promise.all(shown.map(async (row) => {
    row.history = await hub.historySize(row.room) ?? null;
  }));
  return { rooms: shown, total: rows.length };
}
