/**
 * No sticky sessions: a POST that reaches an isolate other than the one
 * holding its session's stream is carried there as an `sse-post` bus event;
 * the holder applies it and answers with an `sse-reply`, and the POST is
 * answered with that (or 504 `route_timeout` when no answer came in time:
 * the bus may drop a post, and then whether it was applied is unknown).
 *
 * @module
 */

import type { Bus } from "../bus/bus.ts";
import type { Metrics } from "../support/metrics.ts";
import type { PostResult, SseSessions } from "./sessions.ts";

/** Options for {@linkcode SseRouter}. */
export interface SseRouterOptions {
  bus: Bus;
  sessions: SseSessions;
  /** How long a routed POST waits for its answer, ms. */
  timeoutMs: number;
  /** Routed POSTs waiting at once; more are refused (503). */
  maxPending: number;
  metrics: Metrics;
}

/** Routes POSTs to the isolate holding their session, and serves those routed here. */
export class SseRouter {
  readonly #options: SseRouterOptions;
  readonly #pending = new Map<number, (result: PostResult) => void>();
  readonly #unsubscribe: () => void;
  #nextId = 0;

  /** Subscribes to the bus. */
  constructor(options: SseRouterOptions) {
    this.#options = options;
    const { bus, sessions, metrics } = options;
    this.#unsubscribe = bus.subscribe((event) => {
      if (event.kind === "sse-post" && event.to === sessions.key) {
        const result = sessions.applyRouted(
          event.session,
          event.principal,
          event.frames,
        );
        metrics.inc("sse_routed_total", 1, `served_${result.code}`);
        bus.publish({
          kind: "sse-reply",
          to: event.from,
          id: event.id,
          ...result,
        });
      } else if (event.kind === "sse-reply" && event.to === sessions.key) {
        const { status, code, message, applied, tokens } = event;
        this.#pending.get(event.id)?.(
          tokens === undefined
            ? { status, code, message, applied }
            : { status, code, message, applied, tokens },
        );
      }
    });
  }

  /** Sends `frames` for `session` (held by node key `to`) and waits for the answer. */
  route(
    to: string,
    session: string,
    principal: string,
    frames: string[],
  ): Promise<PostResult> {
    const { bus, sessions, timeoutMs, maxPending, metrics } = this.#options;
    if (this.#pending.size >= maxPending) {
      metrics.inc("sse_routed_total", 1, "refused");
      return Promise.resolve({
        status: 503,
        code: "capacity",
        message: "Too many POSTs waiting for other isolates; retry",
        applied: 0,
      });
    }
    const id = ++this.#nextId;
    return new Promise((resolve) => {
      const done = (result: PostResult) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        metrics.inc("sse_routed_total", 1, `sent_${result.code}`);
        resolve(result);
      };
      const timer = setTimeout(() =>
        done({
          status: 504,
          code: "route_timeout",
          message:
            "The isolate holding this session did not answer in time; whether it applied the commands is unknown",
          applied: 0,
        }), timeoutMs);
      this.#pending.set(id, done);
      bus.publish({
        kind: "sse-post",
        to,
        from: sessions.key,
        id,
        session,
        principal,
        frames,
      });
    });
  }

  /** Stops serving and answers every waiting POST with 503. */
  close(): void {
    this.#unsubscribe();
    for (const done of [...this.#pending.values()]) {
      done({
        status: 503,
        code: "draining",
        message: "The server is shutting down; retry",
        applied: 0,
      });
    }
  }
}
