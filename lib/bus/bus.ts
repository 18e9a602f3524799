/**
 * The bus links the isolates that serve one deployment: what one isolate
 * publishes to a room, every other isolate with members there delivers to
 * them.
 *
 * A {@linkcode Bus} is a few methods over a {@linkcode BusTransport}. This
 * file holds the part every transport shares:
 *
 * - **Topics.** A room's messages travel on the room's topic; everything
 *   else (presence, terminate, node-down) on the node topic, which every
 *   isolate hears. An isolate hears a room's topic only while it has local
 *   members there ({@linkcode Bus.join}, {@linkcode Bus.leave}, the latter
 *   after a grace period against join/leave flapping). A transport that can
 *   subscribe per topic (Redis) never receives the others; one that cannot
 *   (BroadcastChannel) hands the topic over before the post, and a post of a
 *   room nobody here is in is dropped before it is decoded.
 * - **Batching.** Events published during one tick travel in one post per
 *   topic (BroadcastChannel has a 256-slot ring per process, so fewer,
 *   larger posts lose less); subscribes and unsubscribes of one tick go to
 *   the transport as one call.
 * - **Lone isolates.** A transport that reaches nobody
 *   ({@linkcode BusTransport.lone}) gets no posts at all: publishing is a
 *   no-op, not an encoded post dropped on the floor.
 * - **Numbering.** Posts are numbered per sender and topic; receivers count
 *   the posts that never arrived as gaps (metric + warning). Repair of those
 *   gaps from history is the job of the room streams, not of the bus.
 *
 * @module
 */

import type { MetricCell } from "../support/metrics.ts";
import {
  type Bus,
  type BusEvent,
  type BusPost,
  type BusStats,
  type BusTransport,
  type CreateBusOptions,
  isRoomPresence,
  NODE_TOPIC,
  topicOf,
} from "./bus_events.ts";
import { parseBusPost } from "./bus_parse.ts";

export * from "./bus_events.ts";
export * from "./bus_parse.ts";

/** Most topics a sender keeps post numbers for; past it, every run restarts at 1. */
const MAX_SENDER_TOPICS = 10_000;

/** A subscribed room: its subscribe call and its pending unsubscribe. */
interface Subscription {
  ready: Promise<void>;
  grace: ReturnType<typeof setTimeout> | undefined;
  /** Joins not yet matched by a leave (the room's stream, a dashboard tail…). */
  holders: number;
}

/**
 * Senders whose post numbers one topic remembers (restarted isolates come
 * back under new ids, so without a bound the node topic's table would grow
 * for ever); past it the sender heard longest ago is forgotten.
 */
export const MAX_SENDERS_PER_TOPIC = 1_024;

/**
 * Builds a {@linkcode Bus} over a transport: topics, per-tick batching,
 * numbering, gap counting and validation of what arrives.
 *
 * @example Usage
 * ```ts
 * import { createBus } from "./bus.ts";
 * import { MemoryNetwork } from "./memory.ts";
 *
 * const net = new MemoryNetwork();
 * const a = createBus(net.connect());
 * const b = createBus(net.connect());
 * await b.join("r");
 * const got = new Promise((resolve) => b.subscribe(resolve));
 * a.publish({ kind: "message", room: "r", offset: 1, epoch: "e", frame: "{}" });
 * await got;
 * await a.close();
 * await b.close();
 * ```
 */
export function createBus(
  transport: BusTransport,
  options: CreateBusOptions = {},
): Bus {
  const nodeId = options.nodeId ?? crypto.randomUUID();
  const own = `{"v":1,"node":${JSON.stringify(nodeId)},`;
  const maxEvents = options.maxEventsPerPost ?? 512;
  const graceMs = options.unsubscribeGraceMs ?? 1_000;
  const handlers = new Set<(event: BusEvent) => void>();
  const resumed = new Set<() => void>();
  /** Last post number heard, per topic and sender. */
  const heard = new Map<string, Map<string, number>>();
  /** Post numbers sent, per topic. */
  const sent = new Map<string, number>();
  const rooms = new Map<string, Subscription>();
  const c = options.cells ?? {};
  const cell = (name: keyof BusStats): MetricCell => c[name] ?? { value: 0 };
  const stats = {
    postsSent: cell("postsSent"),
    postsReceived: cell("postsReceived"),
    bytesSent: cell("bytesSent"),
    bytesReceived: cell("bytesReceived"),
    postsUnwanted: cell("postsUnwanted"),
    messagesReceived: cell("messagesReceived"),
    presenceReceived: cell("presenceReceived"),
    gaps: cell("gaps"),
    invalid: cell("invalid"),
    subscriptions: cell("subscriptions"),
  };
  let queues = new Map<string, BusEvent[]>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let toSubscribe: string[] = [];
  let subscribed: PromiseWithResolvers<void> | undefined;
  let toUnsubscribe: string[] = [];
  let closed = false;
  /** Nobody to post to: publishing is free (one isolate alone). */
  const lone = transport.lone === true;

  function send(topic: string, events: BusEvent[]): void {
    if (sent.size >= MAX_SENDER_TOPICS && !sent.has(topic)) sent.clear();
    const seq = (sent.get(topic) ?? 0) + 1;
    sent.set(topic, seq);
    const post: BusPost = { v: 1, node: nodeId, seq, events };
    const text = JSON.stringify(post);
    stats.postsSent.value += 1;
    stats.bytesSent.value += text.length;
    transport.post(topic, text);
  }

  function flush(): void {
    timer = undefined;
    const now = queues;
    queues = new Map();
    for (const [topic, events] of now) {
      for (let i = 0; i < events.length; i += maxEvents) {
        send(
          topic,
          events.length <= maxEvents ? events : events.slice(i, i + maxEvents),
        );
      }
    }
    if (toUnsubscribe.length > 0) {
      transport.unsubscribe?.(toUnsubscribe);
      toUnsubscribe = [];
    }
    if (subscribed !== undefined) {
      const batch = subscribed;
      subscribed = undefined;
      const list = toSubscribe;
      toSubscribe = [];
      (transport.subscribe?.(list) ?? Promise.resolve()).then(
        batch.resolve,
        batch.reject,
      );
    }
  }

  function schedule(): void {
    timer ??= setTimeout(flush, 0);
  }

  function track(topic: string, post: BusPost): void {
    let senders = heard.get(topic);
    if (senders === undefined) {
      senders = new Map();
      heard.set(topic, senders);
    }
    const last = senders.get(post.node) ?? 0;
    // A sender seen for the first time may have posted before we listened;
    // seq 1 is a new run.
    if (last > 0 && post.seq > last + 1) {
      const lost = post.seq - last - 1;
      stats.gaps.value += lost;
      options.onGap?.(post.node, lost);
    }
    if (post.seq > last || post.seq === 1) {
      // Most recently heard last, so the one forgotten first is the oldest.
      senders.delete(post.node);
      senders.set(post.node, post.seq);
      if (senders.size > MAX_SENDERS_PER_TOPIC) {
        // A forgotten sender's next post counts as its first: no gap check.
        senders.delete(senders.keys().next().value!);
      }
    }
  }

  transport.onPost((topic, raw) => {
    if (closed) return;
    if (topic !== NODE_TOPIC && !rooms.has(topic)) {
      stats.postsUnwanted.value += 1;
      return; // nobody here is in that room: not even decoded
    }
    let value: unknown = raw;
    if (typeof raw === "string") {
      if (raw.startsWith(own)) return; // our own post, echoed (Redis)
      stats.bytesReceived.value += raw.length;
      try {
        value = JSON.parse(raw);
      } catch {
        // Not JSON: invalid below.
      }
    }
    const post = parseBusPost(value);
    if (typeof post === "string") {
      stats.invalid.value += 1;
      options.onInvalid?.(post);
      return;
    }
    if (post.node === nodeId) return;
    stats.postsReceived.value += 1;
    if (post.skipped !== undefined) options.onSkipped?.(post.skipped);
    track(topic, post);
    for (const event of post.events) {
      // A room's topic carries only its own; the node topic no room's messages.
      if (
        topicOf(event) !== topic &&
        (topic !== NODE_TOPIC || event.kind === "message")
      ) continue;
      if (event.kind === "message") stats.messagesReceived.value += 1;
      else if (isRoomPresence(event)) stats.presenceReceived.value += 1;
      for (const handler of handlers) handler(event);
    }
  });

  transport.onResume?.(() => {
    if (closed) return;
    for (const fn of resumed) fn();
  });

  return {
    nodeId,
    publish(event) {
      if (closed || lone) return;
      const topic = topicOf(event);
      const queue = queues.get(topic);
      if (queue === undefined) queues.set(topic, [event]);
      else queue.push(event);
      schedule();
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    join(room) {
      const existing = rooms.get(room);
      if (existing !== undefined) {
        clearTimeout(existing.grace);
        existing.grace = undefined;
        existing.holders += 1;
        return existing.ready;
      }
      if (closed) return Promise.reject(new Error("Bus closed"));
      const pending = toUnsubscribe.indexOf(room);
      if (pending >= 0) toUnsubscribe.splice(pending, 1);
      subscribed ??= Promise.withResolvers<void>();
      toSubscribe.push(room);
      const entry: Subscription = {
        ready: subscribed.promise,
        grace: undefined,
        holders: 1,
      };
      rooms.set(room, entry);
      stats.subscriptions.value = rooms.size;
      // A failed subscribe takes the room out again: the next join retries.
      entry.ready.catch(() => {
        if (rooms.get(room) === entry) rooms.delete(room);
        stats.subscriptions.value = rooms.size;
      });
      schedule();
      return entry.ready;
    },
    leave(room) {
      const entry = rooms.get(room);
      if (entry === undefined || entry.grace !== undefined) return;
      entry.holders -= 1;
      if (entry.holders > 0) return; // someone else still listens
      entry.grace = setTimeout(() => {
        if (rooms.get(room) !== entry) return;
        rooms.delete(room);
        heard.delete(room);
        stats.subscriptions.value = rooms.size;
        toUnsubscribe.push(room);
        schedule();
      }, graceMs);
    },
    onResume(fn) {
      resumed.add(fn);
      return () => resumed.delete(fn);
    },
    stats: () => ({
      postsSent: stats.postsSent.value,
      postsReceived: stats.postsReceived.value,
      bytesSent: stats.bytesSent.value,
      bytesReceived: stats.bytesReceived.value,
      postsUnwanted: stats.postsUnwanted.value,
      messagesReceived: stats.messagesReceived.value,
      presenceReceived: stats.presenceReceived.value,
      gaps: stats.gaps.value,
      invalid: stats.invalid.value,
      subscriptions: stats.subscriptions.value,
    }),
    close() {
      if (!closed) {
        clearTimeout(timer);
        for (const entry of rooms.values()) clearTimeout(entry.grace);
        flush();
        closed = true;
        rooms.clear();
        handlers.clear();
        resumed.clear();
        transport.close();
      }
      return Promise.resolve();
    },
  };
}
