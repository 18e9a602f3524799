/**
 * Validates the bodies of the Pusher HTTP API's `POST /apps/:id/events` and
 * `POST /apps/:id/batch_events` against the app's limits. A refusal carries
 * the HTTP status Pusher uses: 400 for a bad request, 413 for oversize data.
 *
 * @module
 */

import { isRecord } from "../protocol/mod.ts";
import type { Json } from "../protocol/mod.ts";
import type { PusherApp } from "../support/pusher_apps.ts";
import { type InfoAttribute, parseInfo } from "./channel_info.ts";
import {
  CHANNEL_NAME_RULE,
  channelRoom,
  isDeliverableEvent,
  MAX_EVENT_NAME_LENGTH,
} from "./wire.ts";

/** One event to publish on its channels. */
export interface ApiEvent {
  name: string;
  /** The wire data string (a non-string `data` is JSON-encoded). */
  data: string;
  /** Channel names, each a valid channel (`#server-to-user-<id>` too). */
  channels: string[];
  /** The sender's socket: it does not receive the event. */
  socketId?: string;
  /** Attributes to answer with (`info`). */
  info: InfoAttribute[];
}

/** A refused body: status and explanation. */
export interface ApiRefusal {
  status: 400 | 413;
  error: string;
}

const SOCKET_ID = /^\d+\.\d+$/;

/** Reads one event (`channels` or `channel`), or explains why it is refused. */
export function readEvent(
  app: PusherApp,
  value: unknown,
  single: boolean,
): ApiEvent | ApiRefusal {
  if (!isRecord(value)) return bad("Event must be a JSON object");
  const { name, data, channels, channel } = value;
  const socketId = value["socket_id"];
  if (typeof name !== "string" || !isDeliverableEvent(name)) {
    return bad(
      `"name" must be 1-${MAX_EVENT_NAME_LENGTH} characters, not starting with pusher:`,
    );
  }
  if (data === undefined) return bad('"data" is required');
  const text = typeof data === "string" ? data : JSON.stringify(data);
  if (new TextEncoder().encode(text).length > app.maxEventPayloadBytes) {
    return {
      status: 413,
      error: `"data" is over ${app.maxEventPayloadBytes} bytes`,
    };
  }
  let list: unknown[];
  if (single && Array.isArray(channels)) list = channels;
  else if (typeof channel === "string") list = [channel];
  else {return bad(
      single ? '"channels" or "channel" is required' : '"channel" is required',
    );}
  if (list.length === 0 || list.length > app.maxEventChannels) {
    return bad(`"channels" must name 1-${app.maxEventChannels} channels`);
  }
  const names: string[] = [];
  for (const item of list) {
    if (typeof item !== "string" || channelRoom(item) === undefined) {
      return bad(`Channel names must be ${CHANNEL_NAME_RULE}`);
    }
    names.push(item);
  }
  const info = parseInfo(value.info);
  if (!Array.isArray(info)) return info;
  const event: ApiEvent = {
    name,
    data: text,
    channels: [...new Set(names)],
    info,
  };
  if (socketId !== undefined) {
    if (typeof socketId !== "string" || !SOCKET_ID.test(socketId)) {
      return bad('"socket_id" must look like 123.456');
    }
    event.socketId = socketId;
  }
  return event;
}

/** Reads a `batch_events` body `{batch: [...]}` of at most the app's batch size. */
export function readBatch(
  app: PusherApp,
  body: Json,
): ApiEvent[] | ApiRefusal {
  if (!isRecord(body) || !Array.isArray(body.batch)) {
    return bad('Body must be {"batch": [...]}');
  }
  if (body.batch.length === 0 || body.batch.length > app.maxEventBatchSize) {
    return bad(`"batch" must hold 1-${app.maxEventBatchSize} events`);
  }
  const events: ApiEvent[] = [];
  for (const item of body.batch) {
    const event = readEvent(app, item, false);
    if ("status" in event) return event;
    events.push(event);
  }
  return events;
}

function bad(error: string): ApiRefusal {
  return { status: 400, error };
}
