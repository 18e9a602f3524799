/**
 * Dashboard sessions. A session is a signed cookie value
 * `<id>.<expiresAt>.<mac>`: `id` is 16 random bytes, `mac` an HMAC-SHA-256
 * under a key derived from the login token, so every isolate and node that
 * shares the token accepts the session (a load balancer or `SO_REUSEPORT`
 * may send each request elsewhere). Its CSRF token is derived the same way.
 * Nothing of the token itself is in either.
 *
 * Bounded: each isolate counts the sessions it created (at most
 * `maxSessions`; a login past it revokes the oldest) and keeps revocations
 * (logout, eviction, and those other nodes announce over the bus) until the
 * session would have expired, at most `maxRevoked`.
 *
 * @module
 */

/** One logged-in operator. */
export interface Session {
  /** The random part: what a revocation names. */
  readonly id: string;
  /** The cookie value. */
  readonly cookie: string;
  /** Sent back in `X-CSRF-Token` with every action. */
  readonly csrf: string;
  /** When it ends, ms since the Unix epoch. */
  readonly expiresAt: number;
}

/** Options of {@linkcode SessionStore}. */
export interface SessionStoreOptions {
  /** The login token the keys derive from (the same on every node). */
  secret: string;
  /** Sessions this isolate holds at once; a new one past it revokes the oldest. */
  maxSessions: number;
  /** Revocations kept at once (each until its session would expire). @default {16 × maxSessions} */
  maxRevoked?: number;
  /** Lifetime of a session from its login, ms. */
  ttlMs: number;
  /** Clock, ms since the Unix epoch. @default {Date.now} */
  now?: () => number;
  /** Told the number of sessions created here and still live, after every change. */
  onSize?: (size: number) => void;
  /** Told every revocation made here (to announce it to the other nodes). */
  onRevoke?: (id: string, expiresAt: number) => void;
}

/** Longest cookie accepted from a request (real ones are about 80 characters). */
const MAX_COOKIE_LENGTH = 200;
const encoder = new TextEncoder();

/**
 * Creates, checks and revokes sessions.
 *
 * @example Usage
 * ```ts
 * import { SessionStore } from "./sessions.ts";
 * import assert from "node:assert/strict";
 *
 * const store = new SessionStore({ secret: "t0ken", maxSessions: 2, ttlMs: 60_000 });
 * const session = await store.create();
 * assert.equal((await store.get(session.cookie))?.id, session.id);
 * store.revoke(session.id, session.expiresAt);
 * assert.equal(await store.get(session.cookie), undefined);
 * ```
 */
export class SessionStore {
  /** Sessions created here: id → expiry, oldest first. */
  readonly #mine = new Map<string, number>();
  /** Revoked ids → when their session would have expired. */
  readonly #revoked = new Map<string, number>();
  readonly #options: SessionStoreOptions;
  readonly #now: () => number;
  readonly #key: Promise<CryptoKey>;

  /** A store whose keys derive from `options.secret`. */
  constructor(options: SessionStoreOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#key = (async () => {
      const seed = await crypto.subtle.digest(
        "SHA-256",
        encoder.encode(`roomcast admin session v1\n${options.secret}`),
      );
      return await crypto.subtle.importKey(
        "raw",
        seed,
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
    })();
  }

  /** Live sessions created on this isolate. */
  get size(): number {
    return this.#mine.size;
  }

  /** Revocations held. */
  get revoked(): number {
    return this.#revoked.size;
  }

  /** Starts a session; past `maxSessions` the oldest made here is revoked. */
  async create(): Promise<Session> {
    this.sweep();
    while (this.#mine.size >= this.#options.maxSessions) {
      const oldest = this.#mine.entries().next().value;
      if (oldest === undefined) break;
      this.revoke(oldest[0], oldest[1]);
    }
    const id = base64url(crypto.getRandomValues(new Uint8Array(16)));
    const expiresAt = this.#now() + this.#options.ttlMs;
    const body = `${id}.${expiresAt}`;
    const session: Session = {
      id,
      cookie: `${body}.${await this.#mac(body)}`,
      csrf: await this.#mac(`csrf.${id}`),
      expiresAt,
    };
    this.#mine.set(id, expiresAt);
    this.#options.onSize?.(this.#mine.size);
    return session;
  }

  /** The live session a cookie value names, if it is genuine, unexpired and not revoked. */
  async get(cookie: string | undefined): Promise<Session | undefined> {
    if (cookie === undefined || cookie.length > MAX_COOKIE_LENGTH) {
      return undefined;
    }
    const match = /^([A-Za-z0-9_-]{22})\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/
      .exec(cookie);
    if (match === null) return undefined;
    const [, id = "", expiry = "", mac = ""] = match;
    const expiresAt = Number(expiry);
    if (!sameText(mac, await this.#mac(`${id}.${expiry}`))) return undefined;
    if (expiresAt <= this.#now() || this.#revoked.has(id)) return undefined;
    return { id, cookie, csrf: await this.#mac(`csrf.${id}`), expiresAt };
  }

  /**
   * Ends a session everywhere this store hears of it: logout, eviction, or
   * a revocation announced by another node. Made here (not announced),
   * it is told to `onRevoke`.
   */
  revoke(id: string, expiresAt: number, announced = false): void {
    if (expiresAt <= this.#now() || this.#revoked.has(id)) return;
    const max = this.#options.maxRevoked ?? 16 * this.#options.maxSessions;
    if (this.#revoked.size >= max) this.sweep();
    if (this.#revoked.size >= max) {
      // Forget the revocation that expires first.
      let first: [string, number] | undefined;
      for (const entry of this.#revoked) {
        if (first === undefined || entry[1] < first[1]) first = entry;
      }
      if (first !== undefined) this.#revoked.delete(first[0]);
    }
    this.#revoked.set(id, expiresAt);
    if (this.#mine.delete(id)) this.#options.onSize?.(this.#mine.size);
    if (!announced) this.#options.onRevoke?.(id, expiresAt);
  }

  /** Forgets expired sessions and revocations. */
  sweep(): void {
    const now = this.#now();
    const before = this.#mine.size;
    for (const [id, at] of this.#mine) if (at <= now) this.#mine.delete(id);
    for (const [id, at] of this.#revoked) {
      if (at <= now) this.#revoked.delete(id);
    }
    if (this.#mine.size !== before) this.#options.onSize?.(this.#mine.size);
  }

  async #mac(text: string): Promise<string> {
    const key = await this.#key;
    return base64url(
      new Uint8Array(
        await crypto.subtle.sign("HMAC", key, encoder.encode(text)),
      ),
    );
  }
}

/** Bytes in base64url without padding. */
export function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-")
    .replaceAll("/", "_").replaceAll("=", "");
}

/**
 * Whether two strings are equal, in time that depends only on their
 * lengths, never on where they first differ (MACs, CSRF tokens).
 */
export function sameText(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) {
    diff |= a.charCodeAt(i) ^ (b.charCodeAt(i % Math.max(1, b.length)) || 0);
  }
  return diff === 0;
}
