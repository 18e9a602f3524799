/**
 * What travels on the bus: the events isolates tell each other, the post
 * that carries one tick's events on one topic, the interfaces of the bus and
 * its transports. A post from another isolate is untrusted until
 * `parseBusPost` (`bus_parse.ts`; both re-exported by `bus.ts`) accepts it.
 *
 * @module
 */

import type {
  NodeStats,
  PresenceSnapshot,
  PresenceUpdate,
  SsePostReply,
  SsePostRequest,
} from "../protocol/mod.ts";
import type { MetricCell } from "../support/metrics.ts";

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

/**
 * The sending node just started (no `room`), or started hearing `room`:
 * the nodes with members there answer with their snapshot of it.
 */
export interface BusPresenceSync {
  kind: "presence-sync";
  node: string;
  room?: string;
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

/**
 * How many subscriptions the sending node has on a room (Pusher
 * `subscription_count`); resent with every heartbeat, so a silent node's
 * counts expire. 0 withdraws the node's count.
 */
export interface BusSubscriptionCount {
  kind: "subscriptions";
  node: string;
  room: string;
  count: number;
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
  | BusSubscriptionCount
  | BusTerminate
  | BusRoomMessage
  | BusPresenceUpdate
  | BusPresenceSnapshot
  | BusPresenceSync
  | BusNodeDown;

/**
 * The topic of the node channel: every event that is not about one room
 * (terminate, node-down, stats) travels there, and every isolate listens
 * to it.
 */
export const NODE_TOPIC = "";

/**
 * The topic an event travels on: its room for a message and for the
 * presence of one room (update, partial snapshot, room sync), else the node
 * channel.
 */
export function topicOf(event: BusEvent): string {
  switch (event.kind) {
    case "message":
      return event.room;
    case "presence":
      return event.update.room;
    case "presence-sync":
      return event.room ?? NODE_TOPIC;
    case "presence-snapshot": {
      const rooms = Object.keys(event.snapshot.rooms);
      return event.snapshot.partial === true && rooms.length === 1
        ? rooms[0]!
        : NODE_TOPIC;
    }
    default:
      return NODE_TOPIC;
  }
}

/**
 * Whether `event` is presence of rooms (an update, a snapshot naming rooms,
 * a room's sync), as opposed to node-level traffic.
 */
export function isRoomPresence(event: BusEvent): boolean {
  switch (event.kind) {
    case "presence":
      return true;
    case "presence-snapshot":
      return Object.keys(event.snapshot.rooms).length > 0;
    case "presence-sync":
      return event.room !== undefined;
    default:
      return false;
  }
}

/** One post on the transport: the events of one tick from one sender on one topic. */
export interface BusPost {
  /** Bus format version. */
  v: 1;
  /** The sending isolate. */
  node: string;
  /**
   * Post number per sender and topic, one more per post; 1 starts a new run
   * (a sender forgets the numbers of topics it no longer posts on).
   */
  seq: number;
  events: BusEvent[];
  /** Events of kinds this version does not know, left out (set by {@linkcode parseBusPost}). */
  skipped?: number;
}

/** Raw delivery of encoded posts between isolates. */
export interface BusTransport {
  /**
   * No other isolate can hear this transport (a lone isolate): the bus
   * skips encoding and posting what is published. @default {false}
   */
  readonly lone?: boolean;
  /** Sends one encoded post on `topic` (a room, or {@linkcode NODE_TOPIC}). */
  post(topic: string, text: string): void;
  /** Registers the receiver of posts from other isolates (`text` is untrusted). */
  onPost(handler: (topic: string, text: unknown) => void): void;
  /**
   * Starts delivery of these rooms' topics; resolves once a post sent from
   * now on is sure to arrive. Absent: every topic arrives anyway.
   */
  subscribe?(rooms: readonly string[]): Promise<void>;
  /** Stops delivery of these rooms' topics. */
  unsubscribe?(rooms: readonly string[]): void;
  /**
   * Registers what to call when delivery resumed after an interruption (a
   * reconnect, a failover): posts sent meanwhile were lost, and the ones of
   * a room's last moments show no gap. Absent: delivery is never interrupted.
   */
  onResume?(handler: () => void): void;
  /** Releases the transport. */
  close(): void;
}

/** Counters a bus keeps about itself. */
export interface BusStats {
  postsSent: number;
  postsReceived: number;
  /** Characters of the posts sent (bytes, for ASCII payloads). */
  bytesSent: number;
  /** Characters of the posts received and decoded. */
  bytesReceived: number;
  /** Posts of rooms without a local member, dropped before decoding. */
  postsUnwanted: number;
  /** Room message events received. */
  messagesReceived: number;
  /** Presence events about rooms (updates, snapshots, room syncs) received. */
  presenceReceived: number;
  /** Posts from other isolates that never arrived. */
  gaps: number;
  /** Posts that failed validation. */
  invalid: number;
  /** Room topics this isolate hears now (grace period included). */
  subscriptions: number;
}

/** Fan-out between isolates. */
export interface Bus {
  /** This isolate's id on the bus. */
  readonly nodeId: string;
  /** Queues an event for the other isolates; sent with the rest of this tick's events. */
  publish(event: BusEvent): void;
  /** Registers a handler for events from other isolates; returns the unsubscribe function. */
  subscribe(handler: (event: BusEvent) => void): () => void;
  /**
   * Starts hearing `room` (its first local member; a dashboard tail).
   * Resolves once every post on it from now on will arrive: read the room's
   * head only after that. Counted: each join wants one {@linkcode Bus.leave}.
   */
  join(room: string): Promise<void>;
  /**
   * Undoes one join; after the last, stops hearing `room` once the grace
   * period passed, unless joined again meanwhile.
   */
  leave(room: string): void;
  /**
   * Calls `fn` each time delivery resumed after an interruption of the
   * transport: posts sent meanwhile were lost (a room's stream reads what it
   * missed from the room log). Returns the function that stops it.
   */
  onResume(fn: () => void): () => void;
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
  /** How long a room stays subscribed after its last local member left, ms. @default {1000} */
  unsubscribeGraceMs?: number;
  /** Called once per detected gap with the sender and the number of posts lost. */
  onGap?: (node: string, lost: number) => void;
  /** Called when a post fails validation. */
  onInvalid?: (reason: string) => void;
  /** Called with the count of events of unknown kinds a post carried (skipped; a newer node's). */
  onSkipped?: (count: number) => void;
  /** Cells the counters live in (metrics), by {@linkcode BusStats} field. */
  cells?: Partial<Record<keyof BusStats, MetricCell>>;
}
