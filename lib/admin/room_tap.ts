/**
 * What the dashboard sees of room traffic without joining any room: a
 * wrapper of the {@linkcode Bus} that notes every room message this isolate
 * publishes or receives (each published message crosses the bus, so every
 * isolate sees every room's messages). Per room it keeps the latest offset
 * and epoch and a message count (for messages/s), for at most
 * `maxRooms` rooms (the least recently active is forgotten), and feeds the
 * live tails of the rooms being watched. One map update per message, never
 * per recipient; the tail line is built once per message.
 *
 * @module
 */

import type { Bus, BusEvent, BusRoomMessage } from "../bus/bus.ts";
import type { Metrics } from "../support/metrics.ts";

/** What the tap knows about one room. */
export interface RoomActivity {
  offset: number;
  epoch: string;
  /** Messages seen since the tap started following the room. */
  messages: number;
  /** Messages per second over the last sampling interval. */
  perS: number;
  /** When the last message was seen (ms since the Unix epoch). */
  lastAt: number;
}

/** One line of a live tail (an SSE `data:` line, JSON). */
export interface TailLine {
  room: string;
  offset: number;
  epoch: string;
  /** UTF-8 bytes of the client frame. */
  bytes: number;
  /** The client frame itself, only when payloads may be shown. */
  frame?: string;
}

/** Receives the encoded lines of one tail; false when it dropped the line. */
export type TailSink = (line: Uint8Array) => boolean;

/** Options of {@linkcode RoomTap}. */
export interface RoomTapOptions {
  /** Rooms followed at once. */
  maxRooms: number;
  /** Tails open at once on this isolate. */
  maxTails: number;
  /** Include payloads in tail lines (not in read-only mode). */
  payloads: boolean;
  metrics: Metrics;
  /** Clock, ms. @default {Date.now} */
  now?: () => number;
}

const encoder = new TextEncoder();

/** Room activity and live tails of one isolate. */
export class RoomTap {
  readonly #rooms = new Map<string, RoomActivity & { counted: number }>();
  readonly #tails = new Map<string, Set<TailSink>>();
  /** The wrapped bus: a tail makes this isolate hear its room's topic. */
  #bus: Bus | undefined;
  readonly #ends = new Set<() => void>();
  readonly #options: RoomTapOptions;
  readonly #now: () => number;
  #tailCount = 0;
  #sampledAt: number;

  /** A tap that follows nothing yet. */
  constructor(options: RoomTapOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#sampledAt = this.#now();
  }

  /**
   * A bus that behaves as `bus` and notes every room message this isolate
   * publishes on it or receives from it. Give it to the hub.
   */
  wrap(bus: Bus): Bus {
    this.#bus = bus;
    bus.subscribe((event) => this.#see(event));
    return {
      nodeId: bus.nodeId,
      publish: (event) => {
        this.#see(event);
        bus.publish(event);
      },
      subscribe: (handler) => bus.subscribe(handler),
      join: (room) => bus.join(room),
      leave: (room) => bus.leave(room),
      onResume: (fn) => bus.onResume(fn),
      stats: () => bus.stats(),
      close: () => bus.close(),
    };
  }

  /** Notes one message (also what {@linkcode RoomTap.wrap} calls). */
  note(room: string, offset: number, epoch: string, frame: string): void {
    let activity = this.#rooms.get(room);
    if (activity === undefined) {
      if (this.#rooms.size >= this.#options.maxRooms) {
        const oldest = this.#rooms.keys().next().value;
        if (oldest !== undefined) this.#rooms.delete(oldest);
        this.#options.metrics.inc("admin_dropped_total", 1, "rooms");
      }
      activity = { offset, epoch, messages: 0, perS: 0, lastAt: 0, counted: 0 };
    } else {
      this.#rooms.delete(room); // re-inserted last: least recently active first
    }
    this.#rooms.set(room, activity);
    activity.messages += 1;
    activity.lastAt = this.#now();
    if (epoch !== activity.epoch || offset > activity.offset) {
      activity.offset = offset;
      activity.epoch = epoch;
    }
    const sinks = this.#tails.get(room);
    if (sinks !== undefined) this.#feed(sinks, room, offset, epoch, frame);
  }

  /** Updates every room's messages/s; call it once per sampling interval. */
  sample(): void {
    const now = this.#now();
    const seconds = (now - this.#sampledAt) / 1000;
    this.#sampledAt = now;
    for (const activity of this.#rooms.values()) {
      const delta = activity.messages - activity.counted;
      activity.counted = activity.messages;
      activity.perS = seconds > 0 ? delta / seconds : 0;
    }
  }

  /** What the tap knows about `room`, if it saw its messages. */
  activity(room: string): RoomActivity | undefined {
    const found = this.#rooms.get(room);
    if (found === undefined) return undefined;
    const { offset, epoch, messages, perS, lastAt } = found;
    return { offset, epoch, messages, perS, lastAt };
  }

  /** Rooms followed, least recently active first. */
  rooms(): IterableIterator<string> {
    return this.#rooms.keys();
  }

  /** Tails open on this isolate. */
  get tails(): number {
    return this.#tailCount;
  }

  /**
   * Starts feeding `sink` the messages of `room`. Returns the function that
   * stops it, or undefined when `maxTails` are open already. `end` is
   * called when the tap closes (shutdown) while the tail is open.
   */
  tail(
    room: string,
    sink: TailSink,
    end: () => void = () => {},
  ): (() => void) | undefined {
    if (this.#tailCount >= this.#options.maxTails) return undefined;
    let sinks = this.#tails.get(room);
    if (sinks === undefined) {
      sinks = new Set();
      this.#tails.set(room, sinks);
      // Hear the room even with no local member (per-room bus topics).
      this.#bus?.join(room).catch(() => {});
    }
    sinks.add(sink);
    this.#tailCount += 1;
    this.#ends.add(end);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.#ends.delete(end);
      this.#tailCount -= 1;
      sinks.delete(sink);
      if (sinks.size === 0) {
        this.#tails.delete(room);
        this.#bus?.leave(room);
      }
    };
  }

  /** Ends every open tail (shutdown: open responses would hold the listener). */
  close(): void {
    for (const end of [...this.#ends]) end();
    this.#ends.clear();
  }

  #see(event: BusEvent): void {
    if (event.kind !== "message") return;
    const { room, offset, epoch, frame }: BusRoomMessage = event;
    this.note(room, offset, epoch, frame);
  }

  #feed(
    sinks: Set<TailSink>,
    room: string,
    offset: number,
    epoch: string,
    frame: string,
  ): void {
    const bytes = encoder.encode(frame);
    const line: TailLine = { room, offset, epoch, bytes: bytes.byteLength };
    if (this.#options.payloads) line.frame = frame;
    const encoded = encoder.encode(`data: ${JSON.stringify(line)}\n\n`);
    for (const sink of sinks) {
      if (!sink(encoded)) {
        this.#options.metrics.inc("admin_dropped_total", 1, "tail");
      }
    }
  }
}
