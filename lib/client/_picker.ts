/**
 * The client's transport (internal): which socket class the next attempt
 * uses, the fallback to SSE, and the WebSocket probes that lead back (see
 * `_transport.ts` for the rules).
 *
 * @module
 */

import type { Emitter } from "./_emitter.ts";
import type { Settings } from "./_options.ts";
import { type Probe, probe } from "./_probe.ts";
import { sseSocketClass } from "./_sse_socket.ts";
import { nextToken, protocolsFor } from "./_token.ts";
import { Transports } from "./_transport.ts";
import type { ClientEvents, WebSocketConstructor } from "./types.ts";
import type { Transport } from "./transport_types.ts";

/** How the picker moves the client back to WebSocket. */
export interface MoveHooks {
  /** Whether the connection is up with no publish or ping awaiting its answer. */
  idle(): boolean;
  /** Replaces the connection now (the next attempt uses WebSocket). */
  move(): void;
}

/** Picks the transport of each attempt and probes WebSocket while on SSE. */
export class Picker {
  readonly #settings: Settings;
  readonly #url: string;
  readonly #events: Emitter<ClientEvents>;
  readonly #transports: Transports;
  readonly #sse: WebSocketConstructor | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #probe: Probe | undefined;
  #generation = 0;
  readonly #hooks: MoveHooks;
  /** A probe got through: move once idle (then nothing is lost). */
  #due = false;

  /**
   * For the WebSocket endpoint `url`; `events` gets the `transport` events,
   * `hooks` move the client back.
   *
   * @throws {TypeError} when only `sse` is allowed and there is no `EventSource`.
   */
  constructor(
    settings: Settings,
    url: string,
    events: Emitter<ClientEvents>,
    hooks: MoveHooks,
  ) {
    this.#settings = settings;
    this.#hooks = hooks;
    this.#url = url;
    this.#events = events;
    const { EventSource, fetch } = settings;
    this.#sse = EventSource === undefined
      ? undefined
      : sseSocketClass({ EventSource, fetch });
    const transports = settings.transports.filter((t) =>
      t === "websocket" || this.#sse !== undefined
    );
    if (transports.length === 0) {
      throw new TypeError(
        'Invalid option "transports": "sse" needs an EventSource (none here)',
      );
    }
    this.#transports = new Transports({
      transports,
      fallbackAfter: settings.fallbackAfter,
      probeIntervalMs: settings.probeIntervalMs,
      storage: settings.storage,
      key: `roomcast.transport ${new URL(url).origin}`,
    });
  }

  /** The transport in use, or that the next attempt uses. */
  get current(): Transport {
    return this.#transports.current;
  }

  /** The socket class of the next attempt. */
  socketClass(): WebSocketConstructor {
    return this.#transports.current === "sse" && this.#sse !== undefined
      ? this.#sse
      : this.#settings.WebSocket;
  }

  /**
   * The connection got its `welcome`. On SSE (with WebSocket allowed), a
   * probe follows after the probe delay; once one got through, the client
   * moves as soon as it is idle.
   */
  welcomed(): void {
    this.#transports.welcomed();
    this.stop();
    if (this.#transports.probing) this.#schedule();
  }

  /** A frame arrived (maybe the last answer awaited): move if due and idle. */
  frame(): void {
    if (this.#due) this.#moveIfIdle();
  }

  /** An attempt ended before `welcome`; may move the client to SSE. */
  failed(): void {
    const previous = this.#transports.current;
    if (this.#transports.failed()) {
      this.#events.emit("transport", {
        previous,
        transport: "sse",
        cause: "fallback",
      });
    }
  }

  /** Stops probing (the connection ended, or the client closed). */
  stop(): void {
    this.#generation++;
    this.#due = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#probe?.cancel();
    this.#probe = undefined;
  }

  #schedule(): void {
    const generation = this.#generation;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      let token: ReturnType<typeof nextToken>;
      try {
        token = nextToken(this.#settings.token);
      } catch {
        return this.#answer(false, generation);
      }
      Promise.resolve(token).then(
        (value) => {
          if (generation !== this.#generation) return;
          this.#probe = probe({
            WebSocket: this.#settings.WebSocket,
            url: this.#url,
            protocols: protocolsFor(value, this.#settings.batch),
            timeoutMs: this.#settings.connectTimeoutMs,
          }, (ok) => this.#answer(ok, generation));
        },
        () => this.#answer(false, generation),
      );
    }, this.#transports.probeDelayMs);
  }

  #answer(ok: boolean, generation: number): void {
    if (generation !== this.#generation) return;
    this.#probe = undefined;
    if (!ok) {
      this.#transports.probeFailed();
      return this.#schedule();
    }
    this.#transports.probeSucceeded();
    this.#events.emit("transport", {
      previous: "sse",
      transport: "websocket",
      cause: "probe",
    });
    this.#due = true;
    this.#moveIfIdle();
  }

  #moveIfIdle(): void {
    if (!this.#hooks.idle()) return;
    this.#due = false;
    this.#hooks.move();
  }
}
