/**
 * Dashboard sessions: random ids handed out at login (in an HttpOnly
 * cookie), each with its own CSRF token, bounded in count and expiring.
 * Held in the memory of one isolate: with several isolates behind one port
 * a session works only on the isolate that created it (see `docs/admin.md`).
 *
 * @module
 */

/** One logged-in operator. */
export interface Session {
  /** The cookie value: 32 random bytes, base64url. */
  readonly id: string;
  /** Sent back in `X-CSRF-Token` with every action: 32 random bytes, base64url. */
  readonly csrf: string;
  /** When it ends, ms since the Unix epoch. */
  readonly expiresAt: number;
}

/** Options of {@linkcode SessionStore}. */
export interface SessionStoreOptions {
  /** Most sessions held at once; a new one past it ends the oldest. */
  maxSessions: number;
  /** Lifetime of a session from its login, ms. */
  ttlMs: number;
  /** Clock, ms since the Unix epoch. @default {Date.now} */
  now?: () => number;
  /** Told the number of sessions after every change. */
  onSize?: (size: number) => void;
}

/** Longest id or token accepted from a request (real ones are 43 characters). */
const MAX_ID_LENGTH = 64;

/**
 * Sessions by id, oldest first.
 *
 * @example Usage
 * ```ts
 * import { SessionStore } from "./sessions.ts";
 * import assert from "node:assert/strict";
 *
 * const store = new SessionStore({ maxSessions: 2, ttlMs: 60_000 });
 * const session = store.create();
 * assert.equal(store.get(session.id), session);
 * store.delete(session.id);
 * assert.equal(store.get(session.id), undefined);
 * ```
 */
export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #options: SessionStoreOptions;
  readonly #now: () => number;

  /** An empty store. */
  constructor(options: SessionStoreOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Sessions held (expired ones included until the next sweep). */
  get size(): number {
    return this.#sessions.size;
  }

  /** Starts a session; past `maxSessions` the oldest ends. */
  create(): Session {
    this.sweep();
    while (this.#sessions.size >= this.#options.maxSessions) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const session: Session = {
      id: randomToken(),
      csrf: randomToken(),
      expiresAt: this.#now() + this.#options.ttlMs,
    };
    this.#sessions.set(session.id, session);
    this.#options.onSize?.(this.#sessions.size);
    return session;
  }

  /** The live session of `id`, if any (an expired one is removed). */
  get(id: string | undefined): Session | undefined {
    if (id === undefined || id.length > MAX_ID_LENGTH) return undefined;
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.#now()) {
      this.delete(id);
      return undefined;
    }
    return session;
  }

  /** Ends a session (logout). */
  delete(id: string): void {
    if (this.#sessions.delete(id)) this.#options.onSize?.(this.#sessions.size);
  }

  /** Removes every expired session. */
  sweep(): void {
    const now = this.#now();
    let removed = false;
    for (const [id, session] of this.#sessions) {
      if (session.expiresAt <= now) {
        this.#sessions.delete(id);
        removed = true;
      }
    }
    if (removed) this.#options.onSize?.(this.#sessions.size);
  }
}

/** 32 random bytes, base64url without padding. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-")
    .replaceAll("/", "_").replaceAll("=", "");
}

/**
 * Whether two strings are equal, in time that depends only on their
 * lengths, never on where they first differ (CSRF tokens).
 */
export function sameText(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) {
    diff |= a.charCodeAt(i) ^ (b.charCodeAt(i % Math.max(1, b.length)) || 0);
  }
  return diff === 0;
}
