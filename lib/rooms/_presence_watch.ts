/**
 * Rooms an isolate listens to without local members (internal): an API or
 * dashboard read of a room's presence on a node that holds nobody there
 * (presence travels on the room's topic only). Each watch joins the bus for
 * `PRESENCE_TIMEOUT_MS` (renewed by every read) and asks the room's nodes
 * for their snapshot, so the next read shows them. Bounded: past
 * `PRESENCE_WATCH_MAX` rooms a read shows what is known here, counted on
 * `presence_watch_refused_total`.
 *
 * @module
 */

import type { Bus } from "../bus/bus.ts";
import type { Metrics } from "../support/metrics.ts";

/** What {@linkcode PresenceWatch} works with. */
export interface PresenceWatchOptions {
  bus: Bus;
  metrics: Metrics;
  /** Most rooms watched at once. */
  max: number;
  /** How long a watch lasts after the last read, ms. */
  ttlMs: number;
  /** Asks the room's nodes for their presence (once the bus hears it). */
  sync(room: string): void;
}

/** The rooms watched for their presence, each for a while after a read. */
export class PresenceWatch {
  readonly #options: PresenceWatchOptions;
  readonly #rooms = new Map<string, ReturnType<typeof setTimeout>>();

  /** Watches nothing yet. */
  constructor(options: PresenceWatchOptions) {
    this.#options = options;
  }

  /** Starts (or prolongs) watching `room`. */
  touch(room: string): void {
    const { bus, metrics, max, ttlMs, sync } = this.#options;
    const timer = this.#rooms.get(room);
    if (timer === undefined && this.#rooms.size >= max) {
      metrics.inc("presence_watch_refused_total");
      return;
    }
    clearTimeout(timer);
    this.#rooms.set(
      room,
      setTimeout(() => {
        this.#rooms.delete(room);
        bus.leave(room);
      }, ttlMs),
    );
    if (timer !== undefined) return;
    bus.join(room).then(() => sync(room), () => {
      // Not heard: the read shows what is known here; the next one retries.
      const pending = this.#rooms.get(room);
      clearTimeout(pending);
      this.#rooms.delete(room);
    });
  }

  /** Stops every watch. */
  close(): void {
    for (const [room, timer] of this.#rooms) {
      clearTimeout(timer);
      this.#options.bus.leave(room);
    }
    this.#rooms.clear();
  }
}
