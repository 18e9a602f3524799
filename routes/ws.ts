/**
 * `GET /ws`: the WebSocket edge. Checks the request, upgrades it with
 * `Deno.upgradeWebSocket` and hands the socket to the hub. Nothing else.
 *
 * @module
 */

import type { Hono } from "hono";
import type { Hub } from "../lib/hub.ts";
import { jsonError } from "../lib/http_error.ts";
import { isValidRoomName, SUBPROTOCOL } from "../lib/protocol.ts";

/** Raw sockets that have not closed yet, so shutdown can wait for them. */
export class OpenSockets {
  #sockets = new Set<WebSocket>();
  #waiters = new Set<() => void>();

  /** Number of sockets not yet closed. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Tracks `socket` until its `close` event. */
  add(socket: WebSocket): void {
    this.#sockets.add(socket);
    socket.addEventListener("close", () => {
      this.#sockets.delete(socket);
      if (this.#sockets.size === 0) {
        for (const wake of this.#waiters) wake();
      }
    });
  }

  /** Resolves true once every socket closed, or false after `timeoutMs`. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.#sockets.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(value);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#waiters.add(wake);
    });
  }
}

/** What the WebSocket route needs. */
export interface WsDeps {
  hub: Hub;
  sockets: OpenSockets;
  /** Protocol-level idle timeout in seconds (Deno pings at half of it). */
  idleTimeoutS: number;
}

/** Mounts `GET /ws`. */
export function mountWs(app: Hono, deps: WsDeps): void {
  app.get("/ws", (c) => {
    const req = c.req.raw;
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return jsonError(
        426,
        "upgrade_required",
        "This endpoint speaks WebSocket only: send an Upgrade: websocket request",
        { upgrade: "websocket" },
      );
    }
    if (deps.hub.draining) {
      return jsonError(
        503,
        "draining",
        "The server is shutting down; reconnect",
        { "retry-after": "1" },
      );
    }
    // Anonymous mode: the client names its member id (one per user, shared
    // by its tabs). Authenticated mode will take it from the token instead.
    const memberId = c.req.query("user");
    if (memberId !== undefined && !isValidRoomName(memberId)) {
      return jsonError(
        400,
        "bad_user",
        "Query parameter user must be 1-128 characters of [A-Za-z0-9_.:@-]",
      );
    }
    // Deno splits the header on ", " exactly; answer with our fixed name only
    // when the client offers it (never echo any other entry).
    const offered = (req.headers.get("sec-websocket-protocol") ?? "")
      .split(",").map((p) => p.trim());
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(req, {
        idleTimeout: deps.idleTimeoutS,
        ...(offered.includes(SUBPROTOCOL) ? { protocol: SUBPROTOCOL } : {}),
      });
    } catch (error) {
      return jsonError(
        400,
        "bad_upgrade",
        `WebSocket upgrade failed: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    const { socket, response } = upgraded;
    deps.sockets.add(socket);
    socket.addEventListener("open", () => {
      const connection = deps.hub.connect(socket, memberId);
      socket.addEventListener(
        "message",
        (event) => deps.hub.receive(connection, event.data),
      );
      // `close` can fire twice on Deno; the hub's disconnect is idempotent.
      socket.addEventListener(
        "close",
        (event) => deps.hub.disconnect(connection, event.code),
      );
    });
    return response;
  });
}
