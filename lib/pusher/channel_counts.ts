/**
 * Pusher subscription counts across isolates and nodes. Each isolate counts
 * its own subscriptions per channel and tells the others over the bus: a
 * change goes out once per tick per channel, every count again with each
 * heartbeat (so a node that dies silently has its counts expire after the
 * presence timeout), and all of them at once when a node starts. A node
 * shutting down (`node-down`) is forgotten at once.
 *
 * When a channel's total changes, its local subscribers that asked for it
 * (apps with `enable_subscription_count`, not presence channels) get
 * `pusher_internal:subscription_count`: serialized once per change, at most
 * once per `PUSHER_SUBSCRIPTION_COUNT_MS` per channel (the first change at
 * once, later ones at the end of the window).
 *
 * @module
 */

import type { Bus, BusEvent } from "../bus/bus.ts";
import type { Metrics } from "../support/metrics.ts";
import { encodeFrame } from "./wire.ts";

/** A local subscriber. */
export interface CountSink {
  /** Whether it gets `pusher_internal:subscription_count` frames. */
  readonly wantsCount: boolean;
  /** Sends one frame to its socket. */
  sendCount(frame: string): void;
}

/** What {@linkcode ChannelCounts} is built from. */
export interface ChannelCountsOptions {
  bus: Bus;
  metrics: Metrics;
  /** Heartbeat: every local count is resent this often, ms. */
  intervalMs: number;
  /** A node's count not refreshed this long is dropped, ms. */
  timeoutMs: number;
  /** Least time between two `subscription_count` frames on one channel, ms. */
  throttleMs: number;
  /** Most (channel, node) counts kept from other nodes; more are dropped and counted. */
  maxRemote: number;
  now?: () => number;
}

interface Remote {
  count: number;
  seen: number;
}

interface Broadcast {
  sent: number;
  at: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** Subscription counts of this isolate and what the others reported. */
export class ChannelCounts {
  readonly #options: ChannelCountsOptions;
  readonly #now: () => number;
  readonly #local = new Map<string, Set<CountSink>>();
  readonly #remote = new Map<string, Map<string, Remote>>();
  readonly #dirty = new Set<string>();
  readonly #broadcasts = new Map<string, Broadcast>();
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #unsubscribe: () => void;
  #remoteSize = 0;
  #observers: Array<(room: string) => void> = [];
  #flush: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** Subscribes to the bus and starts the heartbeat; {@linkcode ChannelCounts.close} stops both. */
  constructor(options: ChannelCountsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#unsubscribe = options.bus.subscribe((event) => this.#onBus(event));
    this.#heartbeat = setInterval(() => this.#tick(), options.intervalMs);
  }

  /** A local subscription to `room` succeeded. */
  add(room: string, sink: CountSink): void {
    let sinks = this.#local.get(room);
    if (sinks === undefined) this.#local.set(room, sinks = new Set());
    if (sinks.has(sink)) return;
    sinks.add(sink);
    this.#changed(room);
  }

  /** A local subscription to `room` ended. */
  remove(room: string, sink: CountSink): void {
    const sinks = this.#local.get(room);
    if (sinks === undefined || !sinks.delete(sink)) return;
    if (sinks.size === 0) this.#local.delete(room);
    this.#changed(room);
  }

  /**
   * Calls `fn` with a room whenever its total may have changed (a local
   * subscription, or a count from another node); returns the function that
   * stops it.
   */
  observe(fn: (room: string) => void): () => void {
    this.#observers.push(fn);
    return () => {
      this.#observers = this.#observers.filter((o) => o !== fn);
    };
  }

  /** Subscriptions to `room` on every node. */
  total(room: string): number {
    let total = this.#local.get(room)?.size ?? 0;
    for (const remote of this.#remote.get(room)?.values() ?? []) {
      total += remote.count;
    }
    return total;
  }

  /** Rooms with at least one subscription on some node. */
  rooms(): string[] {
    const names = new Set(this.#local.keys());
    for (const room of this.#remote.keys()) names.add(room);
    return [...names];
  }

  /** Stops the heartbeat and pending frames, and leaves the bus. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#flush);
    for (const broadcast of this.#broadcasts.values()) {
      clearTimeout(broadcast.timer);
    }
    this.#broadcasts.clear();
    this.#unsubscribe();
  }

  #changed(room: string): void {
    if (this.#closed) return;
    this.#dirty.add(room);
    this.#flush ??= setTimeout(() => this.#publishDirty(), 0);
    this.#schedule(room);
  }

  /** Tells the other nodes this tick's changed counts, one event per room. */
  #publishDirty(): void {
    this.#flush = undefined;
    const { bus } = this.#options;
    for (const room of this.#dirty) {
      const count = this.#local.get(room)?.size ?? 0;
      bus.publish({ kind: "subscriptions", node: bus.nodeId, room, count });
    }
    this.#dirty.clear();
  }

  #publishAll(): void {
    const { bus } = this.#options;
    for (const [room, sinks] of this.#local) {
      const count = sinks.size;
      bus.publish({ kind: "subscriptions", node: bus.nodeId, room, count });
    }
  }

  #onBus(event: BusEvent): void {
    if (this.#closed) return;
    switch (event.kind) {
      case "subscriptions":
        this.#setRemote(event.room, event.node, event.count);
        return;
      case "node-down":
        for (const [room, nodes] of this.#remote) {
          if (nodes.has(event.node)) this.#setRemote(room, event.node, 0);
        }
        return;
      case "presence-sync":
        // A node started: it learns every count now, not at the next heartbeat.
        if (event.room === undefined) this.#publishAll();
        return;
    }
  }

  #setRemote(room: string, node: string, count: number): void {
    let nodes = this.#remote.get(room);
    const known = nodes?.get(node);
    if (count === 0) {
      if (known === undefined) return;
      nodes!.delete(node);
      this.#remoteSize -= 1;
      if (nodes!.size === 0) this.#remote.delete(room);
      this.#schedule(room);
      return;
    }
    if (known !== undefined) {
      known.seen = this.#now();
      if (known.count === count) return;
      known.count = count;
      this.#schedule(room);
      return;
    }
    if (this.#remoteSize >= this.#options.maxRemote) {
      this.#options.metrics.inc("pusher_dropped_total", 1, "count_table");
      return;
    }
    if (nodes === undefined) this.#remote.set(room, nodes = new Map());
    nodes.set(node, { count, seen: this.#now() });
    this.#remoteSize += 1;
    this.#schedule(room);
  }

  #tick(): void {
    this.#publishAll();
    const oldest = this.#now() - this.#options.timeoutMs;
    for (const [room, nodes] of [...this.#remote]) {
      for (const [node, remote] of [...nodes]) {
        if (remote.seen < oldest) this.#setRemote(room, node, 0);
      }
    }
  }

  /** Sends the room's total to its local subscribers now, or at the end of its window. */
  #schedule(room: string): void {
    for (const observer of this.#observers) observer(room);
    const sinks = this.#local.get(room);
    if (sinks === undefined) {
      const gone = this.#broadcasts.get(room);
      clearTimeout(gone?.timer);
      this.#broadcasts.delete(room);
      return;
    }
    let broadcast = this.#broadcasts.get(room);
    if (broadcast === undefined) {
      this.#broadcasts.set(room, broadcast = { sent: -1, at: -Infinity });
    }
    if (broadcast.timer !== undefined) return;
    const wait = broadcast.at + this.#options.throttleMs - this.#now();
    const state = broadcast;
    state.timer = setTimeout(() => {
      delete state.timer;
      this.#send(room, state);
    }, Math.max(0, wait));
  }

  #send(room: string, broadcast: Broadcast): void {
    const sinks = this.#local.get(room);
    if (sinks === undefined || this.#closed) return;
    const total = this.total(room);
    if (total === broadcast.sent) return;
    broadcast.sent = total;
    broadcast.at = this.#now();
    // Presence channels have their user count instead (as with Pusher).
    if (room.startsWith("presence-")) return;
    let frame: string | undefined;
    for (const sink of sinks) {
      if (!sink.wantsCount) continue;
      frame ??= encodeFrame(
        "pusher_internal:subscription_count",
        { "subscription_count": total },
        room,
      );
      sink.sendCount(frame);
    }
  }
}
