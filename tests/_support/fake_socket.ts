/**
 * A WebSocket stand-in for unit tests of the pure core: records what was
 * sent and how it was closed; `bufferedAmount` and failures are settable.
 *
 * @module
 */

import type { SocketLike } from "../../lib/rooms/connection.ts";

/** An in-memory socket for unit tests. */
export class FakeSocket implements SocketLike {
  readyState = 1;
  #buffered = 0;
  /** How many times `bufferedAmount` was read (a runtime call on a real socket). */
  bufferedReads = 0;
  /** Text frames sent, in order. */
  readonly sent: string[] = [];
  /** The close code and reason, once closed. */
  closedWith: { code: number; reason: string } | undefined;
  /** When set, `send` throws this. */
  failWith: Error | undefined;
  #onSend = new Set<() => void>();

  /** Settable; reads are counted. */
  get bufferedAmount(): number {
    this.bufferedReads += 1;
    return this.#buffered;
  }
  set bufferedAmount(value: number) {
    this.#buffered = value;
  }

  send(data: string): void {
    if (this.failWith) throw this.failWith;
    this.sent.push(data);
    for (const wake of this.#onSend) wake();
  }

  /** Resolves once `count` raw frames (of any kind) were sent. */
  waitForFrames(count: number, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#onSend.delete(check);
        reject(new Error(`Timed out waiting for ${count} frames`));
      }, timeoutMs);
      const check = () => {
        if (this.sent.length < count) return;
        this.#onSend.delete(check);
        clearTimeout(timer);
        resolve();
      };
      this.#onSend.add(check);
      check();
    });
  }

  /**
   * Resolves once `count` frames of `type` were sent; rejects after
   * `timeoutMs` (a safety net against a hung test, not a timing assertion).
   */
  waitFor(type: string, count: number, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#onSend.delete(check);
        reject(new Error(`Timed out waiting for ${count} "${type}" frames`));
      }, timeoutMs);
      const check = () => {
        if (this.messages(type).length < count) return;
        this.#onSend.delete(check);
        clearTimeout(timer);
        resolve();
      };
      this.#onSend.add(check);
      check();
    });
  }

  close(code = 1000, reason = ""): void {
    this.closedWith = { code, reason };
    this.readyState = 2;
  }

  /** Sent frames decoded, optionally only those of one `type`. */
  messages(type?: string): Array<Record<string, unknown>> {
    const all = this.sent.map((s) => JSON.parse(s));
    return type === undefined ? all : all.filter((m) => m.type === type);
  }
}
