/**
 * The hub's access rules (internal): whether a client frame may go ahead,
 * from the connection's membership, its token's rooms and the rooms limit.
 *
 * @module
 */

import {
  type ClientMessage,
  ERROR_CODE,
  type ErrorCode,
} from "../protocol/mod.ts";
import type { Connection } from "../rooms/connection.ts";

/**
 * Why `message` may not go ahead (membership, the token's rooms, at most
 * `maxRooms` rooms per connection), if so: the error code and its text.
 */
export function refusal(
  connection: Connection,
  message: ClientMessage,
  maxRooms: number,
): [ErrorCode, string] | undefined {
  if (message.type === "ping") return undefined;
  const { room } = message;
  const member = connection.rooms.has(room);
  switch (message.type) {
    case "join":
      if (!connection.access.canJoin(room)) {
        return [ERROR_CODE.FORBIDDEN, `Not allowed to join room "${room}"`];
      }
      if (!member && connection.rooms.size >= maxRooms) {
        return [
          ERROR_CODE.TOO_MANY_ROOMS,
          `At most ${maxRooms} rooms per connection`,
        ];
      }
      return undefined;
    case "leave":
      return member
        ? undefined
        : [ERROR_CODE.NOT_JOINED, `Not a member of room "${room}"`];
    case "publish":
      if (!member) {
        return [
          ERROR_CODE.NOT_JOINED,
          `Join room "${room}" before publishing to it`,
        ];
      }
      if (!connection.access.canPublish(room)) {
        return [
          ERROR_CODE.FORBIDDEN,
          `Not allowed to publish to room "${room}"`,
        ];
      }
      return undefined;
  }
}
