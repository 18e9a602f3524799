/**
 * The dashboard's JSON API under `/admin/api/`, behind the session cookie
 * (`_admin_guard.ts`): overview, series, nodes, rooms, one room, its live
 * tail (SSE), and the actions (terminate a member everywhere, publish a test
 * message). Actions also need the Origin and CSRF checks, and are refused
 * with 403 `read_only` under `ADMIN_READ_ONLY=1`; each is logged and counted.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import { LogOverloadedError } from "../lib/room_log/room_log.ts";
import {
  isJson,
  isRecord,
  isValidRoomName,
  ROOM_NAME_RULE,
} from "../lib/protocol/mod.ts";
import type { Admin } from "../lib/admin/admin.ts";
import type { Session } from "../lib/admin/sessions.ts";
import type { Hub } from "../lib/hub/hub.ts";
import type { Logger } from "../lib/support/log.ts";
import type { Metrics } from "../lib/support/metrics.ts";
import type { RefusalLog } from "../lib/support/refusal_log.ts";
import { jsonError } from "../lib/support/http_error.ts";
import {
  type AdminGuardDeps,
  checkAction,
  refuseAdmin,
  sessionOf,
} from "./_admin_guard.ts";
import { readAtMost } from "../lib/support/read_at_most.ts";
import { roomRows } from "./_admin_rooms.ts";
import { openTail } from "./_admin_tail.ts";

/** What the dashboard routes need. */
export interface AdminDeps {
  admin: Admin;
  hub: Hub;
  log: Logger;
  metrics: Metrics;
  refusals: RefusalLog;
  /** This isolate's bus id. */
  nodeId: string;
  /** The login token: `ADMIN_TOKEN`, else `API_KEY`; empty disables `/admin`. */
  token: string;
  /** `ALLOWED_ORIGINS`. */
  allowedOrigins: string[];
  /** Largest test message body (`MAX_MESSAGE_BYTES`). */
  maxBodyBytes: number;
  /** `MAX_JSON_DEPTH`. */
  maxJsonDepth: number;
  /** Folder holding `admin/index.html` and the bundle. */
  staticRoot: string;
}

/** Rooms listed at most per request. */
const MAX_ROOMS_LISTED = 200;

/** Mounts `/admin/api/*`. */
export function mountAdminApi(
  app: Hono,
  deps: AdminDeps & { guard: AdminGuardDeps },
): void {
  const { admin, hub, log, metrics, guard } = deps;
  const sessions = new WeakMap<Request, Session>();
  const session = (c: Context): Session => sessions.get(c.req.raw)!; // set by the middleware

  app.use("/admin/api/*", async (c, next) => {
    const found = await sessionOf(c, admin.sessions);
    if (found === undefined) return refuseAdmin(c, guard, "no_session");
    sessions.set(c.req.raw, found);
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const refusal = checkAction(c, guard, found);
      if (refusal !== undefined) return refuseAdmin(c, guard, refusal);
      if (admin.config.adminReadOnly) return refuseAdmin(c, guard, "read_only");
    }
    return await next();
  });

  app.get("/admin/api/session", (c) =>
    c.json({
      csrf: session(c).csrf,
      expiresAt: session(c).expiresAt,
      readOnly: admin.config.adminReadOnly,
      node: deps.nodeId,
      intervalMs: admin.config.adminStatsIntervalMs,
      seriesS: admin.config.adminSeriesS,
    }));

  app.get("/admin/api/overview", (c) =>
    c.json({
      at: Date.now(),
      node: deps.nodeId,
      nodes: admin.cluster.size,
      totals: admin.totals(hub),
      readOnly: admin.config.adminReadOnly,
    }));

  app.get("/admin/api/series", (c) => {
    const maxS = admin.config.adminSeriesS;
    const asked = Number(c.req.query("window") ?? maxS);
    const windowS = Number.isFinite(asked)
      ? Math.min(Math.max(asked, 1), maxS)
      : maxS;
    return c.json(admin.cluster.series(windowS * 1000));
  });

  app.get("/admin/api/nodes", (c) => c.json({ nodes: admin.cluster.nodes() }));

  app.get("/admin/api/rooms", async (c) => {
    const query = (c.req.query("q") ?? "").slice(0, 200);
    const asked = Number(c.req.query("limit") ?? 50);
    const limit = Number.isSafeInteger(asked)
      ? Math.min(Math.max(asked, 1), MAX_ROOMS_LISTED)
      : 50;
    return c.json(await roomRows(admin, hub, deps.nodeId, query, limit));
  });

  app.get("/admin/api/rooms/:room", async (c) => {
    const room = c.req.param("room");
    if (!isValidRoomName(room)) return badRoom();
    const info = await hub.roomInfo(room);
    const nodes = admin.cluster.roomNodes(room)
      .filter((n) => n.node !== deps.nodeId);
    if (info.localConnections > 0) {
      nodes.unshift({ node: deps.nodeId, connections: info.localConnections });
    }
    return c.json({
      ...info,
      subscribers: nodes.reduce((sum, n) => sum + n.connections, 0),
      nodes,
      activity: admin.tap.activity(room) ?? null,
      history: await hub.historySize(room) ?? null,
    });
  });

  app.get("/admin/api/rooms/:room/tail", (c) => {
    const room = c.req.param("room");
    if (!isValidRoomName(room)) return badRoom();
    const response = openTail(admin.tap, room, session(c), {
      bufferBytes: admin.config.adminTailBufferBytes,
      payloads: !admin.config.adminReadOnly,
    });
    return response ?? refuseAdmin(c, guard, "tails");
  });

  app.post("/admin/api/members/:member/terminate", (c) => {
    const member = c.req.param("member");
    if (member === "" || member.length > 128) {
      return jsonError(400, "bad_member", "Member ids are 1-128 characters");
    }
    const closedHere = hub.terminate(member);
    metrics.inc("admin_actions_total", 1, "terminate");
    log.info("Admin action", { action: "terminate", member, closedHere });
    return c.json({ member, closedHere }, 202);
  });

  app.post("/admin/api/rooms/:room/messages", async (c) => {
    const room = c.req.param("room");
    if (!isValidRoomName(room)) return badRoom();
    const bytes = await readAtMost(c.req.raw.body, deps.maxBodyBytes);
    if (bytes === undefined) {
      return jsonError(
        413,
        "too_large",
        `Body exceeds ${deps.maxBodyBytes} bytes`,
      );
    }
    let data: unknown;
    try {
      const body: unknown = JSON.parse(
        new TextDecoder("utf-8", { fatal: true }).decode(bytes),
      );
      data = isRecord(body) ? body.data : undefined;
    } catch {
      return jsonError(400, "bad_json", "Body is not valid UTF-8 JSON");
    }
    if (data === undefined || !isJson(data, deps.maxJsonDepth)) {
      return jsonError(400, "bad_body", 'Body must be {"data": <any JSON>}');
    }
    try {
      const stored = await hub.publish(room, data, { from: "admin" });
      metrics.inc("admin_actions_total", 1, "publish");
      log.info("Admin action", {
        action: "publish",
        room,
        offset: stored.offset,
      });
      return c.json({ room, offset: stored.offset, epoch: stored.epoch }, 201);
    } catch (error) {
      if (error instanceof LogOverloadedError) {
        return jsonError(503, "overloaded", error.message);
      }
      log.error("Admin publish failed", { room, error: String(error) });
      return jsonError(500, "internal", "Publish failed");
    }
  });

  app.post("/admin/api/rooms/:room/history/drop", async (c) => {
    const room = c.req.param("room");
    if (!isValidRoomName(room)) return badRoom();
    const dropped = await hub.dropHistory(room);
    if (dropped === undefined) {
      // Every built-in room log drops; one an embedder passes in may not.
      return jsonError(
        501,
        "not_supported",
        "This room log cannot drop a room's history",
      );
    }
    metrics.inc("admin_actions_total", 1, "drop_history");
    log.info("Admin action", { action: "drop_history", room, dropped });
    return c.json({ room, dropped }, 200);
  });
}

function badRoom(): Response {
  return jsonError(400, "bad_room", `Room must be ${ROOM_NAME_RULE}`);
}
