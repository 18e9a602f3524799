/**
 * Decoding of inbound frames for the client (internal).
 *
 * @module
 */

import { ERROR_CODE } from "../codes.ts";
import {
  parseServerMessage,
  ProtocolError,
  type ServerMessage,
} from "../protocol.ts";

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
