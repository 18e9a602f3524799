/**
 * `GET /api/rooms/:room/messages?since=&limit=&epoch=`: a room's stored
 * history for backends, under the `/api` bearer guard (see
 * `docs/http_api.md`). Each entry is the room's `message` frame exactly as
 * stored and sent to sockets (serialized once, never re-encoded here).
 *
 * @module
 */

import type { Hono } from "hono";
import type { Hub } from "../lib/hub/hub.ts";
import { jsonError } from "../lib/support/http_error.ts";
import type { Metrics } from "../lib/support/metrics.ts";
import { isValidRoomName, ROOM_NAME_RULE } from "../lib/protocol/mod.ts";

/** What the history read needs. */
export interface HistoryReadDeps {
  hub: Hub;
  metrics: Metrics;
  /** Largest `limit` (`MAX_HISTORY_READ`); also the default when smaller than 50. */
  maxHistoryRead: number;
}

/** Default `limit` when the query gives none (at most `MAX_HISTORY_READ`). */
export const DEFAULT_HISTORY_LIMIT = 50;

/** Mounts `GET /api/rooms/:room/messages` (call after the `/api` guard). */
export function mountHistoryRead(app: Hono, deps: HistoryReadDeps): void {
  const { hub, metrics, maxHistoryRead } = deps;
  app.get("/api/rooms/:room/messages", async (c) => {
    const refuse = (code: string, message: string) => {
      metrics.inc("api_refused_total", 1, code);
      return jsonError(400, code, message);
    };
    const room = c.req.param("room");
    if (!isValidRoomName(room)) {
      return refuse("bad_room", `Room must be ${ROOM_NAME_RULE}`);
    }
    const sinceRaw = c.req.query("since");
    const limitRaw = c.req.query("limit");
    const epoch = c.req.query("epoch");
    if (sinceRaw !== undefined && !/^\d{1,15}$/.test(sinceRaw)) {
      return refuse(
        "bad_since",
        'Query "since" must be an offset: an integer >= 0',
      );
    }
    const limit = limitRaw === undefined
      ? Math.min(DEFAULT_HISTORY_LIMIT, maxHistoryRead)
      : /^\d{1,4}$/.test(limitRaw)
      ? Number(limitRaw)
      : NaN;
    if (!(limit >= 1 && limit <= maxHistoryRead)) {
      return refuse(
        "bad_limit",
        `Query "limit" must be an integer from 1 to ${maxHistoryRead} (MAX_HISTORY_READ)`,
      );
    }
    if (epoch !== undefined && (epoch === "" || epoch.length > 64)) {
      return refuse("bad_epoch", 'Query "epoch" must be 1-64 characters');
    }
    if (epoch !== undefined && sinceRaw === undefined) {
      return refuse("bad_epoch", 'Query "epoch" needs "since"');
    }
    const read = await hub.readHistory(room, {
      limit,
      ...(sinceRaw === undefined ? {} : { since: Number(sinceRaw) }),
      ...(epoch === undefined ? {} : { epoch }),
    });
    // The frames are JSON already: splice them in rather than re-encode.
    const body = `{"room":${JSON.stringify(room)},"head":${
      JSON.stringify(read.head)
    },"recovered":${read.recovered},"more":${read.more},"messages":[${
      read.messages.map((m) => m.frame).join(",")
    }]}`;
    return new Response(body, {
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  });
}
