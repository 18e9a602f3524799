/**
 * The Pusher HTTP API, signed as Pusher signs it (see `docs/pusher.md`):
 *
 * - `POST /apps/:id/events` and `POST /apps/:id/batch_events` publish through
 *   {@linkcode Hub.publish}, the path of every roomcast publish (offsets,
 *   history, every isolate); `socket_id` keeps the event from that socket.
 * - `GET /apps/:id/channels/:name/users` lists a presence channel's users
 *   across isolates.
 *
 * Failures are real HTTP statuses: 400 bad request, 401 bad signature or
 * stale timestamp, 404 unknown app, 413 oversize body or data.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import type { Hub } from "../lib/hub/hub.ts";
import type { Logger } from "../lib/support/log.ts";
import type { Metrics } from "../lib/support/metrics.ts";
import {
  type ApiEvent,
  readBatch,
  readEvent,
} from "../lib/pusher/api_events.ts";
import type { PusherApp, PusherApps } from "../lib/support/pusher_apps.ts";
import { requestAuthError } from "../lib/pusher/request_auth.ts";
import { channelKind, toRoomcast } from "../lib/pusher/wire.ts";
import { isJson, isValidRoomName, type Json } from "../lib/protocol/mod.ts";
import { readAtMost } from "./api.ts";

/** What the Pusher HTTP API needs. */
export interface PusherApiDeps {
  hub: Hub;
  apps: PusherApps;
  metrics: Metrics;
  log: Logger;
  /** Largest request body, in bytes (`MAX_MESSAGE_BYTES`). */
  maxBodyBytes: number;
  now?: () => number;
}

/** A request that passed the signature check. */
interface Signed {
  app: PusherApp;
  body: Json | undefined;
}

/** Mounts `/apps/:id/...`. */
export function mountPusherApi(app: Hono, deps: PusherApiDeps): void {
  const { hub, metrics, log } = deps;
  const now = deps.now ?? Date.now;
  const answer = (_c: Context, status: number, body: Json): Response => {
    metrics.inc("pusher_api_requests_total", 1, String(status));
    return Response.json(
      status >= 400 ? { error: body, code: status } : body,
      { status },
    );
  };

  /** Checks the app and the signature, and reads a bounded JSON body. */
  const signed = async (c: Context): Promise<Signed | Response> => {
    const found = deps.apps.byId(c.req.param("id") ?? "");
    if (found === undefined) return answer(c, 404, "Unknown app");
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > deps.maxBodyBytes) {
      return answer(c, 413, `Body exceeds ${deps.maxBodyBytes} bytes`);
    }
    const bytes = await readAtMost(c.req.raw.body, deps.maxBodyBytes);
    if (bytes === undefined) {
      return answer(c, 413, `Body exceeds ${deps.maxBodyBytes} bytes`);
    }
    const url = new URL(c.req.url);
    const refused = requestAuthError(
      found,
      c.req.method,
      url.pathname,
      url.searchParams,
      bytes,
      now(),
    );
    if (refused !== undefined) return answer(c, 401, refused);
    if (bytes.length === 0) return { app: found, body: undefined };
    let body: unknown;
    try {
      body = JSON.parse(
        new TextDecoder("utf-8", { fatal: true }).decode(bytes),
      );
    } catch {
      return answer(c, 400, "Body is not valid UTF-8 JSON");
    }
    return isJson(body)
      ? { app: found, body }
      : answer(c, 400, "Body is not JSON");
  };

  const publish = async (events: ApiEvent[]) => {
    await Promise.all(
      events.flatMap((event) =>
        event.channels.map((channel) =>
          hub.publish(channel, toRoomcast(event.name, event.data), {
            // A socket id as `from`: that socket's session skips it.
            from: event.socketId ?? "api",
          })
        )
      ),
    );
  };

  app.post("/apps/:id/events", async (c) => {
    const request = await signed(c);
    if (request instanceof Response) return request;
    const event = readEvent(request.app, request.body, true);
    if ("status" in event) return answer(c, event.status, event.error);
    try {
      await publish([event]);
    } catch (error) {
      log.error("Pusher API publish failed", { error: String(error) });
      return answer(c, 500, "Publish failed; it may be retried");
    }
    return answer(c, 200, {});
  });

  app.post("/apps/:id/batch_events", async (c) => {
    const request = await signed(c);
    if (request instanceof Response) return request;
    const events = readBatch(request.app, request.body ?? null);
    if ("status" in events) return answer(c, events.status, events.error);
    try {
      await publish(events);
    } catch (error) {
      log.error("Pusher API batch publish failed", { error: String(error) });
      return answer(c, 500, "Publish failed; it may be retried");
    }
    return answer(c, 200, { batch: events.map(() => ({})) });
  });

  app.get("/apps/:id/channels/:name/users", async (c) => {
    const request = await signed(c);
    if (request instanceof Response) return request;
    const channel = c.req.param("name");
    if (!isValidRoomName(channel) || channelKind(channel) !== "presence") {
      return answer(c, 400, "Users are listed for presence channels only");
    }
    const { members } = await hub.roomInfo(channel);
    return answer(c, 200, { users: members.map((m) => ({ id: m.id })) });
  });
}
