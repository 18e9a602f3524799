/**
 * Which transport the next connection attempt uses (internal): WebSocket
 * first; after `fallbackAfter` WebSocket attempts in a row that ended before
 * the server's `welcome` (refused, dropped, or silent), the SSE fallback;
 * the choice is remembered for the session (`sessionStorage` where there is
 * one); while on SSE, a WebSocket probe now and then (backing off) tells
 * when WebSocket works again.
 *
 * A WebSocket that has reached `welcome` in this client's life is trusted:
 * its later failures are outages (a server restart looks the same as a
 * block), not a reason to fall back.
 *
 * @module
 */

import type { Transport, TransportStorage } from "./transport_types.ts";

/** Settings of {@linkcode Transports}. */
export interface TransportOptions {
  transports: Transport[];
  fallbackAfter: number;
  probeIntervalMs: number;
  storage: TransportStorage;
  /** The key the choice is stored under (one per server endpoint). */
  key: string;
}

/** Longest probe interval, as a multiple of `probeIntervalMs`. */
export const MAX_PROBE_FACTOR = 16;

/** The transport choice and its bookkeeping. */
export class Transports {
  readonly #options: TransportOptions;
  #current: Transport;
  #failures = 0;
  #trusted = false;
  #probes = 0;

  /** Starts on the stored choice when it is allowed, else on the first allowed. */
  constructor(options: TransportOptions) {
    this.#options = options;
    const [first = "websocket"] = options.transports;
    const stored = readStored(options.storage, options.key);
    this.#current = stored !== undefined && options.transports.includes(stored)
      ? stored
      : first;
  }

  /** The transport in use (or to be used by the next attempt). */
  get current(): Transport {
    return this.#current;
  }

  /** Whether WebSocket probes are due: on SSE with WebSocket allowed. */
  get probing(): boolean {
    return this.#current === "sse" &&
      this.#options.transports.includes("websocket");
  }

  /** The delay before the next probe (grows with each failed one). */
  get probeDelayMs(): number {
    const factor = Math.min(2 ** this.#probes, MAX_PROBE_FACTOR);
    return this.#options.probeIntervalMs * factor;
  }

  /** The current transport reached `welcome`. */
  welcomed(): void {
    this.#failures = 0;
    if (this.#current === "websocket") this.#trusted = true;
  }

  /**
   * An attempt ended before `welcome`. Returns true when that moved the
   * client to SSE.
   */
  failed(): boolean {
    if (this.#current !== "websocket" || this.#trusted) return false;
    if (!this.#options.transports.includes("sse")) return false;
    if (++this.#failures < this.#options.fallbackAfter) return false;
    this.#failures = 0;
    this.#set("sse");
    return true;
  }

  /** A probe failed: the next waits longer. */
  probeFailed(): void {
    this.#probes++;
  }

  /** A probe reached `welcome`: WebSocket again (and trusted). */
  probeSucceeded(): void {
    this.#probes = 0;
    this.#trusted = true;
    this.#set("websocket");
  }

  #set(transport: Transport): void {
    this.#current = transport;
    const { storage, key } = this.#options;
    try {
      if (transport === "sse") storage.setItem(key, transport);
      else storage.removeItem(key);
    } catch {
      // Storage refused (quota, privacy mode): remembered in memory only.
    }
  }
}

function readStored(
  storage: TransportStorage,
  key: string,
): Transport | undefined {
  try {
    const value = storage.getItem(key);
    return value === "sse" || value === "websocket" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A `Storage`-like map in memory, for runtimes without `sessionStorage`. */
export function memoryStorage(): TransportStorage {
  const map = new Map<string, string>();
  return {
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

/**
 * A browser page's `sessionStorage` (the tab's session), else memory (Deno's
 * `sessionStorage` would be shared by every client of the process).
 */
export function defaultStorage(): TransportStorage {
  try {
    if (!("document" in globalThis)) return memoryStorage();
    const storage: unknown = Reflect.get(globalThis, "sessionStorage");
    if (isStorage(storage)) return storage;
  } catch {
    // Access denied (sandboxed iframes): memory then.
  }
  return memoryStorage();
}

function isStorage(value: unknown): value is TransportStorage {
  return typeof value === "object" && value !== null &&
    typeof Reflect.get(value, "getItem") === "function" &&
    typeof Reflect.get(value, "setItem") === "function" &&
    typeof Reflect.get(value, "removeItem") === "function";
}
