/**
 * One room's ordered stream on one isolate. Messages arrive from this
 * isolate's own appends and from the bus, in any order and possibly with
 * holes (BroadcastChannel drops posts under bursts). The stream hands them to
 * `deliver` strictly by offset, each once; a hole that stays open for
 * `repairDelayMs` is filled from the room log. A hole the log cannot fill any
 * more is skipped, counted and logged: never silently.
 *
 * @module
 */

import type { RoomLog } from "../room_log/room_log.ts";
import type { StreamPosition } from "../protocol/mod.ts";

/** A message on its way to local members. */
export interface StreamMessage {
  offset: number;
  epoch: string;
  frame: string;
  /** A local connection id that must not receive it (publish with `echo:false`). */
  except?: string;
}

/** What a stream reports about itself. */
export interface StreamEvents {
  /** `count` messages were fetched from the log to fill a hole. */
  onRepair?(count: number): void;
  /** `count` messages could not be recovered and were skipped. */
  onLoss?(count: number, position: StreamPosition): void;
  /** The log failed while repairing; the stream retries. */
  onError?(error: unknown): void;
}

/** Options for {@linkcode RoomStream}. */
export interface RoomStreamOptions extends StreamEvents {
  room: string;
  log: RoomLog;
  /** How long a hole may stay open before the log is asked. */
  repairDelayMs: number;
  /**
   * How long a hole the log cannot fill may still be waited for on the bus
   * (a post can be late rather than lost) before it is skipped. @default {2000}
   */
  giveUpMs?: number;
  /** Receives every message once, in offset order. */
  deliver(message: StreamMessage): void;
  /**
   * Settles once the bus delivers this room's posts (its subscription is
   * confirmed): the head is read only then, so a message published in
   * between is either at or below the head, or arrives. @default {resolved}
   */
  subscribed?: Promise<void>;
}

/** The ordered message stream of one room on this isolate. */
export class RoomStream {
  #options: RoomStreamOptions;
  #delivered = 0;
  #epoch = "";
  #ready = false;
  #closed = false;
  #buffer = new Map<number, StreamMessage>();
  #retired = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #resyncTimer: ReturnType<typeof setTimeout> | undefined;
  #repairing = false;
  /** When the current hole was first seen (performance.now ms), or undefined. */
  #holeSince: number | undefined;
  /** Resolves once the stream knows the room's head and delivers. */
  readonly ready: Promise<void>;

  /** Starts the stream at the room's head, read once the room's posts arrive. */
  constructor(options: RoomStreamOptions) {
    this.#options = options;
    const subscribed = options.subscribed ?? Promise.resolve();
    this.ready = subscribed.then(() => options.log.head(options.room)).then((
      head,
    ) => {
      this.#delivered = head.offset;
      this.#epoch = head.epoch;
      this.#ready = true;
      this.#drain();
    });
  }

  /** The last delivered position. */
  get position(): StreamPosition {
    return { offset: this.#delivered, epoch: this.#epoch };
  }

  /** Offers a message; it is delivered when every earlier one has been. */
  offer(message: StreamMessage): void {
    if (this.#closed || this.#retired.has(message.epoch)) return;
    if (!this.#ready) {
      this.#buffer.set(message.offset, message);
      return;
    }
    if (message.epoch !== this.#epoch) {
      // The room's sequence was recreated (history lost): follow the new one.
      this.#retired.add(this.#epoch);
      this.#epoch = message.epoch;
      this.#delivered = message.offset - 1;
      this.#buffer.clear();
    }
    if (message.offset <= this.#delivered) return; // already delivered
    this.#buffer.set(message.offset, message);
    this.#drain();
  }

  /**
   * Reads what the log holds after the last delivered position and offers
   * what is not here yet: the bus was interrupted, and posts lost at the end
   * of a burst leave no later message to reveal the hole. `settled` (called
   * before the read) settles once this isolate's own appends in flight were
   * offered: their replies, not the log, deliver them (they may carry an
   * `except`). A failed read is reported and retried after the repair
   * delay. Resolves once what was read is offered.
   */
  async resync(settled?: () => Promise<void>): Promise<void> {
    if (this.#closed || !this.#ready) return; // not ready: the head comes later
    try {
      const { room, log } = this.#options;
      let own = settled?.();
      let result = await log.since(room, this.position);
      await own;
      if (this.#closed) return;
      if (
        !result.recovered && result.head.epoch !== this.#epoch &&
        !this.#retired.has(result.head.epoch)
      ) {
        // The room started a new sequence meanwhile (a failover lost
        // messages): read it from its start; the epoch change tells members.
        own = settled?.();
        result = await log.since(room, { epoch: result.head.epoch, offset: 0 });
        await own;
        if (this.#closed) return;
      }
      // Beyond what the log holds: the next message opens a hole, and the
      // repair skips it and says so.
      if (!result.recovered) return;
      let repaired = 0;
      for (const stored of result.messages) {
        const known = stored.epoch === this.#epoch &&
          (stored.offset <= this.#delivered || this.#buffer.has(stored.offset));
        if (known || this.#retired.has(stored.epoch)) continue;
        repaired += 1;
        this.offer(stored);
      }
      if (repaired > 0) this.#options.onRepair?.(repaired);
    } catch (error) {
      this.#options.onError?.(error);
      if (this.#closed) return;
      clearTimeout(this.#resyncTimer);
      this.#resyncTimer = setTimeout(
        () => void this.resync(settled),
        this.#options.repairDelayMs,
      );
    }
  }

  /** Stops delivering and cancels a pending repair. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#resyncTimer);
    this.#buffer.clear();
  }

  #drain(): void {
    for (const [offset, message] of this.#buffer) {
      if (offset <= this.#delivered || message.epoch !== this.#epoch) {
        this.#buffer.delete(offset);
      }
    }
    let next = this.#buffer.get(this.#delivered + 1);
    while (next !== undefined) {
      this.#buffer.delete(next.offset);
      this.#delivered = next.offset;
      this.#options.deliver(next);
      next = this.#buffer.get(this.#delivered + 1);
    }
    if (this.#buffer.size > 0) {
      this.#holeSince ??= performance.now();
      this.#scheduleRepair();
    } else {
      this.#holeSince = undefined;
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #scheduleRepair(): void {
    if (this.#timer !== undefined || this.#repairing || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#repair();
    }, this.#options.repairDelayMs);
  }

  async #repair(): Promise<void> {
    if (this.#buffer.size === 0 || this.#closed) return;
    this.#repairing = true;
    const from = this.position;
    try {
      const result = await this.#options.log.since(this.#options.room, from);
      if (this.#closed) return;
      const stale = from.offset !== this.#delivered ||
        from.epoch !== this.#epoch; // the hole moved or closed meanwhile
      if (stale) {
        // Nothing to do: drain below reschedules if a hole remains.
      } else if (result.recovered) {
        let repaired = 0;
        for (const stored of result.messages) {
          if (!this.#buffer.has(stored.offset)) repaired += 1;
          this.#buffer.set(
            stored.offset,
            this.#buffer.get(stored.offset) ?? stored,
          );
        }
        if (repaired > 0) this.#options.onRepair?.(repaired);
      } else {
        const open = performance.now() - (this.#holeSince ?? 0);
        // Maybe late, not lost: below the deadline, ask again after the
        // repair delay (drain reschedules); past it, skip and say so.
        if (open >= (this.#options.giveUpMs ?? 2_000)) {
          const first = Math.min(...this.#buffer.keys());
          this.#options.onLoss?.(first - this.#delivered - 1, from);
          this.#delivered = first - 1;
        }
      }
    } catch (error) {
      this.#options.onError?.(error);
    } finally {
      this.#repairing = false;
    }
    if (!this.#closed) this.#drain();
  }
}
