/**
 * The SDK's fallback transport (internal): the roomcast protocol over
 * `GET /sse` (server frames as SSE events) and `POST /sse/<session>`
 * (client frames), behind the same {@linkcode WebSocketLike} shape as the
 * WebSocket (docs/protocol.md "Fallback transport"). The client drives it
 * exactly like a socket; its own reconnects (rejoins with each room's
 * position) do the resuming, so the `EventSource`'s automatic reconnect is
 * turned off: a stream that breaks closes the link with 1006.
 *
 * @module
 */

import { SUBPROTOCOL_BATCH } from "../protocol/mod.ts";
import { PostBudget } from "./_sse_budget.ts";
import {
  answerTokens,
  closeOf,
  sessionOf,
  welcomeLimits,
} from "./_sse_events.ts";
import { ABNORMAL_CLOSURE } from "./_socket.ts";
import { TOKEN_PROTOCOL_PREFIX } from "./_token.ts";
import type { WebSocketConstructor, WebSocketLike } from "./types.ts";
import type {
  EventSourceConstructor,
  EventSourceLike,
} from "./transport_types.ts";

/** Frames one POST carries at most; more wait for the next. */
export const MAX_FRAMES_PER_POST = 64;

/** Frames that may wait for a POST; one more closes the link (1006). */
export const MAX_QUEUED_FRAMES = 1_024;

/** UTF-16 units of frames that may wait for a POST; more close the link (1006). */
export const MAX_QUEUED_CHARS = 1024 * 1024;

/** What a link needs besides its URL. */
export interface SseLinkDeps {
  EventSource: EventSourceConstructor;
  fetch: typeof fetch;
  /** Clock of the POST budget, ms. @default {Date.now} */
  now?: () => number;
}

/**
 * The stream URL for a WebSocket endpoint: `ws:`/`wss:` become
 * `http:`/`https:` and a path ending in `/ws` ends in `/sse` instead (any
 * other path gets `/sse` appended); the query (`?user=`) is kept.
 */
export function toSseUrl(url: string): URL {
  const parsed = new URL(url);
  parsed.protocol = parsed.protocol === "wss:" ? "https:" : "http:";
  parsed.pathname = parsed.pathname.endsWith("/ws")
    ? `${parsed.pathname.slice(0, -3)}/sse`
    : `${parsed.pathname.replace(/\/$/, "")}/sse`;
  return parsed;
}

/** A constructor of SSE links with the shape of `WebSocket`'s. */
export function sseSocketClass(deps: SseLinkDeps): WebSocketConstructor {
  return class extends SseSocket {
    constructor(url: string, protocols: string[]) {
      super(url, protocols, deps);
    }
  };
}

/**
 * One SSE stream and its session's POSTs, as a socket: open (1) once the
 * server named the session, frames in through `onmessage`, frames out
 * through `send` (queued, at most one POST in flight, sent in order), and
 * one `onclose` whichever side or failure ended it.
 */
export class SseSocket implements WebSocketLike {
  #readyState = 0;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  readonly #deps: SseLinkDeps;
  readonly #source: EventSourceLike;
  readonly #postBase: URL;
  readonly #token: string | undefined;
  readonly #abort = new AbortController();
  #session: string | undefined;
  #queue: string[] = [];
  #queuedChars = 0;
  #posting = false;
  /** The server's `maxMessageBytes`, read from its `welcome`: what one POST may carry. */
  #maxBytes: number | undefined;
  /** The server's rate limit as the POSTs meet it, once the `welcome` announced one. */
  #budget: PostBudget | undefined;
  #welcomed = false;

  /** Opens the stream for the WebSocket endpoint `url`, offering `protocols`. */
  constructor(url: string, protocols: string[], deps: SseLinkDeps) {
    this.#deps = deps;
    const token = protocols.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX))
      ?.slice(TOKEN_PROTOCOL_PREFIX.length);
    this.#token = token;
    const stream = toSseUrl(url);
    this.#postBase = new URL(stream);
    // EventSource cannot set headers: the token goes in the query.
    if (token !== undefined) stream.searchParams.set("token", token);
    if (protocols.includes(SUBPROTOCOL_BATCH)) {
      stream.searchParams.set("batch", "1");
    }
    this.#source = new deps.EventSource(stream.href, { withCredentials: true });
    this.#source.addEventListener("session", (event) => this.#onSession(event));
    this.#source.addEventListener("message", (event) => this.#onFrame(event));
    this.#source.addEventListener("close", (event) => this.#onEnd(event));
    this.#source.addEventListener("error", () => {
      // A refused stream, a broken one, or the end of the body: no
      // automatic reconnect (the client resumes with its own positions).
      this.#finish(ABNORMAL_CLOSURE, "SSE stream failed");
    });
  }

  /** 0 connecting, 1 open (the session is named), 2 closing, 3 closed. */
  get readyState(): number {
    return this.#readyState;
  }

  /** Queues a frame; POSTs go one at a time, each with what queued meanwhile. */
  send(data: string): void {
    if (this.#readyState !== 1) throw new Error("SSE link is not open");
    if (
      this.#queue.length >= MAX_QUEUED_FRAMES ||
      this.#queuedChars + data.length > MAX_QUEUED_CHARS
    ) {
      // The POSTs cannot keep up (as a WebSocket's buffer would overflow).
      return this.#finish(ABNORMAL_CLOSURE, "SSE send queue full");
    }
    this.#queue.push(data);
    this.#queuedChars += data.length;
    if (!this.#posting) void this.#post();
  }

  /** Ends the stream; no `onclose` follows (as for a socket whose handlers were dropped). */
  close(code = 1000, reason = ""): void {
    this.#finish(code, reason, false);
  }

  #onSession(event: Event): void {
    if (this.#readyState !== 0 || !(event instanceof MessageEvent)) return;
    const session = sessionOf(event.data);
    if (session === undefined) {
      return this.#finish(ABNORMAL_CLOSURE, "SSE stream named no session");
    }
    this.#session = session;
    this.#readyState = 1;
  }

  #onFrame(event: Event): void {
    if (this.#readyState !== 1 || !(event instanceof MessageEvent)) return;
    const data: unknown = event.data;
    if (typeof data !== "string") return;
    if (!this.#welcomed) this.#onWelcome(data);
    this.onmessage?.(new MessageEvent("message", { data }));
  }

  /** The first frame: the server's limits, which the POSTs keep to. */
  #onWelcome(data: string): void {
    const welcome = welcomeLimits(data);
    if (welcome === undefined) return;
    this.#welcomed = true;
    this.#maxBytes = welcome.maxBytes;
    const limit = welcome.rateLimit;
    if (limit !== undefined) this.#budget = new PostBudget(limit, this.#now());
  }

  #now(): number {
    return (this.#deps.now ?? Date.now)();
  }

  /** The server's `event: close`: the code a WebSocket would have closed with. */
  #onEnd(event: Event): void {
    const end = event instanceof MessageEvent ? closeOf(event.data) : undefined;
    this.#finish(
      end?.code ?? ABNORMAL_CLOSURE,
      end?.reason ?? "SSE stream ended",
    );
  }

  /** POSTs the queued frames, one request at a time, until none are left. */
  async #post(): Promise<void> {
    this.#posting = true;
    try {
      while (this.#queue.length > 0 && this.#readyState === 1) {
        const budget = this.#budget;
        const wanted = Math.min(this.#queue.length, MAX_FRAMES_PER_POST);
        const wait = budget?.waitMs(wanted, this.#now()) ?? 0;
        if (wait > 0) {
          await this.#delay(wait);
          continue;
        }
        const frames = this.#take(budget?.available(this.#now()));
        budget?.sent(frames.length, this.#now());
        const response = await this.#deps.fetch(this.#postUrl(), {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(this.#token === undefined
              ? {}
              : { authorization: `Bearer ${this.#token}` }),
          },
          body: `[${frames.join(",")}]`,
          credentials: "include",
          signal: this.#abort.signal,
        });
        if (!response.ok) {
          await response.body?.cancel();
          // The session is gone, or refused this: the link is broken.
          return this.#finish(
            ABNORMAL_CLOSURE,
            `SSE POST refused: ${response.status}`,
          );
        }
        // The server's bucket after these frames (an older server: none).
        budget?.answered(this.#now(), await answerTokens(response));
      }
    } catch {
      this.#finish(ABNORMAL_CLOSURE, "SSE POST failed");
    } finally {
      this.#posting = false;
    }
  }

  /** Waits `ms`, or less when the link ends meanwhile. */
  #delay(ms: number): Promise<void> {
    const signal = this.#abort.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done);
    });
  }

  /**
   * The next frames for one POST: in order, within the server's size limit
   * and at most `allowed` (what the rate budget lets one POST carry).
   */
  #take(allowed = MAX_FRAMES_PER_POST): string[] {
    const max = this.#maxBytes;
    const frames: string[] = [];
    const count = Math.min(MAX_FRAMES_PER_POST, allowed);
    let bytes = 2;
    while (frames.length < count) {
      const next = this.#queue[0];
      if (next === undefined) break;
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      const size = next.length * 3 + 1;
      if (frames.length > 0 && max !== undefined && bytes + size > max) break;
      if (frames.length > 0 && max === undefined) break;
      bytes += size;
      frames.push(next);
      this.#queue.shift();
      this.#queuedChars -= next.length;
    }
    return frames;
  }

  #postUrl(): string {
    const url = new URL(this.#postBase);
    url.pathname = `${url.pathname}/${encodeURIComponent(this.#session ?? "")}`;
    return url.href;
  }

  /** The single end of the link; `report`: tell the client (`onclose`). */
  #finish(code: number, reason: string, report = true): void {
    if (this.#readyState === 3) return;
    this.#readyState = 3;
    this.#queue = [];
    this.#queuedChars = 0;
    this.#source.close();
    this.#abort.abort();
    if (report) this.onclose?.(new CloseEvent("close", { code, reason }));
  }
}
