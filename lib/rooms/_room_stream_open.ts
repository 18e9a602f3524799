/**
 * What {@linkcode Rooms} builds per room and per join (internal): a room's
 * stream wired to its members, and the presence meta as it is stored.
 *
 * @module
 */

import { ERROR_CODE } from "../protocol/mod.ts";
import type { RoomLog } from "../room_log/room_log.ts";
import type { Logger } from "../support/log.ts";
import type { Metrics } from "../support/metrics.ts";
import { readMeta } from "../protocol/mod.ts";
import {
  encodeServerMessage,
  type Json,
  MAX_META_BYTES,
  type PresenceMember,
  ProtocolError,
} from "../protocol/mod.ts";
import type { RoomRegistry } from "./room_registry.ts";
import { RoomStream } from "./room_stream.ts";

/** What a room's stream is wired to. */
export interface StreamWiring {
  history: RoomLog;
  metrics: Metrics;
  log: Logger;
  /** How long a hole may stay open before history fills it, ms. */
  limits: { repairDelayMs: number };
  registry: RoomRegistry;
  /** The room's members across isolates. */
  members(room: string): PresenceMember[];
  /** Settles once the bus delivers the room's posts (`Bus.join`). */
  subscribed?: Promise<void>;
}

/**
 * A room's ordered stream on this isolate: delivers to the registry, counts
 * repairs, and tells members of a loss as a failed resume would.
 */
export function openStream(room: string, wiring: StreamWiring): RoomStream {
  const { metrics, log, history, limits, registry } = wiring;
  return new RoomStream({
    room,
    log: history,
    repairDelayMs: limits.repairDelayMs,
    deliver: (message) => registry.broadcast(room, message),
    ...(wiring.subscribed ? { subscribed: wiring.subscribed } : {}),
    onRepair: (count) => metrics.inc("history_repaired_total", count),
    onLoss: (count, position) => {
      metrics.inc("messages_lost_total", count);
      log.warn("Messages lost: history no longer holds them", {
        room,
        count,
        after: position.offset,
      });
      // Never silently: members learn it as they would on a failed resume.
      registry.notify(
        room,
        encodeServerMessage({
          type: "joined",
          room,
          offset: position.offset + count,
          epoch: position.epoch,
          recovered: false,
          members: wiring.members(room),
        }),
      );
    },
    onError: (error) =>
      log.error("History read failed", { room, error: String(error) }),
  });
}

/**
 * Presence metadata as it is stored: the token's display name stamped in
 * (it wins over whatever the client claims), `{...meta, name}` for object
 * metadata. Checked against {@linkcode MAX_META_BYTES} after stamping.
 *
 * @throws {ProtocolError} `bad_meta` when the stamped meta does not fit.
 */
export function storedMeta(meta: Json, name: string | undefined): Json {
  if (name === undefined) return meta;
  const base = typeof meta === "object" && meta !== null && !Array.isArray(meta)
    ? meta
    : {};
  const read = readMeta({ ...base, name });
  if (typeof read === "string") {
    throw new ProtocolError(
      ERROR_CODE.BAD_META,
      `Field "meta" with the token's name must be JSON of at most ${MAX_META_BYTES} bytes`,
    );
  }
  return read.meta;
}
