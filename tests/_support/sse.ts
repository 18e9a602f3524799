/**
 * A test client of the SSE fallback transport over `fetch` streams: parses
 * `text/event-stream` events, queues server frames so tests await them by
 * type (no sleeps), and POSTs commands to its session.
 *
 * @module
 */

import type { ServerMessage } from "../../lib/protocol/mod.ts";

/** One SSE event as the stream carried it. */
export interface SseEvent {
  event: string;
  data: string;
  /** The last `id:` seen up to this event (as an EventSource keeps it). */
  id: string;
}

/** Options for {@linkcode SseClient.open}. */
export interface SseOpenOptions {
  headers?: Record<string, string>;
  lastEventId?: string;
}

/** An SSE stream opened with `fetch`. */
export class SseClient implements AsyncDisposable {
  readonly response: Response;
  readonly base: string;
  /** Events other than default `message` ones (session, close, joined, refused). */
  readonly named: SseEvent[] = [];
  readonly #frames: ServerMessage[] = [];
  readonly #waiters: Array<() => void> = [];
  readonly #abort: AbortController;
  /** Resolves when the stream ended. */
  readonly ended: Promise<void>;
  /** The session id from the first event (bidirectional streams). */
  session = "";
  /** The last SSE id seen. */
  lastId = "";
  /** Every default event's data, in order. */
  readonly data: string[] = [];
  /** What POSTs add to their URL by default (the stream's `?user=`). */
  query = "";
  #done = false;

  private constructor(
    base: string,
    response: Response,
    abort: AbortController,
  ) {
    this.base = base;
    this.response = response;
    this.#abort = abort;
    this.ended = this.#read();
  }

  /** GETs `url` (a full URL); resolves once the response headers arrived. */
  static async open(
    url: string,
    options: SseOpenOptions = {},
  ): Promise<SseClient> {
    const abort = new AbortController();
    const response = await fetch(url, {
      signal: abort.signal,
      headers: {
        ...options.headers,
        ...(options.lastEventId === undefined
          ? {}
          : { "last-event-id": options.lastEventId }),
      },
    });
    const client = new SseClient(new URL(url).origin, response, abort);
    const user = new URL(url).searchParams.get("user");
    client.query = user === null ? "" : `?user=${encodeURIComponent(user)}`;
    return client;
  }

  /** Opens a bidirectional stream and waits for its session event. */
  static async session(
    url: string,
    options: SseOpenOptions = {},
  ): Promise<SseClient> {
    const client = await SseClient.open(url, options);
    if (client.response.status !== 200) {
      throw new Error(
        `GET ${url}: ${client.response.status} ${await client.response.text()}`,
      );
    }
    await client.nextNamed("session");
    return client;
  }

  async #read(): Promise<void> {
    if (this.response.body === null) return;
    const reader = this.response.body.pipeThrough(new TextDecoderStream())
      .getReader();
    let buffer = "";
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          this.#event(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        this.#wake();
      }
    } catch {
      // Aborted by close().
    } finally {
      this.#done = true;
      this.#wake();
    }
  }

  #event(block: string): void {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") this.lastId = value;
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length === 0) return;
    const text = data.join("\n");
    if (event !== "message") {
      if (event === "session") this.session = JSON.parse(text).session;
      this.named.push({ event, data: text, id: this.lastId });
      return;
    }
    this.data.push(text);
    const parsed: unknown = JSON.parse(text);
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      this.#frames.push(m as ServerMessage);
    }
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async #wait(deadline: number, what: string): Promise<void> {
    if (this.#done) throw new Error(`Stream ended while waiting for ${what}`);
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`Timed out waiting for ${what}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, remaining);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The next frame of `type` (others are skipped with `skip`, else an error). */
  async next<T extends ServerMessage["type"]>(
    type: T,
    options: { skip?: boolean; timeoutMs?: number } = {},
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    while (true) {
      while (this.#frames.length > 0) {
        const m = this.#frames.shift()!;
        if (m.type === type) return m as Extract<ServerMessage, { type: T }>;
        if (!options.skip) {
          throw new Error(`Expected "${type}", got ${JSON.stringify(m)}`);
        }
      }
      await this.#wait(deadline, `"${type}"`);
    }
  }

  /** The next frame, whatever its type. */
  async take(timeoutMs = 10_000): Promise<ServerMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.#frames.length === 0) await this.#wait(deadline, "a frame");
    return this.#frames.shift()!;
  }

  /** The next named event `name` (consumed; earlier others are kept). */
  async nextNamed(name: string, timeoutMs = 10_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const i = this.named.findIndex((e) => e.event === name);
      if (i >= 0) return this.named.splice(i, 1)[0]!;
      await this.#wait(deadline, `event "${name}"`);
    }
  }

  /** POSTs `body` (objects JSON-encoded) to this stream's session. */
  post(
    body: unknown,
    options: {
      headers?: Record<string, string>;
      session?: string;
      query?: string;
    } = {},
  ): Promise<Response> {
    return fetch(
      `${this.base}/sse/${options.session ?? this.session}${
        options.query ?? this.query
      }`,
      {
        method: "POST",
        headers: { "content-type": "application/json", ...options.headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      },
    );
  }

  /** Aborts the stream (as a client going away). */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.ended;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
