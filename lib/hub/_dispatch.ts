/**
 * The hub's dispatch of one client frame (internal), after its connection
 * guard judged it: a close or an `error` frame for a refused one; for a valid
 * one, the access rules first, then `join` and `leave` to the rooms,
 * `publish` through the rooms with its `ack` or `error`, and `ping` answered
 * with `pong`.
 *
 * @module
 */

import {
  type ClientMessage,
  CLOSE_CODE,
  encodeServerMessage,
  ERROR_CODE,
  type ErrorCode,
  type MessageId,
  ProtocolError,
} from "../protocol/mod.ts";
import { LogOverloadedError } from "../room_log/room_log.ts";
import type { Connection } from "../rooms/connection.ts";
import type { PublishOptions, Rooms } from "../rooms/rooms.ts";
import type { Logger } from "../support/log.ts";
import type { Metrics } from "../support/metrics.ts";
import type { Verdict } from "./connection_guard.ts";
import { refusal } from "./_refusal.ts";

/** What {@linkcode dispatch} hands frames to. */
export interface DispatchParts {
  rooms: Rooms;
  log: Logger;
  metrics: Metrics;
  /** Server time in ms since the Unix epoch. */
  now: () => number;
  /** Rooms one connection may be in at once (`maxRoomsPerConnection`). */
  limits: { maxRoomsPerConnection: number };
  /** Sends (and counts) an `error` frame. */
  sendError(
    connection: Connection,
    code: ErrorCode,
    message: string,
    ref?: MessageId,
  ): void;
}

/** Sends (and counts) an `error` frame to `connection`. */
export function sendError(
  metrics: Metrics,
  connection: Connection,
  code: ErrorCode,
  message: string,
  ref?: MessageId,
): void {
  metrics.inc("protocol_errors_total", 1, code);
  connection.send(encodeServerMessage(
    ref === undefined
      ? { type: "error", code, message }
      : { type: "error", code, message, ref },
  ));
}

/** Acts on the guard's `verdict` on a frame of `connection`. Never throws. */
export function dispatch(
  parts: DispatchParts,
  connection: Connection,
  verdict: Verdict,
): void {
  const { metrics, log } = parts;
  switch (verdict.kind) {
    case "close":
      if (verdict.code === CLOSE_CODE.RATE_LIMITED) {
        metrics.inc("rate_limited_total");
      }
      connection.close(verdict.code, verdict.reason);
      return;
    case "error":
      if (verdict.code === ERROR_CODE.RATE_LIMITED) {
        metrics.inc("rate_limited_total");
      }
      parts.sendError(connection, verdict.code, verdict.text, verdict.ref);
      return;
    case "message":
      break;
  }
  const { message } = verdict;
  try {
    route(parts, connection, message);
  } catch (error) {
    log.error("Handler failed", { type: message.type, error: String(error) });
    const ref = "id" in message ? message.id : undefined;
    parts.sendError(connection, ERROR_CODE.INTERNAL, "Internal error", ref);
  }
}

/** Hands a valid `message` of `connection` on; may throw. */
function route(
  parts: DispatchParts,
  connection: Connection,
  message: ClientMessage,
): void {
  const { rooms, log, sendError } = parts;
  const refused = refusal(
    connection,
    message,
    parts.limits.maxRoomsPerConnection,
  );
  if (refused !== undefined) {
    const ref = "id" in message ? message.id : undefined;
    sendError(connection, refused[0], refused[1], ref);
    return;
  }
  switch (message.type) {
    case "join":
      log.debug("Join", {
        connection: connection.id,
        member: connection.memberId,
        room: message.room,
      });
      rooms.join(connection, message).catch((error) => {
        if (error instanceof ProtocolError) {
          sendError(connection, error.code, error.message, message.id);
          return;
        }
        log.error("Join failed", {
          room: message.room,
          error: String(error),
        });
        sendError(
          connection,
          ERROR_CODE.INTERNAL,
          `Could not join room "${message.room}"`,
          message.id,
        );
      });
      return;
    case "leave":
      rooms.leave(message.room, connection);
      connection.send(
        encodeServerMessage({ type: "left", room: message.room }),
      );
      return;
    case "publish": {
      const { room, data, id } = message;
      const options: PublishOptions = { from: connection.id };
      if (message.echo === false) options.except = connection.id;
      if (message.durable === true) options.durable = true;
      rooms.publish(room, data, options).then(({ offset }) => {
        if (id === undefined) return;
        connection.send(encodeServerMessage({ type: "ack", id, offset }));
      }, (error) => {
        if (error instanceof LogOverloadedError) {
          // Counted in publishes_refused_total; not an error of ours.
          sendError(connection, ERROR_CODE.OVERLOADED, error.message, id);
          return;
        }
        log.error("Publish failed", { room, error: String(error) });
        sendError(
          connection,
          ERROR_CODE.INTERNAL,
          options.durable === true
            ? "Publish failed, or was delivered but not committed"
            : "Publish failed",
          id,
        );
      });
      return;
    }
    case "ping": {
      const ts = parts.now();
      connection.send(encodeServerMessage(
        message.id === undefined
          ? { type: "pong", ts }
          : { type: "pong", id: message.id, ts },
      ));
      return;
    }
  }
}
