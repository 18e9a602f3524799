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
    if (this.#maxBytes === undefined) this.#maxBytes = welcomeMaxBytes(data);
    this.onmessage?.(new MessageEvent("message", { data }));
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
        const frames = this.#take();
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
        await response.body?.cancel();
        if (!response.ok) {
          // The session is gone, or refused this: the link is broken.
          return this.#finish(
            ABNORMAL_CLOSURE,
            `SSE POST refused: ${response.status}`,
          );
        }
      }
    } catch {
      this.#finish(ABNORMAL_CLOSURE, "SSE POST failed");
    } finally {
      this.#posting = false;
    }
  }

  /** The next frames for one POST: in order, within the server's size limit. */
  #take(): string[] {
    const max = this.#maxBytes;
    const frames: string[] = [];
    let bytes = 2;
    while (frames.length < MAX_FRAMES_PER_POST) {
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

function parse(data: unknown): Record<string, unknown> | undefined {
  if (typeof data !== "string") return undefined;
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value))
      : undefined;
  } catch {
    return undefined;
  }
}

function sessionOf(data: unknown): string | undefined {
  const session = parse(data)?.session;
  return typeof session === "string" && session !== "" ? session : undefined;
}

function closeOf(data: unknown): { code: number; reason: string } | undefined {
  const value = parse(data);
  const code = value?.code;
  if (typeof code !== "number" || !Number.isInteger(code)) return undefined;
  const reason = value?.reason;
  return { code, reason: typeof reason === "string" ? reason : "" };
}

/** `maxMessageBytes` of a `welcome` frame (checked cheaply before parsing). */
function welcomeMaxBytes(data: string): number | undefined {
  if (!data.startsWith('{"type":"welcome"')) return undefined;
  const max = parse(data)?.maxMessageBytes;
  return typeof max === "number" && max > 0 ? max : undefined;
}
