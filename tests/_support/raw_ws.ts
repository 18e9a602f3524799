/**
 * A raw WebSocket client on `Deno.connect` for conformance and abuse tests.
 * It writes any handshake and any frame (opcode, RSV bits, masking, an
 * announced length that differs from the payload, fragments) and reports
 * what the server did: a frame, a close frame with its code, or a dropped
 * TCP connection. Test-only: nothing here is careful about performance.
 *
 * @module
 */

import { ByteReader, type Frame, type HttpHead } from "./_byte_reader.ts";

export type { Frame, HttpHead } from "./_byte_reader.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** WebSocket opcodes (RFC 6455 §5.2). */
export const OPCODE = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** What {@linkcode rawRequest} saw: a response head, a drop or nothing. */
export type RequestOutcome =
  | ({ kind: "response" } & HttpHead)
  | { kind: "dropped"; ms: number }
  | { kind: "timeout"; ms: number };

/** One frame to write. */
export interface FrameOptions {
  opcode: number;
  /** Text is encoded as UTF-8. @default {empty} */
  payload?: Uint8Array | string;
  /** FIN bit. @default {true} */
  fin?: boolean;
  /** RSV1..RSV3 as a 3-bit number (RSV1 = 4). @default {0} */
  rsv?: number;
  /** Mask the payload, as RFC 6455 requires of clients. @default {true} */
  mask?: boolean;
  /** Payload length written in the header. @default {the payload's length} */
  announcedLength?: number;
}

/** How a connection ended from the client's point of view. */
export type Ending =
  | { kind: "close"; code: number; reason: string; ms: number }
  | { kind: "dropped"; ms: number }
  | { kind: "timeout"; ms: number };

/** Encodes one client frame. */
export function encodeFrame(options: FrameOptions): Uint8Array {
  const payload = typeof options.payload === "string"
    ? encoder.encode(options.payload)
    : options.payload ?? new Uint8Array();
  const mask = options.mask ?? true;
  const length = options.announcedLength ?? payload.length;
  const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const head = new Uint8Array(2 + extended + (mask ? 4 : 0));
  head[0] = ((options.fin ?? true) ? 0x80 : 0) |
    (((options.rsv ?? 0) & 7) << 4) | (options.opcode & 0x0f);
  const view = new DataView(head.buffer);
  if (extended === 0) head[1] = length;
  else if (extended === 2) {
    head[1] = 126;
    view.setUint16(2, length);
  } else {
    head[1] = 127;
    view.setBigUint64(2, BigInt(length));
  }
  if (mask) head[1] = (head[1] ?? 0) | 0x80;
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  if (mask) {
    const key = crypto.getRandomValues(new Uint8Array(4));
    out.set(key, 2 + extended);
    for (let i = 0; i < payload.length; i++) {
      out[head.length + i] = (payload[i] ?? 0) ^ (key[i & 3] ?? 0);
    }
  } else {
    out.set(payload, head.length);
  }
  return out;
}

/** A close frame payload: the code (2 bytes) and a UTF-8 reason. */
export function closePayload(code: number, reason = ""): Uint8Array {
  const text = encoder.encode(reason);
  const out = new Uint8Array(2 + text.length);
  new DataView(out.buffer).setUint16(0, code);
  out.set(text, 2);
  return out;
}

/** Options of {@linkcode RawWebSocket.open}. */
export interface OpenOptions {
  /** Request path. @default {"/ws"} */
  path?: string;
  /** Extra headers; `null` removes a default one. */
  headers?: Record<string, string | null>;
  /** How long to wait for the response head. @default {2000} */
  timeoutMs?: number;
}

/** A raw client connection: the handshake done, frames in and out. */
export class RawWebSocket implements AsyncDisposable {
  /** The handshake's response (status 101). */
  readonly response: HttpHead;
  readonly #reader: ByteReader;

  private constructor(reader: ByteReader, response: HttpHead) {
    this.#reader = reader;
    this.response = response;
  }

  /**
   * Connects to 127.0.0.1:`port` and performs an upgrade handshake.
   *
   * @throws {Error} when the answer is not 101 with a correct
   * `Sec-WebSocket-Accept`.
   */
  static async open(
    port: number,
    options: OpenOptions = {},
  ): Promise<RawWebSocket> {
    const key = btoa(
      String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
    );
    const reader = new ByteReader(
      await Deno.connect({ hostname: "127.0.0.1", port }),
    );
    const request = upgradeRequest(port, options.path ?? "/ws", {
      "sec-websocket-key": key,
      ...options.headers,
    });
    const started = performance.now();
    await reader.write(encoder.encode(request));
    const head = await reader.readHead(started + (options.timeoutMs ?? 2_000));
    if (typeof head === "string" || head.status !== 101) {
      await reader.close();
      throw new Error(
        `Handshake failed: ${typeof head === "string" ? head : head.status}`,
      );
    }
    const expected = await acceptFor(key);
    if (head.headers.get("sec-websocket-accept") !== expected) {
      await reader.close();
      throw new Error("Handshake failed: bad Sec-WebSocket-Accept");
    }
    return new RawWebSocket(reader, head);
  }

  /** Writes one frame; false if the server had already dropped the connection. */
  send(frame: FrameOptions): Promise<boolean> {
    return this.#reader.write(encodeFrame(frame));
  }

  /** Writes raw bytes; false if the server had already dropped the connection. */
  sendBytes(bytes: Uint8Array): Promise<boolean> {
    return this.#reader.write(bytes);
  }

  /** Sends a masked text frame. */
  sendText(text: string): Promise<boolean> {
    return this.send({ opcode: OPCODE.TEXT, payload: text });
  }

  /** The next frame, or `"dropped"`/`"timeout"`. */
  async next(timeoutMs = 2_000): Promise<Frame | "dropped" | "timeout"> {
    return await this.#reader.readFrame(performance.now() + timeoutMs);
  }

  /** The next text frame's content, skipping other frames; throws otherwise. */
  async nextText(timeoutMs = 2_000): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      const frame = await this.#reader.readFrame(deadline);
      if (typeof frame === "string") {
        throw new Error(`Expected a text frame, got ${frame}`);
      }
      if (frame.opcode === OPCODE.TEXT) return decoder.decode(frame.payload);
      if (frame.opcode === OPCODE.CLOSE) {
        throw new Error(`Expected a text frame, got close ${describe(frame)}`);
      }
    }
  }

  /**
   * Reads until the connection ends: a close frame (answered, then the TCP
   * connection is closed), a drop, or `timeoutMs`. Data frames are skipped.
   */
  async ending(timeoutMs = 3_000): Promise<Ending> {
    const started = performance.now();
    const deadline = started + timeoutMs;
    while (true) {
      const frame = await this.#reader.readFrame(deadline);
      const ms = Math.round(performance.now() - started);
      if (frame === "dropped" || frame === "timeout") {
        await this.close();
        return { kind: frame, ms };
      }
      if (frame.opcode !== OPCODE.CLOSE) continue;
      const view = new DataView(
        frame.payload.buffer,
        frame.payload.byteOffset,
        frame.payload.byteLength,
      );
      const code = frame.payload.length >= 2 ? view.getUint16(0) : 1005;
      const reason = decoder.decode(frame.payload.subarray(2));
      await this.#reader.write(
        encodeFrame({ opcode: OPCODE.CLOSE, payload: closePayload(code) }),
      );
      await this.close();
      return { kind: "close", code, reason, ms };
    }
  }

  /** Closes the TCP connection (no close handshake). Idempotent. */
  async close(): Promise<void> {
    await this.#reader.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Formats an ending for messages and reports: "close 1009", "dropped"… */
export function describeEnding(ending: Ending): string {
  return ending.kind === "close" ? `close ${ending.code}` : ending.kind;
}

/**
 * Connects to 127.0.0.1:`port`, writes `request` as it is, and waits for a
 * response head (then closes). For handshakes the server must refuse.
 */
export async function rawRequest(
  port: number,
  request: string | Uint8Array,
  timeoutMs = 2_000,
): Promise<RequestOutcome> {
  const reader = new ByteReader(
    await Deno.connect({ hostname: "127.0.0.1", port }),
  );
  const started = performance.now();
  let writing: Promise<boolean> | undefined;
  try {
    // Write and read at once: a server may answer before reading it all.
    writing = reader.write(
      typeof request === "string" ? encoder.encode(request) : request,
    );
    const head = await reader.readHead(started + timeoutMs);
    const ms = Math.round(performance.now() - started);
    if (typeof head === "string") return { kind: head, ms };
    return { kind: "response", ...head };
  } finally {
    await reader.close();
    await writing;
  }
}

/**
 * Sends an upgrade request for `path` (with `headers` over the defaults) and
 * returns the answer's status, closing the connection. For handshakes whose
 * status is the point; {@linkcode RawWebSocket.open} keeps an accepted one.
 *
 * @throws {Error} when the server drops the connection or never answers.
 */
export async function upgradeStatus(
  port: number,
  path = "/ws",
  headers: Record<string, string | null> = {},
): Promise<number> {
  const outcome = await rawRequest(port, upgradeRequest(port, path, headers));
  if (outcome.kind !== "response") {
    throw new Error(`No answer to the upgrade of ${path}: ${outcome.kind}`);
  }
  return outcome.status;
}

/** An upgrade request for `path`, with `headers` over the usual defaults. */
export function upgradeRequest(
  port: number,
  path: string,
  headers: Record<string, string | null> = {},
  method = "GET",
): string {
  const all: Record<string, string | null> = {
    host: `127.0.0.1:${port}`,
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    "sec-websocket-version": "13",
    ...headers,
  };
  const lines = [`${method} ${path} HTTP/1.1`];
  for (const [name, value] of Object.entries(all)) {
    if (value !== null) lines.push(`${name}: ${value}`);
  }
  return lines.join("\r\n") + "\r\n\r\n";
}

/** The `Sec-WebSocket-Accept` value for `key` (RFC 6455 §4.2.2). */
async function acceptFor(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

function describe(frame: Frame): string {
  return `opcode ${frame.opcode}, ${frame.payload.length} bytes`;
}
