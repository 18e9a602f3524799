/**
 * The Pusher HTTP API, signed as Pusher signs it (see `docs/pusher.md`):
 *
 * - `POST /apps/:id/events` and `POST /apps/:id/batch_events` publish through
 *   {@linkcode Hub.publish}, the path of every roomcast publish (offsets,
 *   history, every isolate); `socket_id` keeps the event from that socket.
 * - `GET /apps/:id/channels` and `GET /apps/:id/channels/:name` describe
 *   channels (`subscription_count`, `user_count`) across isolates and nodes;
 *   so does `info` on the two above.
 * - `GET /apps/:id/channels/:name/users` lists a presence channel's users
 *   across isolates.
 * - `POST /apps/:id/users/:user/terminate_connections` closes the user's
 *   connections on every node (4009).
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
import {
  channelKind,
  channelRoom,
  isValidUserId,
  toRoomcast,
} from "../lib/pusher/wire.ts";
import type { ChannelCounts } from "../lib/pusher/channel_counts.ts";
import {
  channelAttributes,
  listChannels,
  parseInfo,
} from "../lib/pusher/channel_info.ts";
import { isJson, type Json } from "../lib/protocol/mod.ts";
import { LogOverloadedError } from "../lib/room_log/room_log.ts";
import { readAtMost } from "../lib/support/read_at_most.ts";

/** What the Pusher HTTP API needs. */
export interface PusherApiDeps {
  hub: Hub;
  apps: PusherApps;
  /** Subscription counts across isolates and nodes. */
  counts: ChannelCounts;
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
  const { hub, metrics, log, counts } = deps;
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
          hub.publish(
            channelRoom(channel)!,
            toRoomcast(event.name, event.data),
            {
              // A socket id as `from`: that socket's session skips it.
              from: event.socketId ?? "api",
            },
          )
        )
      ),
    );
  };

  /**
   * A failed publish: 503 with `Retry-After` when the history store is behind
   * (as the native API answers; the SDKs surface the status), else 500.
   */
  const refused = (c: Context, error: unknown): Response => {
    if (error instanceof LogOverloadedError) {
      const response = answer(c, 503, error.message);
      response.headers.set(
        "retry-after",
        String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))),
      );
      return response;
    }
    log.error("Pusher API publish failed", { error: String(error) });
    return answer(c, 500, "Publish failed; it may be retried");
  };

  app.post("/apps/:id/events", async (c) => {
    const request = await signed(c);
    if (request instanceof Response) return request;
    const event = readEvent(request.app, request.body, true);
    if ("status" in event) return answer(c, event.status, event.error);
    try {
      await publish([event]);
    } catch (error) {
      return refused(c, error);
    }
    return answer(
      c,
      200,
      event.info.length === 0
        ? {}
        : { channels: await describe(event.channels, event.info) },
    );
  });

  app.post("/apps/:id/batch_events", async (c) => {
    const request = await signed(c);
    if (request instanceof Response) return request;
    const events = readBatch(request.app, request.body ?? null);
    if ("status" in events) return answer(c, events.status, events.error);
    try {
      await publish(events);
    } catch (error) {
      return refused(c, error);
    }
    const batch: Json[] = [];
    for (const event of events) {
      const described = await describe(event.channels, event.info);
      batch.push(described[event.channels[0]!] ?? {});
    }
    return answer(c, 200, { batch });
  });

  /** The asked attributes of each channel (users across isolates). */
  const describe = async (
    channels: readonly string[],
    info: ReturnType<typeof parseInfo>,
  ): Promise<Record<string, Json>> => {
    const out: Record<string, Json> = {};
    if (!Array.isArray(info)) return out;
    for (const channel of channels) {
      const users = info.includes("user_count") &&
          channelKind(channel) === "presence"
        ? (await hub.roomInfo(channel)).members.length
        : 0;
      out[channel] = channelAttributes(channel, info, counts, users);
    }
    return out;
  };

  app.get("/apps/:id/channels", async (c) => {
    const request = await signed(c);
    if (request instanceof Response) return request;
    const info = parseInfo(c.req.query("info"));
    if (!Array.isArray(info)) return answer(c, info.status, info.error);
    const prefix = c.req.query("filter_by_prefix") ?? "";
    if (info.includes("user_count") && !prefix.startsWith("presence-")) {
      return answer(
        c,
        400,
        "info=user_count needs filter_by_prefix=presence-",
      );
    }
    return answer(c, 200, {
      channels: listChannels(prefix, info, counts, hub.roomList()),
    });
  });

  app.get("/apps/:id/channels/:name", async (c) => {
    const request = await signed(c);
    if (request instanceof Response) return request;
    const channel = c.req.param("name");
    const room = channelRoom(channel);
    if (room === undefined) return answer(c, 400, "Invalid channel name");
    const info = parseInfo(c.req.query("info"));
    if (!Array.isArray(info)) return answer(c, info.status, info.error);
    const presence = channelKind(channel) === "presence";
    if (info.includes("user_count") && !presence) {
      return answer(c, 400, "user_count is for presence channels only");
    }
    const users = presence ? (await hub.roomInfo(room)).members.length : 0;
    return answer(c, 200, {
      occupied: users > 0 || counts.total(room) > 0,
      ...channelAttributes(channel, info, counts, users),
    });
  });

  app.post("/apps/:id/users/:user/terminate_connections", async (c) => {
    const request = await signed(c);
    if (request instanceof Response) return request;
    const user = c.req.param("user");
    if (!isValidUserId(user)) return answer(c, 400, "Invalid user id");
    metrics.inc("pusher_terminations_total");
    // Over the bus: the user's connections on every node close with 4009.
    hub.terminate(user);
    return answer(c, 200, {});
  });

  app.get("/apps/:id/channels/:name/users", async (c) => {
    const request = await signed(c);
    if (request instanceof Response) return request;
    const channel = c.req.param("name");
    if (
      channelRoom(channel) === undefined || channelKind(channel) !== "presence"
    ) {
      return answer(c, 400, "Users are listed for presence channels only");
    }
    const { members } = await hub.roomInfo(channel);
    return answer(c, 200, { users: members.map((m) => ({ id: m.id })) });
  });
}
