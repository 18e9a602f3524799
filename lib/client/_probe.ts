/**
 * A WebSocket probe (internal): while the client runs on the SSE fallback,
 * a second, throwaway WebSocket now and then tells whether WebSocket works
 * again. It joins no room and closes as soon as the server's `welcome`
 * arrives (or when it fails or times out).
 *
 * @module
 */

import { CLOSE_CODE } from "../protocol/mod.ts";
import { dropSocket } from "./_socket.ts";
import type { WebSocketConstructor, WebSocketLike } from "./types.ts";

/** What a probe needs. */
export interface ProbeOptions {
  WebSocket: WebSocketConstructor;
  url: string;
  protocols: string[];
  timeoutMs: number;
}

/** A running probe; `cancel()` drops it without an answer. */
export interface Probe {
  cancel(): void;
}

/** Opens a probe; `done(true)` once a `welcome` came, `done(false)` otherwise (once). */
export function probe(
  options: ProbeOptions,
  done: (ok: boolean) => void,
): Probe {
  let socket: WebSocketLike | undefined;
  let settled = false;
  const finish = (ok: boolean) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    if (socket !== undefined) dropSocket(socket, CLOSE_CODE.NORMAL);
    done(ok);
  };
  const timer = setTimeout(() => finish(false), options.timeoutMs);
  try {
    socket = new options.WebSocket(options.url, options.protocols);
  } catch {
    finish(false);
    return { cancel() {} };
  }
  socket.onmessage = (event) => {
    const data: unknown = event.data;
    finish(typeof data === "string" && data.startsWith('{"type":"welcome"'));
  };
  socket.onclose = () => finish(false);
  socket.onerror = () => {};
  return {
    cancel() {
      settled = true;
      clearTimeout(timer);
      if (socket !== undefined) dropSocket(socket, CLOSE_CODE.NORMAL);
    },
  };
}
