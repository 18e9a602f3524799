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
  /** The session's `socket_id`: its own events are not echoed to it. */
  socketId: string;
  translator: FrameTranslator;
  output: SessionOutput;
  /** Closes the session with the hub's close code and reason. */
  close(code: number | undefined, reason: string | undefined): void;
}

/**
 * A hub connection's socket inside a Pusher session. A room message, the
 * one frame sent once per recipient, goes straight to the client socket: the
 * hub's `Connection.send` read `readyState` just before (synchronously, and a
 * closed session's hub connections are gone), so only the echo check is
 * left. Everything else goes through the session's output.
 */
export class HubSocket implements SocketLike {
  readonly #socket: SocketLike;
  readonly #socketId: string;
  readonly #translator: FrameTranslator;
  readonly #output: SessionOutput;
  readonly #close: HubSocketTarget["close"];

  /** Forwards to `target`. */
  constructor(target: HubSocketTarget) {
    this.#socket = target.socket;
    this.#socketId = target.socketId;
    this.#translator = target.translator;
    this.#output = target.output;
    this.#close = target.close;
  }

  /** The client socket's state. */
  get readyState(): number {
    return this.#socket.readyState;
  }

  /** The client socket's queued bytes. */
  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  /** Translates a hub frame and sends what it becomes. */
  send(frame: string): void {
    const out = this.#translator.translate(frame);
    if (out.kind !== "message") {
      this.#output.fromHub(out);
      return;
    }
    if (out.from === this.#socketId) return;
    try {
      this.#socket.send(out.frame);
    } catch {
      this.#output.sendFailed();
    }
  }

  /** Closes the session. */
  close(code?: number, reason?: string): void {
    this.#close(code, reason);
  }
}
