/**
 * A tiny typed event emitter for the SDK (internal).
 *
 * @module
 */

/** A handler for one event whose payload is `T`. */
export type Handler<T> = (payload: T) => void;

/**
 * Emits events described by the map `Events` (event name to payload type).
 * A throwing handler neither stops the other handlers nor the emitter: its
 * error is rethrown in a microtask, so it still reaches the global error
 * handler (the console in browsers, a failed test under `deno test`).
 */
export class Emitter<Events extends object> {
  readonly #handlers: { [K in keyof Events]?: Set<Handler<Events[K]>> } = {};

  /** Calls `handler` on every `event`; returns a function that unsubscribes it. */
  on<K extends keyof Events>(
    event: K,
    handler: Handler<Events[K]>,
  ): () => void {
    let set = this.#handlers[event];
    if (set === undefined) {
      set = new Set();
      this.#handlers[event] = set;
    }
    // Copy the function: the same handler may be subscribed twice and each
    // unsubscribe must remove only its own registration.
    const entry: Handler<Events[K]> = (payload) => handler(payload);
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  /** Calls every handler of `event` with `payload`, in subscription order. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#handlers[event];
    if (set === undefined) return;
    for (const handler of [...set]) {
      try {
        handler(payload);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
