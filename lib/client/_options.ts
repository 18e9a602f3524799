/**
 * Option defaults and validation for the client (internal).
 *
 * @module
 */

import { isValidUserName } from "../protocol/mod.ts";
import { checkToken, type TokenOption } from "./_token.ts";
import { defaultStorage } from "./_transport.ts";
import type { ClientOptions, WebSocketConstructor } from "./types.ts";
import type { EventSourceConstructor, Transport } from "./transport_types.ts";

/** Every option resolved to a value (`user` goes into the URL instead). */
export type Settings =
  & Required<
    Omit<
      ClientOptions,
      "WebSocket" | "user" | "token" | "EventSource" | "fetch"
    >
  >
  & {
    WebSocket: WebSocketConstructor;
    /** Undefined where the runtime has none (then no `sse`). */
    EventSource: EventSourceConstructor | undefined;
    fetch: typeof fetch;
    /** The `token` option (a string one checked). */
    token: TokenOption | undefined;
  };

/**
 * Fills in the defaults documented on {@linkcode ClientOptions}.
 *
 * @throws {RangeError} when a time or size is negative or not finite, or the reconnect delays are inconsistent.
 * @throws {TypeError} when a `token` string cannot travel as a subprotocol.
 */
export function resolveOptions(options: ClientOptions): Settings {
  const { token } = options;
  const settings: Settings = {
    minReconnectDelayMs: options.minReconnectDelayMs ?? 500,
    maxReconnectDelayMs: options.maxReconnectDelayMs ?? 20_000,
    minUptimeMs: options.minUptimeMs ?? 5_000,
    heartbeatGraceMs: options.heartbeatGraceMs ?? 10_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    timeoutMs: options.timeoutMs ?? 10_000,
    maxQueueSize: options.maxQueueSize ?? 100,
    batch: options.batch ?? true,
    transports: checkTransports(options.transports),
    fallbackAfter: options.fallbackAfter ?? 2,
    probeIntervalMs: options.probeIntervalMs ?? 120_000,
    storage: options.storage ?? defaultStorage(),
    EventSource: options.EventSource ?? globalThis.EventSource,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    WebSocket: options.WebSocket ?? globalThis.WebSocket,
    random: options.random ?? Math.random,
    now: options.now ?? (() => performance.now()),
    token: typeof token === "string" ? checkToken(token) : token,
  };
  for (const [name, value] of Object.entries(settings)) {
    if (typeof value === "number" && !(Number.isFinite(value) && value >= 0)) {
      throw new RangeError(
        `Invalid option "${name}": expected a finite number >= 0, got ${value}`,
      );
    }
  }
  if (settings.minReconnectDelayMs === 0) {
    throw new RangeError(
      'Invalid option "minReconnectDelayMs": must be above 0, or reconnects would spin',
    );
  }
  if (settings.minReconnectDelayMs > settings.maxReconnectDelayMs) {
    throw new RangeError(
      `Invalid option "minReconnectDelayMs": ${settings.minReconnectDelayMs} exceeds "maxReconnectDelayMs" ${settings.maxReconnectDelayMs}`,
    );
  }
  if (settings.fallbackAfter < 1 || !Number.isInteger(settings.fallbackAfter)) {
    throw new RangeError(
      `Invalid option "fallbackAfter": expected an integer >= 1, got ${settings.fallbackAfter}`,
    );
  }
  if (settings.probeIntervalMs === 0) {
    throw new RangeError(
      'Invalid option "probeIntervalMs": must be above 0, or probes would spin',
    );
  }
  return settings;
}

/**
 * The `transports` option: `["websocket", "sse"]` by default.
 *
 * @throws {TypeError} when it is empty, repeats one or names an unknown one.
 */
function checkTransports(value: unknown): Transport[] {
  if (value === undefined) return ["websocket", "sse"];
  const known = ["websocket", "sse"];
  if (
    !Array.isArray(value) || value.length === 0 ||
    new Set(value).size !== value.length ||
    !value.every((t) => known.includes(t))
  ) {
    throw new TypeError(
      'Invalid option "transports": expected a non-empty list of "websocket" and "sse"',
    );
  }
  return value.filter((t): t is Transport => t === "websocket" || t === "sse");
}

/**
 * Normalizes the server URL: `http:`/`https:` become `ws:`/`wss:`, and
 * `user`, when given, is set as the `user` query parameter.
 *
 * @throws {TypeError} for an unparsable URL, another scheme or an invalid `user`.
 */
export function toWebSocketUrl(url: string | URL, user?: string): string {
  const parsed = new URL(url);
  if (parsed.protocol === "http:") parsed.protocol = "ws:";
  else if (parsed.protocol === "https:") parsed.protocol = "wss:";
  else if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new TypeError(
      `Invalid URL "${parsed.href}": expected ws:, wss:, http: or https:`,
    );
  }
  if (user !== undefined) {
    // Member ids follow the room name rules.
    if (!isValidUserName(user)) {
      throw new TypeError(
        `Invalid option "user" ${
          JSON.stringify(String(user).slice(0, 40))
        }: expected 1-128 characters of [A-Za-z0-9_.:@-]`,
      );
    }
    parsed.searchParams.set("user", user);
  }
  return parsed.href;
}
