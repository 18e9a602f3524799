/**
 * The HTTP fallback transport (docs/protocol.md "Fallback transport"):
 * `GET /sse` streams the WebSocket protocol's server frames as SSE events
 * and names a session; `POST /sse/:session` carries client frames (one
 * envelope or an array), applied in order on whichever isolate holds the
 * stream; `GET /sse/rooms?room=…` is a plain one-way feed. Every `/ws`
 * check and limit applies (see `_sse_edge.ts`).
 *
 * @module
 */

import type { Context, Hono } from "hono";
import type { Bus } from "../lib/bus/bus.ts";
import type { ConnectOptions } from "../lib/hub/hub.ts";
import {
  isValidRoomName,
  jsonFault,
  type StreamPosition,
} from "../lib/protocol/mod.ts";
import { parseEventId, StreamPositions } from "../lib/sse/event_id.ts";
import { SseRouter } from "../lib/sse/router.ts";
import {
  type PostResult,
  sessionNode,
  type SseSession,
  SseSessions,
} from "../lib/sse/sessions.ts";
import { type SseMode, SseSocket } from "../lib/sse/sse_socket.ts";
import { readBounded, SseEdge, type SseEdgeDeps } from "./_sse_edge.ts";

/** What the SSE routes need: the edge's, plus the bus for routing POSTs. */
export interface SseDeps extends SseEdgeDeps {
  bus: Bus;
}

/** The SSE transport's state on this isolate; `close()` it on shutdown. */
export interface SseTransport {
  sessions: SseSessions;
  close(): void;
}

/** Mounts `GET /sse`, `POST /sse/:session`, `GET /sse/rooms` and their preflight. */
export function mountSse(app: Hono, deps: SseDeps): SseTransport {
  const { hub, config, metrics } = deps;
  const edge = new SseEdge(deps);
  const sessions = new SseSessions({
    hub,
    nodeId: deps.bus.nodeId,
    maxSessions: config.sseMaxSessions,
    idleMs: config.sseSessionIdleMs,
    metrics,
  });
  const router = new SseRouter({
    bus: deps.bus,
    sessions,
    timeoutMs: config.sseRouteTimeoutMs,
    maxPending: config.sseMaxSessions,
    metrics,
  });
  /** Routed POSTs in flight from this isolate, by session id. */
  const routing = new Set<string>();

  /** Opens a stream for `who`: socket, connection, resume joins. */
  const open = (
    c: Context,
    who: ConnectOptions & { ip: string },
    mode: SseMode,
    session: SseSession | undefined,
    joins: Map<string, StreamPosition | undefined>,
    batch: boolean,
  ): Response => {
    const socket = new SseSocket({
      mode,
      positions: new StreamPositions(session?.id ?? "-"),
      maxBufferedBytes: config.maxBufferedBytes,
      heartbeatMs: config.sseHeartbeatMs,
      onSlow() {
        metrics.inc("dropped_messages_total", 1, "slow");
        metrics.inc("slow_consumers_total");
      },
    });
    if (session !== undefined) {
      socket.event("session", JSON.stringify({ session: session.id }));
    }
    deps.sockets.add(socket, who.ip);
    const { ip: _ip, ...options } = who;
    const connection = hub.connect(socket, { ...options, batch, paced: false });
    socket.addEventListener("close", () => {
      hub.disconnect(connection, socket.code);
      if (session !== undefined) sessions.detach(session, connection);
    });
    if (session !== undefined) sessions.attach(session, connection);
    for (const [room, since] of joins) {
      hub.receive(
        connection,
        JSON.stringify(
          since === undefined ? { type: "join", room } : {
            type: "join",
            room,
            since,
          },
        ),
      );
    }
    return new Response(socket.body, {
      headers: {
        ...edge.cors(c),
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  };

  app.options("/sse/*", (c) => preflight(c, edge));
  app.options("/sse", (c) => preflight(c, edge));

  app.get("/sse/rooms", async (c) => {
    const refused = edge.admitStream(c);
    if (refused !== undefined) return refused;
    const caller = await edge.authenticate(c);
    if (caller instanceof Response) return caller;
    const rooms = [...new Set(c.req.queries("room") ?? [])];
    if (
      rooms.length === 0 || rooms.length > config.maxRoomsPerConnection ||
      !rooms.every(isValidRoomName)
    ) {
      return edge.refuse(
        c,
        400,
        "bad_room",
        `Give 1-${config.maxRoomsPerConnection} room parameters, each 1-200 characters of [A-Za-z0-9_.:@=,;-]`,
      );
    }
    const { positions } = parseEventId(
      c.req.header("last-event-id"),
      config.maxRoomsPerConnection,
    );
    metrics.inc("sse_streams_total", 1, "feed");
    const joins = new Map(rooms.map((room) => [room, positions.get(room)]));
    return open(
      c,
      { ...caller.who, ip: caller.ip },
      "feed",
      undefined,
      joins,
      false,
    );
  });

  app.get("/sse", async (c) => {
    const refused = edge.admitStream(c);
    if (refused !== undefined) return refused;
    const caller = await edge.authenticate(c);
    if (caller instanceof Response) return caller;
    const last = parseEventId(
      c.req.header("last-event-id"),
      config.maxRoomsPerConnection,
    );
    const session = sessions.reusable(last.session, caller.principal) ??
      sessions.create(caller.principal);
    if (session === undefined) {
      return edge.refuse(c, 503, "capacity", "Too many sessions", {
        "retry-after": "5",
      });
    }
    metrics.inc(
      "sse_streams_total",
      1,
      last.positions.size > 0 ? "resumed" : "session",
    );
    const batch = c.req.query("batch") === "1";
    return open(
      c,
      { ...caller.who, ip: caller.ip },
      "frames",
      session,
      last.positions,
      batch,
    );
  });

  app.post("/sse/:session", async (c) => {
    if (!edge.originOk(c)) {
      return edge.refuse(c, 403, "forbidden_origin", "Origin not allowed");
    }
    const caller = await edge.authenticate(c);
    if (caller instanceof Response) return caller;
    const id = c.req.param("session");
    const node = sessionNode(id);
    if (node === undefined) {
      return edge.refuse(c, 404, "unknown_session", "No such session");
    }
    const local = node === sessions.key;
    let session: SseSession | undefined;
    if (local) {
      const begun = sessions.begin(id, caller.principal);
      if (!("id" in begun)) return answer(c, edge, begun);
      session = begun;
    } else if (routing.has(id)) {
      return answer(c, edge, {
        status: 409,
        code: "post_in_flight",
        message: "Another POST to this session is in flight",
        applied: 0,
      });
    } else routing.add(id);
    try {
      const body = await readBounded(c.req.raw, config.maxMessageBytes);
      const frames = body === undefined
        ? tooLarge(config.maxMessageBytes)
        : framesOf(body, config.maxJsonDepth);
      if (!Array.isArray(frames)) return answer(c, edge, frames);
      const result = session !== undefined
        ? sessions.apply(session, frames)
        : await router.route(node, id, caller.principal, frames);
      return answer(c, edge, result, session === undefined);
    } finally {
      if (session !== undefined) sessions.end(session);
      else routing.delete(id);
    }
  });

  return {
    sessions,
    close() {
      router.close();
      sessions.close();
    },
  };
}

function preflight(c: Context, edge: SseEdge): Response {
  const cors = edge.cors(c);
  if (Object.keys(cors).length === 0) {
    return edge.refuse(c, 403, "forbidden_origin", "Origin not allowed");
  }
  return new Response(null, {
    status: 204,
    headers: {
      ...cors,
      "access-control-allow-methods": "GET, POST",
      "access-control-allow-headers":
        "authorization, content-type, last-event-id",
      "access-control-max-age": "600",
    },
  });
}

/** The HTTP answer to a POST; `routed`: applied by another isolate. */
function answer(
  c: Context,
  edge: SseEdge,
  result: PostResult,
  routed = false,
): Response {
  if (result.status === 200) {
    const { applied, tokens } = result;
    return Response.json(
      tokens === undefined ? { applied, routed } : { applied, routed, tokens },
      { headers: edge.cors(c) },
    );
  }
  return edge.refuse(c, result.status, result.code, result.message);
}

function tooLarge(max: number): PostResult {
  return {
    status: 413,
    code: "too_large",
    message: `A POST body may carry at most ${max} bytes (MAX_MESSAGE_BYTES)`,
    applied: 0,
  };
}

/** The frames of a POST body: one envelope as it is, or each of an array. */
function framesOf(body: string, maxDepth: number): string[] | PostResult {
  const text = body.trim();
  const bad = (code: string, message: string): PostResult => ({
    status: 400,
    code,
    message,
    applied: 0,
  });
  if (text === "") {
    return bad(
      "bad_json",
      "The body must be a JSON envelope or an array of them",
    );
  }
  if (!text.startsWith("[")) return [text];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return bad("bad_json", "The body is not valid JSON");
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    return bad("bad_json", "An array body must hold at least one envelope");
  }
  // Each envelope's data and meta may nest maxDepth deep (the hub checks it).
  if (jsonFault(parsed, maxDepth + 3) !== undefined) {
    return bad("too_deep", `JSON nests deeper than ${maxDepth}`);
  }
  return parsed.map((envelope) => JSON.stringify(envelope));
}
