/**
 * The socket a Pusher session hands the hub for each of its hub connections:
 * frames go through the shared translator to the session's output, closes
 * close the session. A class, not an object literal with getters: a
 * literal's accessors are per-object closures, which gives every session's
 * adapter its own hidden class and turns the hub's per-recipient
 * `socket.readyState` / `socket.send` into megamorphic lookups. Instances of
 * one class share one.
 *
 * @module
 */

import type { SocketLike } from "../rooms/connection.ts";
import type { SessionOutput } from "./session_output.ts";
import type { FrameTranslator } from "./translate.ts";

/** What a {@linkcode HubSocket} forwards to. */
export interface HubSocketTarget {
  /** The client's WebSocket. */
  socket: SocketLike;
  translator: FrameTranslator;
  output: SessionOutput;
  /** Closes the session with the hub's close code and reason. */
  close(code: number | undefined, reason: string | undefined): void;
}

/** A hub connection's socket inside a Pusher session. */
export class HubSocket implements SocketLike {
  readonly #target: HubSocketTarget;

  /** Forwards to `target`. */
  constructor(target: HubSocketTarget) {
    this.#target = target;
  }

  /** The client socket's state. */
  get readyState(): number {
    return this.#target.socket.readyState;
  }

  /** The client socket's queued bytes. */
  get bufferedAmount(): number {
    return this.#target.socket.bufferedAmount;
  }

  /** Translates a hub frame and sends what it becomes. */
  send(frame: string): void {
    const { output, translator } = this.#target;
    output.fromHub(translator.translate(frame));
  }

  /** Closes the session. */
  close(code?: number, reason?: string): void {
    this.#target.close(code, reason);
  }
}
