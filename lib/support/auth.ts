/**
 * Client authentication: JSON Web Tokens checked with Web Crypto before any
 * socket exists. The algorithm is fixed by configuration, never taken from
 * the token (a header naming another algorithm, `none` included, is
 * refused); `exp` and `nbf` are checked with a small leeway.
 *
 * Claims: `sub` (member id, never starting with `anon:`), `name` (display name), `rooms` (patterns the user
 * may join; absent: every room), `publish` (patterns the user may publish to;
 * absent: the same as `rooms`). A pattern is an exact room name or a prefix
 * ending in `*`.
 *
 * @module
 */

/** A supported signing algorithm. */
export type JwtAlgorithm = "HS256" | "RS256" | "ES256";

/** Why a token was refused (a stable code, used in logs and metrics). */
export type AuthFailure =
  | "malformed"
  | "algorithm"
  | "signature"
  | "expired"
  | "not_yet_valid"
  | "audience"
  | "issuer"
  | "claims";

/**
 * The namespace of anonymous member ids when the server also accepts tokens
 * (`anon:<user>`): a token whose `sub` starts with it is refused, so an
 * anonymous client can never take a verified subject's identity.
 */
export const ANONYMOUS_PREFIX = "anon:";

/** A refused token. The message never contains the token. */
export class AuthError extends Error {
  /** Why it was refused. */
  readonly reason: AuthFailure;

  /** Creates an error for `reason`. */
  constructor(reason: AuthFailure, message: string) {
    super(message);
    this.name = "AuthError";
    this.reason = reason;
  }
}

/** Who a connection is and what it may do. */
export interface Principal {
  /** Member id (the token's `sub`). */
  id: string;
  /** Display name from the token, if any. */
  name?: string;
  /** Whether the connection may join (and see presence of) `room`. */
  canJoin(room: string): boolean;
  /** Whether the connection may publish to `room`. */
  canPublish(room: string): boolean;
  /** Expiry, ms since the Unix epoch, if the token has one. */
  expiresAt?: number;
}

/** Options for {@linkcode createVerifier}. */
export interface VerifierOptions {
  algorithm: JwtAlgorithm;
  /** The HS256 secret, or the PEM (SPKI) public key for RS256/ES256. */
  key: string;
  /** Required `aud` (exact, or one of an array claim). */
  audience?: string;
  /** Required `iss`. */
  issuer?: string;
  /** Leeway for `exp` and `nbf`, seconds. @default {30} */
  leewayS?: number;
  /** Clock, ms since the Unix epoch. @default {Date.now} */
  now?: () => number;
}

/** Checks a token and returns its principal. */
export type Verifier = (token: string) => Promise<Principal>;

/**
 * Creates a verifier for one algorithm and key.
 *
 * @example Usage
 * ```ts
 * import { createVerifier, signHs256 } from "./auth.ts";
 * import assert from "node:assert/strict";
 *
 * const secret = "a-long-enough-secret";
 * const verify = await createVerifier({ algorithm: "HS256", key: secret });
 * const token = await signHs256({ sub: "ann", rooms: ["team:*"] }, secret);
 * const ann = await verify(token);
 * assert.equal(ann.canJoin("team:blue"), true);
 * assert.equal(ann.canJoin("lobby"), false);
 * ```
 */
export async function createVerifier(
  options: VerifierOptions,
): Promise<Verifier> {
  const key = await importKey(options.algorithm, options.key);
  const now = options.now ?? Date.now;
  const leewayMs = (options.leewayS ?? 30) * 1000;
  return async (token) => {
    const parts = token.split(".");
    if (parts.length !== 3) throw new AuthError("malformed", "Malformed token");
    const [head, body, sig] = parts as [string, string, string];
    const header = decodeJson(head);
    if (header?.alg !== options.algorithm) {
      throw new AuthError(
        "algorithm",
        `Token algorithm must be ${options.algorithm}`,
      );
    }
    const signature = decodeBase64Url(sig);
    const data = new TextEncoder().encode(`${head}.${body}`);
    if (
      signature === undefined ||
      !await crypto.subtle.verify(
        params(options.algorithm),
        key,
        signature,
        data,
      )
    ) {
      throw new AuthError("signature", "Bad token signature");
    }
    const claims = decodeJson(body);
    if (claims === undefined) throw new AuthError("malformed", "Bad claims");
    return toPrincipal(claims, now(), leewayMs, options);
  };
}

/** Signs HS256 claims (the dev token endpoint and tests). */
export async function signHs256(
  claims: Record<string, unknown>,
  secret: string,
): Promise<string> {
  const head = encodeBase64Url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = encodeBase64Url(JSON.stringify(claims));
  const key = await importKey("HS256", secret, ["sign"]);
  const sig = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`${head}.${body}`),
  );
  return `${head}.${body}.${encodeBase64Url(new Uint8Array(sig))}`;
}

/** Whether `room` matches a pattern list (exact names or prefixes ending in `*`). */
export function matchesAny(room: string, patterns: readonly string[]): boolean {
  return patterns.some((p) =>
    p.endsWith("*") ? room.startsWith(p.slice(0, -1)) : room === p
  );
}

function toPrincipal(
  claims: Record<string, unknown>,
  now: number,
  leewayMs: number,
  options: VerifierOptions,
): Principal {
  const { sub, name, rooms, publish, exp, nbf, aud, iss } = claims;
  if (typeof exp === "number" && exp * 1000 + leewayMs < now) {
    throw new AuthError("expired", "Token expired");
  }
  if (typeof nbf === "number" && nbf * 1000 - leewayMs > now) {
    throw new AuthError("not_yet_valid", "Token not valid yet");
  }
  if (
    (exp !== undefined && typeof exp !== "number") ||
    (nbf !== undefined && typeof nbf !== "number")
  ) {
    throw new AuthError("claims", "exp and nbf must be numbers");
  }
  if (options.audience) {
    const auds = Array.isArray(aud) ? aud : [aud];
    if (!auds.includes(options.audience)) {
      throw new AuthError("audience", "Wrong token audience");
    }
  }
  if (options.issuer && iss !== options.issuer) {
    throw new AuthError("issuer", "Wrong token issuer");
  }
  if (typeof sub !== "string" || sub === "" || sub.length > 128) {
    throw new AuthError("claims", "sub must be a string of 1-128 characters");
  }
  if (sub.startsWith(ANONYMOUS_PREFIX)) {
    throw new AuthError(
      "claims",
      `sub must not start with ${ANONYMOUS_PREFIX} (anonymous clients' namespace)`,
    );
  }
  if (name !== undefined && (typeof name !== "string" || name.length > 128)) {
    throw new AuthError(
      "claims",
      "name must be a string of at most 128 characters",
    );
  }
  const joinable = patterns(rooms, "rooms");
  const publishable = patterns(publish, "publish") ?? joinable;
  const principal: Principal = {
    id: sub,
    canJoin: (room) => joinable === undefined || matchesAny(room, joinable),
    canPublish: (room) =>
      publishable === undefined || matchesAny(room, publishable),
  };
  if (typeof name === "string") principal.name = name;
  if (typeof exp === "number") principal.expiresAt = exp * 1000;
  return principal;
}

function patterns(value: unknown, claim: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (
    !Array.isArray(value) ||
    !value.every((p): p is string => typeof p === "string" && p !== "")
  ) {
    throw new AuthError("claims", `${claim} must be an array of room patterns`);
  }
  return value;
}

function params(algorithm: JwtAlgorithm): AlgorithmIdentifier | EcdsaParams {
  switch (algorithm) {
    case "HS256":
      return "HMAC";
    case "RS256":
      return "RSASSA-PKCS1-v1_5";
    case "ES256":
      return { name: "ECDSA", hash: "SHA-256" };
  }
}

async function importKey(
  algorithm: JwtAlgorithm,
  key: string,
  usages: KeyUsage[] = ["verify"],
): Promise<CryptoKey> {
  if (algorithm === "HS256") {
    if (key.length < 16) {
      throw new RangeError("Invalid AUTH_SECRET: use at least 16 characters");
    }
    return await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(key),
      { name: "HMAC", hash: "SHA-256" },
      false,
      usages,
    );
  }
  const der = decodeBase64(
    key.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, ""),
  );
  if (der === undefined) {
    throw new RangeError("Invalid AUTH_PUBLIC_KEY: expected a PEM public key");
  }
  return await crypto.subtle.importKey(
    "spki",
    der,
    algorithm === "RS256"
      ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }
      : { name: "ECDSA", namedCurve: "P-256" },
    false,
    usages,
  );
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64Url(part);
  if (bytes === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return undefined;
    }
    return Object.fromEntries(Object.entries(value));
  } catch {
    return undefined;
  }
}

function decodeBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  return decodeBase64(text.replaceAll("-", "+").replaceAll("_", "/"));
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const binary = atob(text + "=".repeat((4 - text.length % 4) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function encodeBase64Url(data: string | Uint8Array): string {
  const bytes = typeof data === "string"
    ? new TextEncoder().encode(data)
    : data;
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}
