/**
 * Test doubles of the SSE fallback (internal): an `EventSource` whose
 * server side the test plays, and a `fetch` that records the POSTs and
 * answers each when the test says.
 *
 * @module
 */

import type { EventSourceLike } from "./transport_types.ts";

/** An `EventSource` the test drives; every instance is kept in `sources`. */
export class FakeEventSource implements EventSourceLike {
  /** Every stream opened, oldest first. */
  static readonly sources: FakeEventSource[] = [];
  readonly url: string;
  closed = false;
  readonly #listeners = new Map<string, Array<(event: Event) => void>>();

  /** Records the stream. */
  constructor(url: string) {
    this.url = url;
    FakeEventSource.sources.push(this);
  }

  /** Registers a listener. */
  addEventListener(type: string, listener: (event: Event) => void): void {
    this.#listeners.set(type, [...this.#listeners.get(type) ?? [], listener]);
  }

  /** Records the close. */
  close(): void {
    this.closed = true;
  }

  /** Dispatches an event: a `MessageEvent` with `data`, a plain one without. */
  emit(type: string, data?: unknown): void {
    const event = data === undefined ? new Event(type) : new MessageEvent(
      type,
      { data: typeof data === "string" ? data : JSON.stringify(data) },
    );
    for (const listener of this.#listeners.get(type) ?? []) listener(event);
  }

  /**
   * The server names the session and welcomes (as `GET /sse` does), with
   * its rate limit when `rateLimit` is given.
   */
  welcome(
    session = "n1.s1",
    maxMessageBytes = 65_536,
    rateLimit?: { perSecond: number; burst: number },
  ): void {
    this.emit("session", { session });
    this.emit("message", {
      type: "welcome",
      connectionId: "c1",
      heartbeatMs: 25_000,
      protocol: 1,
      memberId: "c1",
      maxMessageBytes,
      ...(rateLimit === undefined ? {} : { rateLimit }),
    });
  }

  /** The newest stream. */
  static get last(): FakeEventSource {
    const source = FakeEventSource.sources.at(-1);
    if (source === undefined) throw new Error("No stream yet");
    return source;
  }
}

/** A POST the fake `fetch` got, answered by `answer()`. */
export interface FakePost {
  url: string;
  headers: Record<string, string>;
  /** The frames, parsed. */
  frames: unknown[];
  /** Answers with `status` and JSON `body` (an older server's: no `tokens`). */
  answer(status?: number, body?: unknown): void;
}

/** A `fetch` that records POSTs and leaves them open until answered. */
export function fakeFetch(): { fetch: typeof fetch; posts: FakePost[] } {
  const posts: FakePost[] = [];
  const fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const { promise, resolve } = Promise.withResolvers<Response>();
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const body = typeof init?.body === "string" ? init.body : "[]";
    posts.push({
      url: String(input),
      headers,
      frames: JSON.parse(body),
      answer: (status = 200, answer: unknown = { applied: 1 }) =>
        resolve(new Response(JSON.stringify(answer), { status })),
    });
    return promise;
  };
  return { fetch, posts };
}
