/**
 * Validation of client frames: {@linkcode parseClientMessage}, what the
 * server runs on every frame it receives.
 *
 * @module
 */

import { ERROR_CODE } from "./codes.ts";
import { isJson, isRecord, jsonBytes, jsonFault } from "./json.ts";
import {
  type ClientMessage,
  isStreamPosition,
  isValidRoomName,
  type JoinMessage,
  MAX_ID_LENGTH,
  MAX_JOIN_HISTORY,
  MAX_JSON_DEPTH,
  MAX_META_BYTES,
  type MessageId,
  ProtocolError,
  type PublishMessage,
  ROOM_NAME_RULE,
} from "./messages.ts";

/**
 * Parses and validates one client text frame.
 *
 * `data` and `meta` may nest arrays and objects at most `maxJsonDepth` deep.
 *
 * @throws {ProtocolError} with code `bad_json`, `bad_message`, `unknown_type`, `bad_room`, `bad_meta` or `too_deep`.
 *
 * @example Usage
 * ```ts
 * import { parseClientMessage } from "./parse_client.ts";
 * import assert from "node:assert/strict";
 *
 * const msg = parseClientMessage('{"type":"join","room":"lobby"}');
 * assert.deepEqual(msg, { type: "join", room: "lobby" });
 * ```
 */
export function parseClientMessage(
  text: string,
  maxJsonDepth: number = MAX_JSON_DEPTH,
): ClientMessage {
  const value = parseJson(text);
  if (!isRecord(value)) {
    throw new ProtocolError(
      ERROR_CODE.BAD_MESSAGE,
      "Message must be a JSON object",
    );
  }
  const ref = readId(value);
  const type = value.type;
  switch (type) {
    case "join": {
      const join: JoinMessage = { type, room: readRoom(value, ref) };
      if (ref !== undefined) join.id = ref;
      if (value.since !== undefined) {
        if (!isStreamPosition(value.since)) {
          throw new ProtocolError(
            ERROR_CODE.BAD_MESSAGE,
            'Field "since" must be {offset: integer >= 0, epoch: string}',
            ref,
          );
        }
        join.since = { offset: value.since.offset, epoch: value.since.epoch };
      }
      const meta = value.meta;
      if (meta !== undefined) {
        if (jsonFault(meta, maxJsonDepth) === "too_deep") {
          throw tooDeep("meta", maxJsonDepth, ref);
        }
        if (!isJson(meta) || jsonBytes(meta) > MAX_META_BYTES) {
          throw new ProtocolError(
            ERROR_CODE.BAD_META,
            `Field "meta" must be JSON of at most ${MAX_META_BYTES} bytes`,
            ref,
          );
        }
        join.meta = meta;
      }
      const presence = value.presence;
      if (presence !== undefined) {
        if (typeof presence !== "boolean") {
          throw new ProtocolError(
            ERROR_CODE.BAD_MESSAGE,
            'Field "presence" must be a boolean',
            ref,
          );
        }
        join.presence = presence;
      }
      const history = value.history;
      if (history !== undefined) {
        if (
          typeof history !== "number" || !Number.isInteger(history) ||
          history < 0 || history > MAX_JOIN_HISTORY
        ) {
          throw new ProtocolError(
            ERROR_CODE.BAD_MESSAGE,
            `Field "history" must be an integer from 0 to ${MAX_JOIN_HISTORY}`,
            ref,
          );
        }
        if (history > 0) join.history = history;
      }
      return join;
    }
    case "leave": {
      const room = readRoom(value, ref);
      return ref === undefined ? { type, room } : { type, room, id: ref };
    }
    case "publish": {
      const room = readRoom(value, ref);
      if (value.data === undefined) {
        throw new ProtocolError(
          ERROR_CODE.BAD_MESSAGE,
          'Field "data" is required',
          ref,
        );
      }
      const echo = value.echo;
      if (echo !== undefined && typeof echo !== "boolean") {
        throw new ProtocolError(
          ERROR_CODE.BAD_MESSAGE,
          'Field "echo" must be a boolean',
          ref,
        );
      }
      const durable = value.durable;
      if (durable !== undefined && typeof durable !== "boolean") {
        throw new ProtocolError(
          ERROR_CODE.BAD_MESSAGE,
          'Field "durable" must be a boolean',
          ref,
        );
      }
      const data = value.data;
      if (!isJson(data, maxJsonDepth)) {
        if (jsonFault(data, maxJsonDepth) === "too_deep") {
          throw tooDeep("data", maxJsonDepth, ref);
        }
        throw new ProtocolError(
          ERROR_CODE.BAD_MESSAGE,
          'Field "data" must be JSON',
          ref,
        );
      }
      const message: PublishMessage = { type, room, data };
      if (ref !== undefined) message.id = ref;
      if (echo !== undefined) message.echo = echo;
      if (durable === true) message.durable = true;
      return message;
    }
    case "ping":
      return ref === undefined ? { type } : { type, id: ref };
    default:
      if (typeof type !== "string") {
        throw new ProtocolError(
          ERROR_CODE.BAD_MESSAGE,
          'Field "type" must be a string',
          ref,
        );
      }
      throw new ProtocolError(
        ERROR_CODE.UNKNOWN_TYPE,
        `Unknown message type "${type.slice(0, 32)}"`,
        ref,
      );
  }
}

function tooDeep(
  field: string,
  maxJsonDepth: number,
  ref: MessageId | undefined,
): ProtocolError {
  return new ProtocolError(
    ERROR_CODE.TOO_DEEP,
    `Field "${field}" nests arrays and objects deeper than ${maxJsonDepth}`,
    ref,
  );
}

export function isMessageId(value: unknown): value is MessageId {
  return (typeof value === "string" && value.length <= MAX_ID_LENGTH) ||
    (typeof value === "number" && Number.isSafeInteger(value));
}

function readId(value: Record<string, unknown>): MessageId | undefined {
  const id = value.id;
  if (id === undefined) return undefined;
  if (isMessageId(id)) return id;
  throw new ProtocolError(
    ERROR_CODE.BAD_MESSAGE,
    `Field "id" must be a string of at most ${MAX_ID_LENGTH} characters or an integer`,
  );
}

function readRoom(
  value: Record<string, unknown>,
  ref: MessageId | undefined,
): string {
  const room = value.room;
  if (isValidRoomName(room)) return room;
  throw new ProtocolError(
    ERROR_CODE.BAD_ROOM,
    `Field "room" must be ${ROOM_NAME_RULE}`,
    ref,
  );
}

/** `JSON.parse`, throwing a {@linkcode ProtocolError} (`bad_json`) for bad text. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError(ERROR_CODE.BAD_JSON, "Frame is not valid JSON");
  }
}
