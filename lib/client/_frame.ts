/**
 * Decoding and routing of inbound frames for the client (internal).
 *
 * @module
 */

import { ERROR_CODE } from "../protocol/mod.ts";
import {
  type ErrorMessage,
  parseServerValue,
  ProtocolError,
  type ServerMessage,
  type WelcomeMessage,
} from "../protocol/mod.ts";
import type { Membership } from "./_membership.ts";
import type { Requests } from "./_requests.ts";

/**
 * Validates one inbound frame: one message, or several in a batch frame
 * (`[m1, m2, …]`, on `roomcast.v1.batch`). Messages of a type this SDK does
 * not know are skipped, so that newer servers can add message types without
 * breaking older clients.
 *
 * @throws {ProtocolError} for a frame that is not valid roomcast v1.
 */
export function decodeFrame(data: unknown): ServerMessage[] {
  if (typeof data !== "string") {
    throw new ProtocolError(
      ERROR_CODE.BAD_MESSAGE,
      "Binary frame: roomcast v1 speaks JSON text frames only",
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw new ProtocolError(ERROR_CODE.BAD_JSON, "Frame is not valid JSON");
  }
  const items: unknown[] = Array.isArray(value) ? value : [value];
  const messages: ServerMessage[] = [];
  for (const item of items) {
    try {
      messages.push(parseServerValue(item));
    } catch (error) {
      const unknownType = error instanceof ProtocolError &&
        error.code === ERROR_CODE.UNKNOWN_TYPE;
      if (!unknownType) throw error;
    }
  }
  return messages;
}

/** Where {@linkcode route} sends each kind of server message. */
export interface Routes {
  /** The first frame of a connection. */
  welcome(message: WelcomeMessage): void;
  /** `joined`, `message`, `presence`, and `error` frames answering a join. */
  rooms: Pick<
    Membership,
    "onJoined" | "onMessage" | "onPresence" | "onJoinError"
  >;
  /** `ack`, `pong`, and `error` frames answering a publish or a ping. */
  requests: Pick<Requests, "ack" | "pong" | "error">;
  /** An `error` frame that answers no request and no join. */
  error(message: ErrorMessage): void;
  /** A frame that is not valid roomcast v1, with the reason. */
  invalid(reason: string): void;
}

/**
 * Decodes one inbound frame and routes its messages in order; a message of
 * a type this SDK does not know is skipped, an invalid frame reported to
 * `to.invalid`.
 */
export function receive(data: unknown, to: Routes): void {
  let messages: ServerMessage[];
  try {
    messages = decodeFrame(data);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return to.invalid(`Invalid frame from the server: ${detail}`);
  }
  for (const message of messages) route(message, to);
}

/** Hands a server message to the part of the client it concerns. */
export function route(message: ServerMessage, to: Routes): void {
  switch (message.type) {
    case "welcome":
      return to.welcome(message);
    case "joined":
      return to.rooms.onJoined(message);
    case "message":
      return to.rooms.onMessage(message);
    case "ack":
      to.requests.ack(message);
      return;
    case "pong":
      to.requests.pong(message);
      return;
    case "presence":
      return to.rooms.onPresence(message);
    case "error":
      if (to.requests.error(message)) return;
      if (to.rooms.onJoinError(message)) return;
      return to.error(message);
    case "left":
      return;
  }
}
