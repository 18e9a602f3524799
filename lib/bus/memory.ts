/**
 * An in-memory bus transport for tests: several endpoints on one
 * {@linkcode MemoryNetwork} see each other's posts, delivered asynchronously
 * like BroadcastChannel, with optional injected loss.
 *
 * @module
 */

import { type BusPost, type BusTransport, parseBusPost } from "./bus.ts";

/** Options for {@linkcode MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /** Decides per delivery whether a post is lost (to test gap handling). @default {() => false} */
  drop?: (post: BusPost, receiver: number) => boolean;
}

/** A set of connected in-memory transports. */
export class MemoryNetwork {
  #endpoints = new Map<number, (topic: string, text: string) => void>();
  #next = 0;
  #drop: (post: BusPost, receiver: number) => boolean;

  /** Creates an empty network. */
  constructor(options: MemoryNetworkOptions = {}) {
    this.#drop = options.drop ?? (() => false);
  }

  /** Adds an endpoint and returns its transport. */
  connect(): BusTransport {
    const id = this.#next++;
    const endpoints = this.#endpoints;
    const drop = this.#drop;
    let handler: (topic: string, text: unknown) => void = () => {};
    endpoints.set(id, (topic, text) => handler(topic, text));
    return {
      post(topic, text) {
        const post = parseBusPost(JSON.parse(text));
        for (const [peer, deliver] of endpoints) {
          if (peer === id) continue;
          if (typeof post !== "string" && drop(post, peer)) continue;
          queueMicrotask(() => deliver(topic, text));
        }
      },
      onPost(h) {
        handler = h;
      },
      close() {
        endpoints.delete(id);
      },
    };
  }
}
