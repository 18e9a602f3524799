/**
 * Group commit to the room log: per room, at most one append is in flight;
 * whatever is published meanwhile waits and goes in the next append as one
 * batch. Offsets therefore follow publish order on this isolate, and a burst
 * costs a few log writes instead of one per message.
 *
 * @module
 */

import type {
  NewMessage,
  RoomLog,
  StoredMessage,
} from "../room_log/room_log.ts";

/** A message waiting for its offset. */
export interface PendingPublish extends NewMessage {
  /** Connection id that must not receive it (publish with `echo:false`). */
  except?: string;
}

/** Called for each stored message, in offset order, before its promise settles. */
export type OnStored = (
  room: string,
  stored: StoredMessage,
  pending: PendingPublish,
) => void;

interface Waiter {
  item: PendingPublish;
  resolve(stored: StoredMessage): void;
  reject(error: unknown): void;
}

/** Batches publishes per room into log appends. */
export class Publisher {
  #log: RoomLog;
  #onStored: OnStored;
  #onAppend: ((count: number, ms: number) => void) | undefined;
  #queues = new Map<string, Waiter[]>();
  /** Room → its append in flight, settled once its messages were handed on. */
  #flights = new Map<string, Promise<void>>();

  /**
   * Appends to `log`; `onStored` delivers each message once it has an
   * offset; `onAppend` hears each append's size and duration.
   */
  constructor(
    log: RoomLog,
    onStored: OnStored,
    onAppend?: (count: number, ms: number) => void,
  ) {
    this.#log = log;
    this.#onStored = onStored;
    this.#onAppend = onAppend;
  }

  /** Resolves with the stored message once the log has assigned its offset. */
  publish(room: string, item: PendingPublish): Promise<StoredMessage> {
    return new Promise((resolve, reject) => {
      const queue = this.#queues.get(room);
      if (queue !== undefined) {
        queue.push({ item, resolve, reject });
        return; // an append is in flight: ride the next batch
      }
      this.#queues.set(room, []);
      this.#flush(room, [{ item, resolve, reject }]);
    });
  }

  /**
   * Settles once the append of `room` in flight now (if any) has handed its
   * messages to `onStored`: a log read sent after this call on the same
   * connection sees no later append of this isolate.
   */
  settled(room: string): Promise<void> {
    return this.#flights.get(room) ?? Promise.resolve();
  }

  async #flush(room: string, batch: Waiter[]): Promise<void> {
    while (batch.length > 0) {
      const flight = this.#append(room, batch);
      this.#flights.set(room, flight);
      await flight;
      batch = this.#queues.get(room)?.splice(0) ?? [];
    }
    this.#flights.delete(room);
    this.#queues.delete(room);
  }

  async #append(room: string, batch: Waiter[]): Promise<void> {
    try {
      const started = performance.now();
      const stored = await this.#log.append(room, batch.map((w) => w.item));
      this.#onAppend?.(batch.length, performance.now() - started);
      for (let i = 0; i < batch.length; i++) {
        this.#onStored(room, stored[i]!, batch[i]!.item);
      }
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(stored[i]!);
    } catch (error) {
      for (const waiter of batch) waiter.reject(error);
    }
  }
}
