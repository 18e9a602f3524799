/**
 * The bidirectional sessions of the fallback transport on one isolate: an
 * unguessable id (the node's key and 128 random bits) bound to the
 * principal that opened it, the hub connection of its current stream, at
 * most one POST in flight, and a short idle lifetime once its stream ended.
 * Bounded in count (`SSE_MAX_SESSIONS`).
 *
 * @module
 */

import type { ConnectOptions, Hub } from "../hub/hub.ts";
import type { Connection } from "../rooms/connection.ts";
import type { Metrics } from "../support/metrics.ts";

/** What applying a POST came to, as the HTTP answer says it. */
export interface PostResult {
  status: number;
  /** `ok` or the error code. */
  code: string;
  message: string;
  /** Frames handed to the hub, in order. */
  applied: number;
  /**
   * When applied: the tokens in the connection's rate-limit bucket when the
   * answer is made, after its frames were taken, rounded down to a thousandth (the client's
   * copy of the bucket takes it; docs/protocol.md "Fallback transport").
   */
  tokens?: number;
}

/** One session. */
export interface SseSession {
  readonly id: string;
  /** Who opened it (see {@linkcode principalOf}). */
  readonly principal: string;
  /** The connection of its stream, while one is open. */
  connection: Connection | undefined;
  /** A POST is being read or applied. */
  posting: boolean;
  idle: ReturnType<typeof setTimeout> | undefined;
}

/** Options for {@linkcode SseSessions}. */
export interface SseSessionsOptions {
  hub: Hub;
  /** This isolate's bus node id. */
  nodeId: string;
  maxSessions: number;
  /** Lifetime of a session without a stream, ms. */
  idleMs: number;
  metrics: Metrics;
}

/**
 * The principal a request speaks for: a verified subject (`t:<sub>`), a
 * named anonymous member (`a:<id>`, from `?user=`), or any anonymous client
 * (`a:*`: the session id alone is the secret then).
 */
export function principalOf(who: ConnectOptions, named: boolean): string {
  if (who.access !== undefined) return `t:${who.memberId ?? ""}`;
  return named ? `a:${who.memberId ?? ""}` : "a:*";
}

/** The node key of a session id (its part before the dot), or undefined. */
export function sessionNode(id: string): string | undefined {
  const match = /^([0-9a-f]{32})\.[A-Za-z0-9_-]{22}$/.exec(id);
  return match?.[1];
}

/** The key naming `nodeId` in session ids. */
export function nodeKey(nodeId: string): string {
  return nodeId.replaceAll("-", "").toLowerCase().padEnd(32, "0").slice(0, 32);
}

const result = (
  status: number,
  code: string,
  message: string,
  applied = 0,
): PostResult => ({ status, code, message, applied });

/** The sessions of one isolate. */
export class SseSessions {
  readonly #options: SseSessionsOptions;
  readonly #sessions = new Map<string, SseSession>();
  /** This isolate's part of every session id it creates. */
  readonly key: string;

  /** An empty table. */
  constructor(options: SseSessionsOptions) {
    this.#options = options;
    this.key = nodeKey(options.nodeId);
  }

  /** Sessions held, streaming or not. */
  get size(): number {
    return this.#sessions.size;
  }

  /** A new session for `principal`, or undefined at `maxSessions`. */
  create(principal: string): SseSession | undefined {
    if (this.#sessions.size >= this.#options.maxSessions) return undefined;
    const random = btoa(
      String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
    ).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    const session: SseSession = {
      id: `${this.key}.${random}`,
      principal,
      connection: undefined,
      posting: false,
      idle: undefined,
    };
    this.#sessions.set(session.id, session);
    this.#gauge();
    return session;
  }

  /**
   * The session `id` for a new stream of `principal`: it must exist, belong
   * to `principal` and have no open stream; else undefined.
   */
  reusable(id: string | undefined, principal: string): SseSession | undefined {
    const session = id === undefined ? undefined : this.#sessions.get(id);
    return session?.principal === principal &&
        session.connection === undefined
      ? session
      : undefined;
  }

  /** The stream of `session` is `connection` now. */
  attach(session: SseSession, connection: Connection): void {
    clearTimeout(session.idle);
    session.idle = undefined;
    session.connection = connection;
  }

  /** The stream of `connection` ended: the session lives `idleMs` more. */
  detach(session: SseSession, connection: Connection): void {
    if (session.connection !== connection) return;
    session.connection = undefined;
    session.idle = setTimeout(() => {
      this.#sessions.delete(session.id);
      this.#gauge();
    }, this.#options.idleMs);
  }

  /**
   * Starts a POST of `principal` to `id`: the session, or the refusal
   * (404 `unknown_session`, 403 `forbidden_session`, 409 `post_in_flight`,
   * 409 `no_stream`). Call {@linkcode SseSessions.end} after it.
   */
  begin(id: string, principal: string): SseSession | PostResult {
    const session = this.#sessions.get(id);
    if (session === undefined) {
      return result(404, "unknown_session", "No such session on this server");
    }
    if (session.principal !== principal) {
      return result(
        403,
        "forbidden_session",
        "This session belongs to another principal",
      );
    }
    if (session.posting) {
      return result(
        409,
        "post_in_flight",
        "Another POST to this session is in flight: send the next one after its answer",
      );
    }
    if (session.connection === undefined) {
      return result(
        409,
        "no_stream",
        "The session has no open stream: reconnect it (GET /sse with Last-Event-ID)",
      );
    }
    session.posting = true;
    return session;
  }

  /** Ends the POST that {@linkcode SseSessions.begin} started. */
  end(session: SseSession): void {
    session.posting = false;
  }

  /** Hands `frames` to the hub in order, as if the stream's socket had sent them. */
  apply(session: SseSession, frames: readonly string[]): PostResult {
    const connection = session.connection;
    if (connection === undefined) {
      return result(409, "no_stream", "The session's stream ended");
    }
    const { hub, metrics } = this.#options;
    for (const frame of frames) hub.receive(connection, frame);
    metrics.inc("sse_frames_in_total", frames.length);
    const applied = result(200, "ok", "", frames.length);
    const tokens = hub.tokensOf(connection);
    // A bad frame may have closed the connection: then there is no bucket.
    if (tokens !== undefined) applied.tokens = Math.floor(tokens * 1000) / 1000;
    return applied;
  }

  /** {@linkcode SseSessions.begin}, apply and end, for a POST routed here. */
  applyRouted(
    id: string,
    principal: string,
    frames: readonly string[],
  ): PostResult {
    const session = this.begin(id, principal);
    if (!("id" in session)) return session;
    try {
      return this.apply(session, frames);
    } finally {
      this.end(session);
    }
  }

  /** Forgets every session (shutdown); their streams close with the hub's. */
  close(): void {
    for (const session of this.#sessions.values()) clearTimeout(session.idle);
    this.#sessions.clear();
    this.#gauge();
  }

  #gauge(): void {
    this.#options.metrics.set("sse_sessions", this.#sessions.size);
  }
}
