/**
 * The HTTP API for backends, under `/api`, guarded by `API_KEY` as a bearer
 * key (see `docs/http_api.md`):
 *
 * - `POST /api/rooms/:room/messages` with `{"data": <any JSON>}` publishes
 *   through {@linkcode Hub.publish}, the same path as a socket publish
 *   (offsets, history, every isolate), and answers 201 `{room, offset, epoch}`
 *   once it is sequenced and delivered; with `?durable=1`, once it is also
 *   committed to the history store. 503 `overloaded` with `Retry-After` when
 *   the store is behind (nothing published).
 * - `GET /api/rooms` lists the rooms with members.
 * - `GET /api/rooms/:room` describes one room.
 * - `GET /api/rooms/:room/messages` reads its stored history
 *   (`api_history.ts`).
 *
 * With `API_KEY` empty every `/api` path answers 404 `api_disabled`. Bodies
 * are read up to `MAX_MESSAGE_BYTES` and no further.
 *
 * @module
 */

import type { Hono } from "hono";
import { LogOverloadedError } from "../lib/room_log/room_log.ts";
import type { Hub } from "../lib/hub/hub.ts";
import { jsonError } from "../lib/support/http_error.ts";
import type { Logger } from "../lib/support/log.ts";
import type { Metrics } from "../lib/support/metrics.ts";
import type { RefusalLog } from "../lib/support/refusal_log.ts";
import {
  isJson,
  isValidRoomName,
  type Json,
  jsonFault,
  ROOM_NAME_RULE,
} from "../lib/protocol/mod.ts";
import { bearerGuard } from "./_bearer.ts";
import { mountHistoryRead } from "./api_history.ts";
import { readAtMost } from "../lib/support/read_at_most.ts";

/** What the API routes need. */
export interface ApiDeps {
  hub: Hub;
  log: Logger;
  /** Where refusals are counted (`api_refused_total`). */
  metrics: Metrics;
  /** Where refusals are logged (aggregated, rate limited). */
  refusals: RefusalLog;
  /** The bearer key (`API_KEY`); empty disables the API. */
  apiKey: string;
  /** Largest request body, in bytes (`MAX_MESSAGE_BYTES`). */
  maxBodyBytes: number;
  /** Deepest nesting of `data` (`MAX_JSON_DEPTH`); deeper is 400 `too_deep`. */
  maxJsonDepth: number;
  /** Largest `limit` of a history read (`MAX_HISTORY_READ`). @default {100} */
  maxHistoryRead?: number;
}

/** The answer to a successful publish. */
export interface PublishResult {
  room: string;
  offset: number;
  epoch: string;
}

const ROOM_RULE = `Room must be ${ROOM_NAME_RULE}`;

/** Mounts `/api/*`. */
export function mountApi(app: Hono, deps: ApiDeps): void {
  const { hub, log, metrics, refusals, maxBodyBytes } = deps;

  app.use(
    "/api/*",
    bearerGuard({
      key: deps.apiKey,
      disabled: {
        code: "api_disabled",
        message: "The HTTP API is disabled: set API_KEY to enable it",
      },
      metrics,
      metric: "api_refused_total",
      refusals,
      cause: "api",
      message: "API request refused",
    }),
  );

  app.get("/api/rooms", (c) => c.json({ rooms: hub.roomList() }));
  mountHistoryRead(app, {
    hub,
    metrics,
    maxHistoryRead: deps.maxHistoryRead ?? 100,
  });

  // Logout or ban: every connection of the member, on every node, closes
  // with 4500 (terminal). Pair it with revoking the user's tokens.
  app.post("/api/members/:member/terminate", (c) => {
    const member = c.req.param("member");
    if (member === "" || member.length > 128) {
      return jsonError(400, "bad_member", "Member ids are 1-128 characters");
    }
    const closedHere = hub.terminate(member);
    log.info("Member terminated", { member, closedHere });
    return c.json({ member, closedHere }, 202);
  });

  app.get("/api/rooms/:room", async (c) => {
    const room = c.req.param("room");
    if (!isValidRoomName(room)) return jsonError(400, "bad_room", ROOM_RULE);
    return c.json(await hub.roomInfo(room));
  });

  app.post("/api/rooms/:room/messages", async (c) => {
    const room = c.req.param("room");
    const refuse = (status: number, code: string, message: string) => {
      metrics.inc("api_refused_total", 1, code);
      refusals.refuse("info", `api_publish:${code}`, "API publish refused", {
        room: room.slice(0, 128),
        code,
      });
      return jsonError(status, code, message);
    };
    if (!isValidRoomName(room)) return refuse(400, "bad_room", ROOM_RULE);
    const durable = readFlag(c.req.query("durable"));
    if (durable === undefined) {
      return refuse(400, "bad_query", 'Query "durable" must be 1 or 0');
    }
    if (!isJsonMediaType(c.req.header("content-type"))) {
      return refuse(
        415,
        "unsupported_media_type",
        "Content-Type must be application/json",
      );
    }
    const tooLarge = () =>
      refuse(413, "too_large", `Body exceeds ${maxBodyBytes} bytes`);
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > maxBodyBytes) {
      return tooLarge();
    }
    const bytes = await readAtMost(c.req.raw.body, maxBodyBytes);
    if (bytes === undefined) return tooLarge();
    let body: unknown;
    try {
      body = JSON.parse(
        new TextDecoder("utf-8", { fatal: true }).decode(bytes),
      );
    } catch {
      return refuse(400, "bad_json", "Body is not valid UTF-8 JSON");
    }
    const data = readData(body, deps.maxJsonDepth);
    if (data === "too_deep") {
      return refuse(
        400,
        "too_deep",
        `Field "data" nests arrays and objects deeper than ${deps.maxJsonDepth}`,
      );
    }
    if (typeof data === "string") return refuse(400, "bad_body", data);
    let stored;
    try {
      stored = await hub.publish(room, data.value, { from: "api", durable });
    } catch (error) {
      if (error instanceof LogOverloadedError) {
        // Counted in publishes_refused_total; logged at debug (a flood).
        log.debug("API publish refused", { room, code: "overloaded" });
        return jsonError(503, "overloaded", error.message, {
          "retry-after": String(
            Math.max(1, Math.ceil(error.retryAfterMs / 1000)),
          ),
        });
      }
      log.error("API publish failed", { room, error: String(error) });
      return jsonError(
        500,
        "internal",
        durable
          ? "Publish failed, or was delivered but not committed; a retry may publish it twice"
          : "Publish failed; it may be retried",
      );
    }
    log.debug("API publish", {
      room,
      offset: stored.offset,
      bytes: bytes.length,
    });
    const result: PublishResult = {
      room,
      offset: stored.offset,
      epoch: stored.epoch,
    };
    return c.json(result, 201);
  });
}

/** A `1`/`true`/`0`/`false` query flag (absent: false), or undefined when malformed. */
function readFlag(raw: string | undefined): boolean | undefined {
  if (raw === undefined || raw === "" || raw === "0" || raw === "false") {
    return false;
  }
  return raw === "1" || raw === "true" ? true : undefined;
}

/** `application/json`, with parameters (charset) or not. */
function isJsonMediaType(contentType: string | undefined): boolean {
  const type = contentType?.split(";", 1)[0]?.trim().toLowerCase();
  return type === "application/json";
}

/**
 * The body's `data`, `"too_deep"`, or a message saying what is wrong with
 * the body.
 */
function readData(body: unknown, maxDepth: number): { value: Json } | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return 'Body must be a JSON object: {"data": <any JSON>}';
  }
  const extra = Object.keys(body).find((key) => key !== "data");
  if (extra !== undefined) {
    return `Unknown field "${
      extra.slice(0, 32)
    }": the body is {"data": <any JSON>}`;
  }
  const value: unknown = Reflect.get(body, "data");
  if (value === undefined) return 'Field "data" is required';
  if (!isJson(value, maxDepth)) {
    if (jsonFault(value, maxDepth) === "too_deep") return "too_deep";
    return 'Field "data" must be JSON';
  }
  return { value };
}
