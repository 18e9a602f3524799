/**
 * Decoding and routing of inbound frames for the client (internal).
 *
 * @module
 */

import { ERROR_CODE } from "../codes.ts";
import {
  type ErrorMessage,
  parseServerMessage,
  ProtocolError,
  type ServerMessage,
  type WelcomeMessage,
} from "../protocol.ts";
import type { Membership } from "./_membership.ts";
import type { Requests } from "./_requests.ts";

/**
 * Validates one inbound frame with `parseServerMessage`. Returns undefined
 * for a well-formed frame of a type this SDK does not know, so that newer
 * servers can add message types without breaking older clients.
 *
 * @throws {ProtocolError} for a frame that is not valid roomcast v1.
 */
export function decodeFrame(data: unknown): ServerMessage | undefined {
  if (typeof data !== "string") {
    throw new ProtocolError(
      ERROR_CODE.BAD_MESSAGE,
      "Binary frame: roomcast v1 speaks JSON text frames only",
    );
  }
  try {
    return parseServerMessage(data);
  } catch (error) {
    if (
      error instanceof ProtocolError && error.code === ERROR_CODE.UNKNOWN_TYPE
    ) {
      return undefined;
    }
    throw error;
  }
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
 * Decodes one inbound frame and routes its message; a frame of a type this
 * SDK does not know is skipped, an invalid one reported to `to.invalid`.
 */
export function receive(data: unknown, to: Routes): void {
  let message: ServerMessage | undefined;
  try {
    message = decodeFrame(data);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return to.invalid(`Invalid frame from the server: ${detail}`);
  }
  if (message !== undefined) route(message, to);
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
