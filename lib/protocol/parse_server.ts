/**
 * Validation of server frames, used by the client SDK.
 *
 * @module
 */

import { ERROR_CODE, type ErrorCode } from "./codes.ts";
import { isJson, isRecord } from "./json.ts";
import { isMessageId, parseJson } from "./parse_client.ts";
import {
  type ErrorMessage,
  type JoinedMessage,
  type MessageId,
  type PresenceMember,
  PROTOCOL_VERSION,
  ProtocolError,
  type ServerMessage,
  type WelcomeMessage,
} from "./messages.ts";

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
      const { members, recovered, rejoined, history } = value;
      const joined: JoinedMessage = {
        type: "joined",
        room: str("room"),
        offset: int("offset"),
        epoch: str("epoch"),
      };
      if (Array.isArray(members)) {
        joined.members = members.map((m) =>
          readMember(m) ?? throwBad("members")
        );
      } else if (members !== undefined || rejoined !== true) {
        throw bad("members");
      }
      if (typeof recovered === "boolean") joined.recovered = recovered;
      else if (recovered !== undefined) throw bad("recovered");
      if (typeof history === "number" && Number.isSafeInteger(history)) {
        joined.history = history;
      } else if (history !== undefined) throw bad("history");
      if (rejoined === true) joined.rejoined = true;
      else if (rejoined !== undefined && rejoined !== false) {
        throw bad("rejoined");
      }
      return joined;
    }
    case "left":
      return { type: "left", room: str("room") };
    case "presence": {
      const event = value.event;
      if (typeof event !== "string") throw bad("event");
      if (event !== "join" && event !== "leave" && event !== "update") {
        // A later server may report more: skip it, as unknown types are.
        throw new ProtocolError(
          ERROR_CODE.UNKNOWN_TYPE,
          `Unknown presence event "${String(event).slice(0, 32)}"`,
        );
      }
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

function readMember(value: unknown): PresenceMember | undefined {
  if (!isRecord(value)) return undefined;
  const { id, meta } = value;
  if (typeof id !== "string" || meta === undefined || !isJson(meta)) {
    return undefined;
  }
  return { id, meta };
}

const ERROR_CODES: ReadonlySet<string> = new Set(Object.values(ERROR_CODE));

function isErrorCode(value: string): value is ErrorCode {
  return ERROR_CODES.has(value);
}
