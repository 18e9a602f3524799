/**
 * The roomcast wire protocol, version 1: JSON text frames, one message per
 * frame, discriminated on `type`. Shared by the server and the client SDK, so
 * browser compatible (no `Deno.*`). Every frame that crosses a trust boundary
 * goes through {@linkcode parseClientMessage} or {@linkcode parseServerMessage};
 * nothing is ever cast. See `docs/protocol.md`.
 *
 * @module
 */

import type { ErrorCode } from "./codes.ts";
import { isRecord, type Json } from "./json.ts";

export {
  isValidRoomName,
  isValidUserName,
  MAX_ROOM_LENGTH,
  ROOM_NAME_RULE,
} from "./_names.ts";

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

/**
 * Default deepest nesting of arrays and objects in `data` and `meta`
 * (`MAX_JSON_DEPTH`): `[]` is depth 1. Deeper is refused with `too_deep`.
 */
export const MAX_JSON_DEPTH = 128;

/** Largest accepted presence `meta`, in UTF-8 bytes of its JSON text. */
export const MAX_META_BYTES = 1024;

/** Largest `history` a `join` may ask for; servers replay at most their `MAX_HISTORY_READ`. */
export const MAX_JOIN_HISTORY = 1000;

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
  /**
   * Without `since`: replay up to this many of the room's latest messages
   * (1 to {@linkcode MAX_JOIN_HISTORY}, capped by the server's
   * `MAX_HISTORY_READ`) before live ones; `joined.history` says how many.
   */
  history?: number;
}

/** Leave a room. */
export interface LeaveMessage {
  type: "leave";
  room: string;
  /** Echoed as `ref` by an `error` about this leave. */
  id?: MessageId;
}

/**
 * Publish `data` to a joined room. `echo` (default true) also delivers it to
 * the sender. `durable` (default false) sends the `ack` only once the message
 * is committed to the history store, not just sequenced and delivered.
 */
export interface PublishMessage {
  type: "publish";
  room: string;
  data: Json;
  id?: MessageId;
  echo?: boolean;
  durable?: boolean;
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
  /**
   * Everyone present in the room, on every isolate, this connection
   * included. Absent from the answer to a re-join (`rejoined: true`): the
   * list the connection holds stands.
   */
  members?: PresenceMember[];
  /** The connection was a member already: a short answer, without `members`. */
  rejoined?: boolean;
  /** Answer to a `join` with `history`: how many stored messages follow before live ones. */
  history?: number;
}

/** A member of a room: a user id (one per user, whatever its tabs) and metadata. */
export interface PresenceMember {
  /** Member id: the user, shared by all its connections. */
  id: string;
  /** Metadata from its join (e.g. `{name}`), at most 1 KiB. */
  meta: Json;
}

/**
 * A member appeared in (`join`: its first connection) or left (`leave`: its
 * last connection) a room, or its meta changed (`update`: a re-join with new
 * meta, or the connection whose meta showed left and an older one shows).
 */
export interface PresenceMessage {
  type: "presence";
  room: string;
  event: PresenceEventKind;
  member: PresenceMember;
}

/** What a `presence` frame reports. */
export type PresenceEventKind = "join" | "leave" | "update";

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

/**
 * The server accepted the publish with this `id` at `offset`: sequenced and
 * delivered (with `durable`, also committed to the history store).
 */
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

/** Whether `value` is a valid stream position. */
export function isStreamPosition(value: unknown): value is StreamPosition {
  if (!isRecord(value)) return false;
  const { offset, epoch } = value;
  return Number.isSafeInteger(offset) && typeof offset === "number" &&
    offset >= 0 && typeof epoch === "string" && epoch.length > 0 &&
    epoch.length <= MAX_EPOCH_LENGTH;
}

/** Serializes a server message to its text frame. */
export function encodeServerMessage(message: ServerMessage): string {
  return JSON.stringify(message);
}
