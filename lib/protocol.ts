/**
 * The roomcast wire protocol, version 1: JSON text frames, one message per
 * frame, discriminated on `type`. Shared by the server and the client SDK, so
 * browser compatible (no `Deno.*`). Every frame that crosses a trust boundary
 * goes through {@linkcode parseClientMessage} or {@linkcode parseServerMessage};
 * nothing is ever cast. See `docs/protocol.md`.
 *
 * @module
 */

import { ERROR_CODE, type ErrorCode } from "./codes.ts";

/** The protocol version announced in `welcome`. */
export const PROTOCOL_VERSION = 1;

/** The WebSocket subprotocol name for version 1. */
export const SUBPROTOCOL = "roomcast.v1";

/**
 * Version 1 with frame coalescing: besides single messages, the server may
 * send a JSON array of messages in one frame. Offer it before
 * {@linkcode SUBPROTOCOL}; the server answers with the one it speaks.
 */
export const SUBPROTOCOL_BATCH = "roomcast.v1.batch";

/** Longest accepted message or ping `id` (characters). */
export const MAX_ID_LENGTH = 128;

/** Longest accepted epoch string (characters). */
export const MAX_EPOCH_LENGTH = 64;

/** Largest accepted presence `meta`, in UTF-8 bytes of its JSON text. */
export const MAX_META_BYTES = 1024;

/** Any JSON value. */
export type Json =
  | null
  | boolean
  | number
  | string
  | Json[]
  | { [key: string]: Json };

/** A position in a room's stream: the last offset seen and the epoch that numbers it. */
export interface StreamPosition {
  /** Offset of the last message seen (0 before the first message). */
  offset: number;
  /** Name of the offset sequence; it changes when history is lost. */
  epoch: string;
}

/** A client-chosen correlation id, echoed in `ack`, `pong` and `error.ref`. */
export type MessageId = string | number;

/** Join a room, optionally resuming from a position, with presence metadata. */
export interface JoinMessage {
  type: "join";
  room: string;
  /** Echoed as `ref` by an `error` about this join. */
  id?: MessageId;
  since?: StreamPosition;
  /** This member's presence metadata in the room (JSON, at most 1 KiB); giving it enters presence. */
  meta?: Json;
  /**
   * Whether this connection appears in the room's presence.
   * @default {true when `meta` is given, else false}
   */
  presence?: boolean;
}

/** Leave a room. */
export interface LeaveMessage {
  type: "leave";
  room: string;
  /** Echoed as `ref` by an `error` about this leave. */
  id?: MessageId;
}

/** Publish `data` to a joined room. `echo` (default true) also delivers it to the sender. */
export interface PublishMessage {
  type: "publish";
  room: string;
  data: Json;
  id?: MessageId;
  echo?: boolean;
}

/** Application-level ping; the server answers with `pong`. */
export interface PingMessage {
  type: "ping";
  id?: MessageId;
}

/** Every message a client may send. */
export type ClientMessage =
  | JoinMessage
  | LeaveMessage
  | PublishMessage
  | PingMessage;

/** First frame on every connection. */
export interface WelcomeMessage {
  type: "welcome";
  connectionId: string;
  /** How often the client should send `ping`, in milliseconds. */
  heartbeatMs: number;
  protocol: typeof PROTOCOL_VERSION;
  /** The member id this connection appears under in presence. */
  memberId: string;
  /** Largest message the server accepts, in UTF-8 bytes; larger closes with 1009 (absent from servers before it was added). */
  maxMessageBytes?: number;
  /** The connection's inbound budget: a client that paces itself to it is never refused. */
  rateLimit?: RateLimit;
}

/** A token bucket: `burst` messages at once, refilled at `perSecond`. */
export interface RateLimit {
  /** Refill rate, messages per second. */
  perSecond: number;
  /** Bucket size: messages that may be sent at once. */
  burst: number;
}

/**
 * The connection is now a member of `room`. Messages for it continue after
 * `offset`. On a resume (`join` with `since`), `recovered` says whether every
 * missed message follows; when false, `offset` is the current position and
 * the messages in between are lost to this client.
 */
export interface JoinedMessage {
  type: "joined";
  room: string;
  offset: number;
  epoch: string;
  recovered?: boolean;
  /** Everyone present in the room, on every isolate, this connection included. */
  members: PresenceMember[];
}

/** A member of a room: a user id (one per user, whatever its tabs) and metadata. */
export interface PresenceMember {
  /** Member id: the user, shared by all its connections. */
  id: string;
  /** Metadata from its join (e.g. `{name}`), at most 1 KiB. */
  meta: Json;
}

/** A member appeared in (first connection) or left (last connection) a room. */
export interface PresenceMessage {
  type: "presence";
  room: string;
  event: "join" | "leave";
  member: PresenceMember;
}

/** The connection left `room`. */
export interface LeftMessage {
  type: "left";
  room: string;
}

/** A message published to a room. `ts` is server time in ms since the epoch. */
export interface RoomMessage {
  /** Discriminant. */
  type: "message";
  /** The room it was published to. */
  room: string;
  /** The published JSON value. */
  data: Json;
  /** Its position in the room: one more than the previous message. */
  offset: number;
  /** The sequence `offset` belongs to. */
  epoch: string;
  /** Server time of the publish, ms since the Unix epoch. */
  ts: number;
  /** Connection id of the publisher, or `"api"` for the HTTP API. */
  from: string;
}

/** The server accepted the publish with this `id` at `offset`. */
export interface AckMessage {
  type: "ack";
  id: MessageId;
  offset: number;
}

/** Answer to `ping`. `ts` is server time in ms. */
export interface PongMessage {
  type: "pong";
  id?: MessageId;
  ts: number;
}

/** A request failed; the connection stays open. `ref` is the failed message's `id`. */
export interface ErrorMessage {
  /** Discriminant. */
  type: "error";
  /** Stable error code: branch on it. */
  code: ErrorCode;
  /** Human-readable explanation. */
  message: string;
  /** The `id` of the client message that failed, when it had one. */
  ref?: MessageId;
}

/** Every message the server may send. */
export type ServerMessage =
  | WelcomeMessage
  | JoinedMessage
  | LeftMessage
  | RoomMessage
  | PresenceMessage
  | AckMessage
  | PongMessage
  | ErrorMessage;

/** A frame that does not follow the protocol; `code` is the stable error code to report. */
export class ProtocolError extends Error {
  /** The `error` frame code that describes the problem. */
  readonly code: ErrorCode;
  /** The `id` of the offending message, when it had a valid one. */
  readonly ref: MessageId | undefined;

  /** Creates an error with a stable code and an optional reference id. */
  constructor(code: ErrorCode, message: string, ref?: MessageId) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
    this.ref = ref;
  }
}

const ROOM_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

/**
 * Whether `name` is a valid room name: 1–128 characters of `[A-Za-z0-9_.:@-]`.
 *
 * @example Usage
 * ```ts
 * import { isValidRoomName } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isValidRoomName("lobby:42"), true);
 * assert.equal(isValidRoomName("no spaces"), false);
 * ```
 */
export function isValidRoomName(name: unknown): name is string {
  return typeof name === "string" && ROOM_PATTERN.test(name);
}

/** Whether `value` is a valid stream position. */
export function isStreamPosition(value: unknown): value is StreamPosition {
  if (!isRecord(value)) return false;
  const { offset, epoch } = value;
  return Number.isSafeInteger(offset) && typeof offset === "number" &&
    offset >= 0 && typeof epoch === "string" && epoch.length > 0 &&
    epoch.length <= MAX_EPOCH_LENGTH;
}

/**
 * Parses and validates one client text frame.
 *
 * @throws {ProtocolError} with code `bad_json`, `bad_message`, `unknown_type` or `bad_room`.
 *
 * @example Usage
 * ```ts
 * import { parseClientMessage } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const msg = parseClientMessage('{"type":"join","room":"lobby"}');
 * assert.deepEqual(msg, { type: "join", room: "lobby" });
 * ```
 */
export function parseClientMessage(text: string): ClientMessage {
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
      const data = value.data;
      if (!isJson(data)) {
        throw new ProtocolError(
          ERROR_CODE.BAD_MESSAGE,
          'Field "data" must be JSON',
          ref,
        );
      }
      const message: PublishMessage = { type, room, data };
      if (ref !== undefined) message.id = ref;
      if (echo !== undefined) message.echo = echo;
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

/**
 * Parses and validates one server text frame (used by the client SDK).
 *
 * @throws {ProtocolError} when the frame is not a known server message.
 */
export function parseServerMessage(text: string): ServerMessage {
  return parseServerValue(parseJson(text));
}

/**
 * Validates one already-parsed server message (an element of a batch frame).
 *
 * @throws {ProtocolError} when it is not a known server message.
 */
export function parseServerValue(value: unknown): ServerMessage {
  if (!isRecord(value)) {
    throw new ProtocolError(ERROR_CODE.BAD_MESSAGE, "Not a JSON object");
  }
  const bad = (field: string) =>
    new ProtocolError(
      ERROR_CODE.BAD_MESSAGE,
      `Server message "${String(value.type)}" has a bad "${field}"`,
    );
  const throwBad = (field: string): never => {
    throw bad(field);
  };
  const str = (field: string): string => {
    const v = value[field];
    if (typeof v !== "string") throw bad(field);
    return v;
  };
  const int = (field: string): number => {
    const v = value[field];
    if (typeof v !== "number" || !Number.isSafeInteger(v)) throw bad(field);
    return v;
  };
  const id = (): MessageId | undefined => {
    const v = value.id;
    if (v === undefined) return undefined;
    if (isMessageId(v)) return v;
    throw bad("id");
  };
  switch (value.type) {
    case "welcome": {
      if (value.protocol !== PROTOCOL_VERSION) throw bad("protocol");
      const welcome: WelcomeMessage = {
        type: "welcome",
        connectionId: str("connectionId"),
        heartbeatMs: int("heartbeatMs"),
        protocol: PROTOCOL_VERSION,
        memberId: str("memberId"),
      };
      if (value.maxMessageBytes !== undefined) {
        welcome.maxMessageBytes = int("maxMessageBytes");
      }
      const rate = value.rateLimit;
      if (rate !== undefined) {
        if (
          !isRecord(rate) || typeof rate.perSecond !== "number" ||
          typeof rate.burst !== "number" || rate.perSecond <= 0 ||
          rate.burst < 1
        ) {
          throw bad("rateLimit");
        }
        welcome.rateLimit = { perSecond: rate.perSecond, burst: rate.burst };
      }
      return welcome;
    }
    case "joined": {
      const members = value.members;
      if (!Array.isArray(members)) throw bad("members");
      const joined: JoinedMessage = {
        type: "joined",
        room: str("room"),
        offset: int("offset"),
        epoch: str("epoch"),
        members: members.map((m) => readMember(m) ?? throwBad("members")),
      };
      const recovered = value.recovered;
      if (typeof recovered === "boolean") joined.recovered = recovered;
      else if (recovered !== undefined) throw bad("recovered");
      return joined;
    }
    case "left":
      return { type: "left", room: str("room") };
    case "presence": {
      const event = value.event;
      if (event !== "join" && event !== "leave") throw bad("event");
      const member = readMember(value.member);
      if (member === undefined) throw bad("member");
      return { type: "presence", room: str("room"), event, member };
    }
    case "message": {
      const data = value.data;
      if (data === undefined || !isJson(data)) throw bad("data");
      return {
        type: "message",
        room: str("room"),
        data,
        offset: int("offset"),
        epoch: str("epoch"),
        ts: int("ts"),
        from: str("from"),
      };
    }
    case "ack": {
      const ackId = id();
      if (ackId === undefined) throw bad("id");
      return { type: "ack", id: ackId, offset: int("offset") };
    }
    case "pong": {
      const pongId = id();
      const ts = int("ts");
      return pongId === undefined
        ? { type: "pong", ts }
        : { type: "pong", id: pongId, ts };
    }
    case "error": {
      const code = str("code");
      if (!isErrorCode(code)) throw bad("code");
      const ref = value.ref;
      const message: ErrorMessage = {
        type: "error",
        code,
        message: str("message"),
      };
      if (isMessageId(ref)) message.ref = ref;
      return message;
    }
    default:
      throw new ProtocolError(
        ERROR_CODE.UNKNOWN_TYPE,
        `Unknown server message type "${String(value.type).slice(0, 32)}"`,
      );
  }
}

/**
 * Parses one server text frame into its messages: one, or several when the
 * frame is a batch (`[m1, m2, …]`, only on `roomcast.v1.batch`).
 *
 * @throws {ProtocolError} when the frame or any message in it is invalid.
 */
export function parseServerFrame(text: string): ServerMessage[] {
  if (!text.startsWith("[")) return [parseServerMessage(text)];
  const items = parseJson(text);
  if (!Array.isArray(items)) {
    throw new ProtocolError(ERROR_CODE.BAD_MESSAGE, "Bad batch frame");
  }
  return items.map(parseServerValue);
}

/** Serializes a server message to its text frame. */
export function encodeServerMessage(message: ServerMessage): string {
  return JSON.stringify(message);
}

function readMember(value: unknown): PresenceMember | undefined {
  if (!isRecord(value)) return undefined;
  const { id, meta } = value;
  if (typeof id !== "string" || meta === undefined || !isJson(meta)) {
    return undefined;
  }
  return { id, meta };
}

/** UTF-8 size of a JSON value's text. */
export function jsonBytes(value: Json): number {
  return new TextEncoder().encode(JSON.stringify(value)).length;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError(ERROR_CODE.BAD_JSON, "Frame is not valid JSON");
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isMessageId(value: unknown): value is MessageId {
  return (typeof value === "string" && value.length <= MAX_ID_LENGTH) ||
    (typeof value === "number" && Number.isSafeInteger(value));
}

const ERROR_CODES: ReadonlySet<string> = new Set(Object.values(ERROR_CODE));

function isErrorCode(value: string): value is ErrorCode {
  return ERROR_CODES.has(value);
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
    'Field "room" must be 1-128 characters of [A-Za-z0-9_.:@-]',
    ref,
  );
}

/**
 * Whether `value` is a JSON value (iterative, so deep nesting cannot overflow
 * the stack). Values from `JSON.parse` always are; this keeps the types honest.
 */
export function isJson(value: unknown): value is Json {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v === "string" || typeof v === "boolean") continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return false;
      continue;
    }
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
      continue;
    }
    if (typeof v !== "object") return false;
    for (const key in v) {
      if (Object.hasOwn(v, key)) stack.push(Reflect.get(v, key));
    }
  }
  return true;
}
