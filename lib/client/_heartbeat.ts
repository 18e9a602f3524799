/**
 * The client side of the app-level heartbeat (internal): a `ping` every
 * `heartbeatMs`, and a watchdog that fires when the server stays silent for
 * too long. Browsers cannot see protocol-level pings, and a half-open TCP
 * connection is silent, so this is how a dead link is noticed.
 *
 * @module
 */

import { CLIENT_CLOSE_CODE } from "./errors.ts";

/** What the heartbeat drives. */
export interface HeartbeatHooks {
  /** Sends one `{type:"ping"}`. */
  ping(): void;
  /** The watchdog fired: close the connection with `code` and reconnect. */
  timeout(code: number, reason: string): void;
}

/** One connection's ping interval and silence watchdog. */
export class Heartbeat {
  readonly #hooks: HeartbeatHooks;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #interval: ReturnType<typeof setInterval> | undefined;
  /** Longest tolerated silence once welcomed; 0 before `welcome`. */
  #silenceMs = 0;

  /** Creates a stopped heartbeat. */
  constructor(hooks: HeartbeatHooks) {
    this.#hooks = hooks;
  }

  /** Arms the connect deadline: `welcome` must arrive within `ms`. */
  connecting(ms: number): void {
    this.stop();
    this.#watchdog = setTimeout(
      () =>
        this.#hooks.timeout(
          CLIENT_CLOSE_CODE.CONNECT_TIMEOUT,
          `No welcome from the server within ${ms} ms`,
        ),
      ms,
    );
  }

  /**
   * Starts pinging every `heartbeatMs` and tolerates `heartbeatMs + graceMs`
   * of silence. A `heartbeatMs` of 0 (or less) disables both.
   */
  start(heartbeatMs: number, graceMs: number): void {
    this.stop();
    if (heartbeatMs <= 0) return;
    this.#silenceMs = heartbeatMs + graceMs;
    this.#interval = setInterval(() => this.#hooks.ping(), heartbeatMs);
    this.frame();
  }

  /** A frame arrived: the link is alive, restart the watchdog. */
  frame(): void {
    if (this.#silenceMs === 0) return;
    clearTimeout(this.#watchdog);
    const ms = this.#silenceMs;
    this.#watchdog = setTimeout(
      () =>
        this.#hooks.timeout(
          CLIENT_CLOSE_CODE.HEARTBEAT_TIMEOUT,
          `No frame from the server for ${ms} ms`,
        ),
      ms,
    );
  }

  /** Stops the interval and the watchdog. */
  stop(): void {
    clearTimeout(this.#watchdog);
    clearInterval(this.#interval);
    this.#watchdog = this.#interval = undefined;
    this.#silenceMs = 0;
  }
}
