/**
 * Raw sockets that have not closed yet, counted per client IP, so the edge
 * can enforce connection caps and shutdown can wait for close handshakes.
 *
 * @module
 */

/** What is tracked: a WebSocket, or an SSE stream (lib/sse), until its `close` event. */
export interface ClosingTarget {
  addEventListener(type: "close", listener: () => void): void;
}

/** Open sockets (and SSE streams) by client IP. */
export class OpenSockets {
  #sockets = new Map<object, string>();
  #perIp = new Map<string, number>();
  #waiters = new Set<() => void>();

  /** Number of sockets not yet closed. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Open sockets from `ip`. */
  countFrom(ip: string): number {
    return this.#perIp.get(ip) ?? 0;
  }

  /** Tracks `socket` from `ip` until its `close` event. */
  add(socket: ClosingTarget, ip: string): void {
    this.hold(socket, ip);
    socket.addEventListener("close", () => this.release(socket));
  }

  /**
   * Tracks `socket` from `ip` until {@linkcode OpenSockets.release}: for a
   * caller that has a `close` listener of its own (one listener per socket,
   * not two).
   */
  hold(socket: object, ip: string): void {
    this.#sockets.set(socket, ip);
    this.#perIp.set(ip, this.countFrom(ip) + 1);
  }

  /** Resolves true once every socket closed, or false after `timeoutMs`. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.#sockets.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(value);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#waiters.add(wake);
    });
  }

  /** Stops tracking `socket` (closed). Idempotent: `close` can fire twice. */
  release(socket: object): void {
    const ip = this.#sockets.get(socket);
    if (ip === undefined) return; // close can fire twice
    this.#sockets.delete(socket);
    const left = this.countFrom(ip) - 1;
    if (left > 0) this.#perIp.set(ip, left);
    else this.#perIp.delete(ip);
    if (this.#sockets.size === 0) {
      for (const wake of this.#waiters) wake();
    }
  }
}
