/**
 * The bus links the isolates that serve one deployment: what one isolate
 * publishes to a room, every other isolate delivers to its local members.
 *
 * A {@linkcode Bus} is three methods over a {@linkcode BusTransport}. This file
 * holds the part every transport shares: events published within one tick are
 * batched into one post (BroadcastChannel has a 256-slot ring per process, so
 * fewer, larger posts lose less), posts are numbered per sender, and receivers
 * count the posts that never arrived as gaps (metric + warning). Repair of
 * those gaps from history is the job of the hub, not of the bus.
 *
 * @module
 */

import {
  isRecord,
  type NodeStats,
  parseNodeStats,
  parsePresenceSnapshot,
  parsePresenceUpdate,
  parseSsePost,
  parseSseReply,
  type PresenceSnapshot,
  type PresenceUpdate,
  type SsePostReply,
  type SsePostRequest,
} from "../protocol/mod.ts";

/** A room message, already serialized once as its client frame. */
export interface BusRoomMessage {
  kind: "message";
  room: string;
  offset: number;
  epoch: string;
  /** The exact text frame to send to each member. */
  frame: string;
}

/** A member's presence on the sending node changed. */
export interface BusPresenceUpdate {
  kind: "presence";
  update: PresenceUpdate;
}

/** The sending node's whole presence state: its periodic heartbeat. */
export interface BusPresenceSnapshot {
  kind: "presence-snapshot";
  snapshot: PresenceSnapshot;
}

/** The sending node is shutting down: forget its members now. */
export interface BusNodeDown {
  kind: "node-down";
  node: string;
}

/** The sending node just started: every node answers with its snapshot. */
export interface BusPresenceSync {
  kind: "presence-sync";
  node: string;
}

/** Close every connection of a member, on every node (logout, ban). */
export interface BusTerminate {
  kind: "terminate";
  member: string;
}

/** The sending node's stats snapshot, for the operator dashboard. */
export interface BusNodeStats {
  kind: "node-stats";
  stats: NodeStats;
}

/** A dashboard session was revoked (logout): no node may accept it any more. */
export interface BusAdminRevoke {
  kind: "admin-revoke";
  /** The session's random id (not its cookie). */
  id: string;
  /** When it would have expired, ms since the Unix epoch. */
  expiresAt: number;
}

/** A fallback-transport POST for a session another isolate holds (lib/sse). */
export interface BusSsePost extends SsePostRequest {
  kind: "sse-post";
}

/** The holding isolate's answer to a {@linkcode BusSsePost}. */
export interface BusSseReply extends SsePostReply {
  kind: "sse-reply";
}

/** Everything an isolate can tell the others. */
export type BusEvent =
  | BusSsePost
  | BusSseReply
  | BusAdminRevoke
  | BusNodeStats
  | BusTerminate
  | BusRoomMessage
  | BusPresenceUpdate
  | BusPresenceSnapshot
  | BusPresenceSync
  | BusNodeDown;

/** One post on the transport: the events of one tick from one sender. */
export interface BusPost {
  /** Bus format version. */
  v: 1;
  /** The sending isolate. */
  node: string;
  /** Per-sender post number, starting at 1, one more per post. */
  seq: number;
  events: BusEvent[];
}

/** Raw delivery of posts between isolates. */
export interface BusTransport {
  /** Sends a post to every other isolate (never back to this one). */
  post(post: BusPost): void;
  /** Registers the receiver of posts from other isolates (values are untrusted). */
  onPost(handler: (post: unknown) => void): void;
  /** Releases the transport. */
  close(): void;
}

/** Counters a bus keeps about itself. */
export interface BusStats {
  postsSent: number;
  postsReceived: number;
  /** Posts from other isolates that never arrived. */
  gaps: number;
  /** Posts that failed validation. */
  invalid: number;
}

/** Fan-out between isolates. */
export interface Bus {
  /** This isolate's id on the bus. */
  readonly nodeId: string;
  /** Queues an event for the other isolates; sent with the rest of this tick's events. */
  publish(event: BusEvent): void;
  /** Registers a handler for events from other isolates; returns the unsubscribe function. */
  subscribe(handler: (event: BusEvent) => void): () => void;
  /** Counters since creation. */
  stats(): BusStats;
  /** Sends what is queued, then releases the transport. */
  close(): Promise<void>;
}

/** Options for {@linkcode createBus}. */
export interface CreateBusOptions {
  /** This isolate's id. @default {crypto.randomUUID()} */
  nodeId?: string;
  /** Most events in one post; a fuller tick is split. @default {512} */
  maxEventsPerPost?: number;
  /** Called once per detected gap with the sender and the number of posts lost. */
  onGap?: (node: string, lost: number) => void;
  /** Called when a post fails validation. */
  onInvalid?: (reason: string) => void;
}

/**
 * Builds a {@linkcode Bus} over a transport: per-tick batching, per-sender
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
  const maxEvents = options.maxEventsPerPost ?? 512;
  const handlers = new Set<(event: BusEvent) => void>();
  const lastSeq = new Map<string, number>();
  const stats: BusStats = {
    postsSent: 0,
    postsReceived: 0,
    gaps: 0,
    invalid: 0,
  };
  let queue: BusEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;
  let closed = false;

  function flush(): void {
    timer = undefined;
    while (queue.length > 0) {
      const events = queue.length <= maxEvents
        ? queue
        : queue.slice(0, maxEvents);
      queue = queue.length <= maxEvents ? [] : queue.slice(maxEvents);
      seq += 1;
      stats.postsSent += 1;
      transport.post({ v: 1, node: nodeId, seq, events });
    }
  }

  transport.onPost((raw) => {
    const post = parseBusPost(raw);
    if (typeof post === "string") {
      stats.invalid += 1;
      options.onInvalid?.(post);
      return;
    }
    stats.postsReceived += 1;
    const last = lastSeq.get(post.node) ?? 0;
    // A sender seen for the first time may have posted before we subscribed.
    if (last > 0 && post.seq > last + 1) {
      const lost = post.seq - last - 1;
      stats.gaps += lost;
      options.onGap?.(post.node, lost);
    }
    if (post.seq > last) lastSeq.set(post.node, post.seq);
    for (const event of post.events) {
      for (const handler of handlers) handler(event);
    }
  });

  return {
    nodeId,
    publish(event) {
      if (closed) return;
      queue.push(event);
      timer ??= setTimeout(flush, 0);
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    stats: () => ({ ...stats }),
    close() {
      if (!closed) {
        closed = true;
        clearTimeout(timer);
        flush();
        handlers.clear();
        transport.close();
      }
      return Promise.resolve();
    },
  };
}

/** Validates one event of a post; returns it, or what is wrong with it. */
export function parseBusEvent(event: unknown): BusEvent | string {
  if (!isRecord(event)) return "event is not an object";
  switch (event.kind) {
    case "message": {
      const { room, offset, epoch, frame } = event;
      if (
        typeof room !== "string" || typeof epoch !== "string" ||
        typeof frame !== "string" || typeof offset !== "number" ||
        !Number.isSafeInteger(offset)
      ) {
        return "bad message event";
      }
      return { kind: "message", room, offset, epoch, frame };
    }
    case "presence": {
      const update = parsePresenceUpdate(event.update);
      return typeof update === "string" ? update : { kind: "presence", update };
    }
    case "presence-snapshot": {
      const snapshot = parsePresenceSnapshot(event.snapshot);
      return typeof snapshot === "string"
        ? snapshot
        : { kind: "presence-snapshot", snapshot };
    }
    case "node-stats": {
      const stats = parseNodeStats(event.stats);
      return typeof stats === "string" ? stats : { kind: "node-stats", stats };
    }
    case "admin-revoke": {
      const { id, expiresAt } = event;
      return typeof id === "string" && /^[A-Za-z0-9_-]{22}$/.test(id) &&
          typeof expiresAt === "number" && Number.isSafeInteger(expiresAt)
        ? { kind: "admin-revoke", id, expiresAt }
        : "bad admin-revoke event";
    }
    case "sse-post": {
      const post = parseSsePost(event);
      return typeof post === "string" ? post : { kind: "sse-post", ...post };
    }
    case "sse-reply": {
      const reply = parseSseReply(event);
      return typeof reply === "string"
        ? reply
        : { kind: "sse-reply", ...reply };
    }
    case "terminate":
      return typeof event.member === "string" && event.member !== "" &&
          event.member.length <= 128
        ? { kind: "terminate", member: event.member }
        : "bad terminate event";
    case "node-down":
    case "presence-sync":
      return typeof event.node === "string" && event.node !== ""
        ? { kind: event.kind, node: event.node }
        : `bad ${event.kind} event`;
    default:
      return `unknown event kind ${String(event.kind).slice(0, 32)}`;
  }
}

/**
 * Validates a post received from another isolate. Returns the post, or a
 * string saying what is wrong with it.
 */
export function parseBusPost(value: unknown): BusPost | string {
  if (!isRecord(value)) return "post is not an object";
  const { v, node, seq, events } = value;
  if (v !== 1) return `unknown bus version ${String(v)}`;
  if (typeof node !== "string" || node === "") return "bad node";
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) {
    return "bad seq";
  }
  if (!Array.isArray(events)) return "events is not an array";
  const parsed: BusEvent[] = [];
  for (const event of events) {
    const result = parseBusEvent(event);
    if (typeof result === "string") return result;
    parsed.push(result);
  }
  return { v: 1, node, seq, events: parsed };
}
