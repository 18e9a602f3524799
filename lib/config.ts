/**
 * Configuration from environment variables, with defaults. A bad value throws
 * a `RangeError` that names the variable, so the process stops at once with a
 * message the operator can act on.
 *
 * @module
 */

import { parsePusherApps, type PusherApp } from "./pusher/apps.ts";

/** Log verbosity, most to least verbose. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Which bus links the isolates of one process. */
export type BusKind = "broadcast-channel" | "none";

/** Where room history (and the offset sequence) lives. */
export type HistoryKind = "kv" | "memory";

/** How the Deno KV history is written (see {@linkcode Config.historyWrite}). */
export type HistoryWrite = "auto" | "behind" | "through";

/** The service configuration. Every limit has a default and an environment variable. */
export interface Config {
  /** TCP port. `PORT`. @default {8000} */
  port: number;
  /** Interface to bind. `HOST`. @default {"0.0.0.0"} */
  host: string;
  /** Largest accepted client message in bytes (UTF-8); larger closes with 1009. `MAX_MESSAGE_BYTES`. @default {65536} */
  maxMessageBytes: number;
  /** Outbound bytes queued for one client before it is closed as a slow consumer (1013). `MAX_BUFFERED_BYTES`. @default {1048576} */
  maxBufferedBytes: number;
  /** Interval at which clients should send app-level `ping`, in ms. `HEARTBEAT_MS`. @default {25000} */
  heartbeatMs: number;
  /** Protocol-level idle timeout in seconds: ping after half, close 1001 after all of it. `IDLE_TIMEOUT_S`. @default {30} */
  idleTimeoutS: number;
  /** Time allowed for clients to acknowledge the close frame on shutdown, in ms. `SHUTDOWN_TIMEOUT_MS`. @default {3000} */
  shutdownTimeoutMs: number;
  /** Number of isolates (Workers) sharing the port; 0 means one per core. `WORKERS`. @default {1} */
  workers: number;
  /** Bus between isolates. `BUS`. @default {"broadcast-channel"} */
  bus: BusKind;
  /** BroadcastChannel name; processes on one machine are never linked by it. `BUS_CHANNEL`. @default {"roomcast"} */
  busChannel: string;
  /** Log verbosity. `LOG_LEVEL`. @default {"info"} */
  logLevel: LogLevel;
  /** History backend: `kv` (Deno KV, durable, shared by isolates) or `memory` (one isolate). `HISTORY`. @default {"kv"} */
  history: HistoryKind;
  /** Deno KV database path; empty means the platform default (Deno Deploy's KV). `KV_PATH`. @default {"./data/roomcast.kv", or "" on Deno Deploy} */
  kvPath: string;
  /**
   * How the Deno KV history is written: `behind` sequences in memory and
   * flushes every `historyFlushMs` (one isolate owning the file), `through`
   * commits each batch before delivery (several isolates or processes on one
   * database), `auto` picks `behind` for a local file (with `--parallel` the
   * supervisor owns it for its Workers) and `through` on Deno Deploy.
   * `HISTORY_WRITE`. @default {"auto"}
   */
  historyWrite: HistoryWrite;
  /** Longest a message waits before the write-behind flush starts, in ms. `HISTORY_FLUSH_MS`. @default {10} */
  historyFlushMs: number;
  /** Messages kept per room for resume. `HISTORY_SIZE`. @default {300} */
  historySize: number;
  /** Age of the oldest message kept for resume, in ms. `HISTORY_TTL_MS`. @default {300000} */
  historyTtlMs: number;
  /** How long a hole in a room's stream may stay open before history fills it, in ms. `REPAIR_DELAY_MS`. @default {100} */
  repairDelayMs: number;
  /** Presence heartbeat between isolates, in ms. `PRESENCE_INTERVAL_MS`. @default {5000} */
  presenceIntervalMs: number;
  /** An isolate silent this long loses its members from presence, in ms. `PRESENCE_TIMEOUT_MS`. @default {15000} */
  presenceTimeoutMs: number;
  /** Redis engine (fan-out, offsets, history, presence across processes); empty means the embedded engine. `REDIS_URL`. @default {""} */
  redisUrl: string;
  /** Namespace of roomcast's Redis keys and bus channel (several deployments on one Redis). `REDIS_PREFIX`. @default {"roomcast"} */
  redisPrefix: string;
  /** HS256 secret for client tokens. `AUTH_SECRET`. @default {""} (no HMAC tokens) */
  authSecret: string;
  /** PEM public key (SPKI) for RS256/ES256 client tokens. `AUTH_PUBLIC_KEY`. @default {""} */
  authPublicKey: string;
  /** Algorithm of tokens checked with `AUTH_PUBLIC_KEY`. `AUTH_PUBLIC_KEY_ALG`. @default {"RS256"} */
  authPublicKeyAlg: "RS256" | "ES256";
  /** Required `aud` claim, if set. `AUTH_AUDIENCE`. @default {""} */
  authAudience: string;
  /** Required `iss` claim, if set. `AUTH_ISSUER`. @default {""} */
  authIssuer: string;
  /** Clock leeway for `exp` and `nbf`, in seconds. `AUTH_LEEWAY_S`. @default {30} */
  authLeewayS: number;
  /** Accept clients without a token (identity from `?user=`). `ALLOW_ANONYMOUS`. @default {false; true for `deno task dev`} */
  allowAnonymous: boolean;
  /** Development mode (`main.ts --dev`): anonymous allowed, `POST /token` mints demo tokens. @default {false} */
  dev: boolean;
  /** Exact origins allowed to open WebSockets (comma-separated); empty means the request's own host. `ALLOWED_ORIGINS`. @default {""} */
  allowedOrigins: string[];
  /** Bearer key of the HTTP API (`/api/...`); empty disables the API. `API_KEY`. @default {""} */
  apiKey: string;
  /** Bearer token for `/metrics`; empty means `API_KEY` guards it. `METRICS_TOKEN`. @default {""} */
  metricsToken: string;
  /** Messages per second a connection may send (token bucket rate). `RATE_LIMIT_PER_S`. @default {20} */
  rateLimitPerS: number;
  /** Token bucket size: the burst a connection may send at once. `RATE_LIMIT_BURST`. @default {40} */
  rateLimitBurst: number;
  /** Messages refused for rate in a row before the connection is closed (4029). `RATE_LIMIT_STRIKES`. @default {20} */
  rateLimitStrikes: number;
  /** Rooms one connection may be in at once. `MAX_ROOMS_PER_CONNECTION`. @default {128} */
  maxRoomsPerConnection: number;
  /** Open connections per client IP on this node; more get 429 before the upgrade. `MAX_CONNECTIONS_PER_IP`. @default {50} */
  maxConnectionsPerIp: number;
  /** Upgrades per second per client IP (burst twice that); more get 429. `MAX_UPGRADES_PER_S_PER_IP`. @default {10} */
  maxUpgradesPerSPerIp: number;
  /** Open connections on this node; more get 503 before the upgrade. `MAX_CONNECTIONS`. @default {10000} */
  maxConnections: number;
  /** Frame coalescing window for clients that negotiated `roomcast.v1.batch`, in ms: a message this soon after the previous send waits (one timer tick) to share a frame. 0 disables. `COALESCE_MS`. @default {1} */
  coalesceMs: number;
  /** Longest span between two log lines of one refusal cause (bad key, bad token…), in ms: the first is logged at once, the rest counted and summarised once per interval. `REFUSAL_LOG_INTERVAL_MS`. @default {10000} */
  refusalLogIntervalMs: number;
  /** Refusal causes the refusal log tracks at once; more share the cause `other`. `REFUSAL_LOG_MAX_CAUSES`. @default {64} */
  refusalLogMaxCauses: number;
  /** TLS certificate (PEM file); with `TLS_KEY_FILE` the server speaks https/wss. `TLS_CERT_FILE`. @default {""} */
  tlsCertFile: string;
  /** TLS private key (PEM file). `TLS_KEY_FILE`. @default {""} */
  tlsKeyFile: string;
  /**
   * Pusher apps served at `/app/:key` and `/apps/:id` (see `docs/pusher.md`):
   * one from `PUSHER_APP_ID`, `PUSHER_APP_KEY`, `PUSHER_APP_SECRET` (and
   * `PUSHER_APP_ENABLE_CLIENT_MESSAGES`), more from `PUSHER_APPS` (a JSON
   * list). None: the Pusher endpoints are off. @default {[]; the demo app
   * `app-id`/`app-key`/`app-secret` for `deno task dev`}
   */
  pusherApps: PusherApp[];
  /** `activity_timeout` announced to Pusher clients: they ping after this many seconds of silence. `PUSHER_ACTIVITY_TIMEOUT_S`. @default {30} */
  pusherActivityTimeoutS: number;
}

/** Something environment-like: `Deno.env` fits, and so does a `Map`. */
export interface EnvSource {
  /** Returns the variable's value, or `undefined` when unset. */
  get(name: string): string | undefined;
}

/** Default values of every setting. */
export const DEFAULT_CONFIG: Readonly<Config> = {
  port: 8000,
  host: "0.0.0.0",
  maxMessageBytes: 65_536,
  maxBufferedBytes: 1_048_576,
  heartbeatMs: 25_000,
  idleTimeoutS: 30,
  shutdownTimeoutMs: 3_000,
  workers: 1,
  bus: "broadcast-channel",
  busChannel: "roomcast",
  logLevel: "info",
  history: "kv",
  kvPath: "./data/roomcast.kv",
  historyWrite: "auto",
  historyFlushMs: 10,
  historySize: 300,
  historyTtlMs: 300_000,
  repairDelayMs: 100,
  presenceIntervalMs: 5_000,
  presenceTimeoutMs: 15_000,
  redisUrl: "",
  redisPrefix: "roomcast",
  authSecret: "",
  authPublicKey: "",
  authPublicKeyAlg: "RS256",
  authAudience: "",
  authIssuer: "",
  authLeewayS: 30,
  allowAnonymous: false,
  dev: false,
  allowedOrigins: [],
  apiKey: "",
  metricsToken: "",
  rateLimitPerS: 20,
  rateLimitBurst: 40,
  rateLimitStrikes: 20,
  maxRoomsPerConnection: 128,
  maxConnectionsPerIp: 50,
  maxUpgradesPerSPerIp: 10,
  maxConnections: 10_000,
  coalesceMs: 1,
  refusalLogIntervalMs: 10_000,
  refusalLogMaxCauses: 64,
  tlsCertFile: "",
  tlsKeyFile: "",
  pusherApps: [],
  pusherActivityTimeoutS: 30,
};

/** Options for {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /** Default for `WORKERS` when unset (`main.ts --parallel` passes the core count). @default {1} */
  defaultWorkers?: number;
  /** Development mode (`main.ts --dev`). @default {false} */
  dev?: boolean;
}

/**
 * Reads the configuration from `env`.
 *
 * @throws {RangeError} naming the variable whose value is invalid.
 *
 * @example Usage
 * ```ts
 * import { parseConfig } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * const config = parseConfig(new Map([["PORT", "9000"]]));
 * assert.equal(config.port, 9000);
 * assert.equal(config.maxMessageBytes, 65536);
 * ```
 */
export function parseConfig(
  env: EnvSource,
  options: ParseConfigOptions = {},
): Config {
  const d = DEFAULT_CONFIG;
  return {
    port: int(env, "PORT", d.port, 0, 65_535),
    host: str(env, "HOST", d.host),
    maxMessageBytes: int(env, "MAX_MESSAGE_BYTES", d.maxMessageBytes, 64),
    maxBufferedBytes: int(env, "MAX_BUFFERED_BYTES", d.maxBufferedBytes, 1),
    heartbeatMs: int(env, "HEARTBEAT_MS", d.heartbeatMs, 100),
    idleTimeoutS: int(env, "IDLE_TIMEOUT_S", d.idleTimeoutS, 0, 3_600),
    shutdownTimeoutMs: int(env, "SHUTDOWN_TIMEOUT_MS", d.shutdownTimeoutMs, 0),
    workers: int(env, "WORKERS", options.defaultWorkers ?? d.workers, 0, 256),
    bus: oneOf(env, "BUS", d.bus, ["broadcast-channel", "none"] as const),
    busChannel: str(env, "BUS_CHANNEL", d.busChannel),
    logLevel: oneOf(
      env,
      "LOG_LEVEL",
      d.logLevel,
      ["debug", "info", "warn", "error"] as const,
    ),
    history: oneOf(env, "HISTORY", d.history, ["kv", "memory"] as const),
    // On Deno Deploy the platform provides the database: no path.
    kvPath: env.get("KV_PATH")?.trim() ??
      (env.get("DENO_DEPLOYMENT_ID") === undefined ? d.kvPath : ""),
    historyWrite: oneOf(
      env,
      "HISTORY_WRITE",
      d.historyWrite,
      ["auto", "behind", "through"] as const,
    ),
    historyFlushMs: int(env, "HISTORY_FLUSH_MS", d.historyFlushMs, 1, 10_000),
    historySize: int(env, "HISTORY_SIZE", d.historySize, 1, 100_000),
    historyTtlMs: int(env, "HISTORY_TTL_MS", d.historyTtlMs, 1_000),
    repairDelayMs: int(env, "REPAIR_DELAY_MS", d.repairDelayMs, 0, 60_000),
    presenceIntervalMs: int(
      env,
      "PRESENCE_INTERVAL_MS",
      d.presenceIntervalMs,
      10,
    ),
    presenceTimeoutMs: int(env, "PRESENCE_TIMEOUT_MS", d.presenceTimeoutMs, 20),
    redisUrl: redisUrl(env),
    redisPrefix: str(env, "REDIS_PREFIX", d.redisPrefix),
    authSecret: env.get("AUTH_SECRET") ?? d.authSecret,
    authPublicKey: env.get("AUTH_PUBLIC_KEY") ?? d.authPublicKey,
    authPublicKeyAlg: oneOf(
      env,
      "AUTH_PUBLIC_KEY_ALG",
      d.authPublicKeyAlg,
      ["RS256", "ES256"] as const,
    ),
    authAudience: env.get("AUTH_AUDIENCE")?.trim() ?? d.authAudience,
    authIssuer: env.get("AUTH_ISSUER")?.trim() ?? d.authIssuer,
    authLeewayS: int(env, "AUTH_LEEWAY_S", d.authLeewayS, 0, 600),
    allowAnonymous: bool(env, "ALLOW_ANONYMOUS", options.dev ?? false),
    dev: options.dev ?? false,
    allowedOrigins: list(env, "ALLOWED_ORIGINS"),
    apiKey: env.get("API_KEY") ?? d.apiKey,
    metricsToken: env.get("METRICS_TOKEN") ?? d.metricsToken,
    rateLimitPerS: int(env, "RATE_LIMIT_PER_S", d.rateLimitPerS, 1),
    rateLimitBurst: int(env, "RATE_LIMIT_BURST", d.rateLimitBurst, 1),
    rateLimitStrikes: int(env, "RATE_LIMIT_STRIKES", d.rateLimitStrikes, 1),
    maxRoomsPerConnection: int(
      env,
      "MAX_ROOMS_PER_CONNECTION",
      d.maxRoomsPerConnection,
      1,
    ),
    maxConnectionsPerIp: int(
      env,
      "MAX_CONNECTIONS_PER_IP",
      d.maxConnectionsPerIp,
      1,
    ),
    maxUpgradesPerSPerIp: int(
      env,
      "MAX_UPGRADES_PER_S_PER_IP",
      d.maxUpgradesPerSPerIp,
      1,
    ),
    maxConnections: int(env, "MAX_CONNECTIONS", d.maxConnections, 1),
    coalesceMs: int(env, "COALESCE_MS", d.coalesceMs, 0, 10_000),
    refusalLogIntervalMs: int(
      env,
      "REFUSAL_LOG_INTERVAL_MS",
      d.refusalLogIntervalMs,
      1,
      3_600_000,
    ),
    refusalLogMaxCauses: int(
      env,
      "REFUSAL_LOG_MAX_CAUSES",
      d.refusalLogMaxCauses,
      1,
      10_000,
    ),
    tlsCertFile: env.get("TLS_CERT_FILE")?.trim() ?? d.tlsCertFile,
    tlsKeyFile: env.get("TLS_KEY_FILE")?.trim() ?? d.tlsKeyFile,
    pusherApps: parsePusherApps(env, { dev: options.dev ?? false }),
    pusherActivityTimeoutS: int(
      env,
      "PUSHER_ACTIVITY_TIMEOUT_S",
      d.pusherActivityTimeoutS,
      1,
      3_600,
    ),
  };
}

function bool(env: EnvSource, name: string, fallback: boolean): boolean {
  const raw = env.get(name)?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (["1", "true", "yes"].includes(raw)) return true;
  if (["0", "false", "no"].includes(raw)) return false;
  throw new RangeError(`Invalid ${name}: expected 1 or 0, got "${raw}"`);
}

function list(env: EnvSource, name: string): string[] {
  const raw = env.get(name) ?? "";
  return raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function redisUrl(env: EnvSource): string {
  const raw = env.get("REDIS_URL")?.trim() ?? "";
  if (raw !== "" && !/^rediss?:\/\/[^\s]+$/.test(raw)) {
    throw new RangeError(
      `Invalid REDIS_URL: expected redis://host:port or rediss://..., got "${raw}"`,
    );
  }
  return raw;
}

function str(env: EnvSource, name: string, fallback: string): string {
  const raw = env.get(name);
  if (raw === undefined) return fallback;
  if (raw.trim() === "") {
    throw new RangeError(`Invalid ${name}: must not be empty`);
  }
  return raw.trim();
}

function int(
  env: EnvSource,
  name: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = env.get(name);
  if (raw === undefined) return fallback;
  const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Invalid ${name}: expected an integer from ${min} to ${max}, got "${raw}"`,
    );
  }
  return value;
}

function oneOf<T extends string>(
  env: EnvSource,
  name: string,
  fallback: T,
  allowed: readonly T[],
): T {
  const raw = env.get(name)?.trim();
  if (raw === undefined) return fallback;
  const found = allowed.find((a) => a === raw);
  if (found === undefined) {
    throw new RangeError(
      `Invalid ${name}: expected one of ${allowed.join(", ")}, got "${raw}"`,
    );
  }
  return found;
}
