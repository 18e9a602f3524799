/**
 * Buffered reads with deadlines over one TCP connection (private to
 * `raw_ws.ts`): an HTTP response head, whole WebSocket frames, and writes
 * that report a peer gone instead of throwing.
 *
 * @module
 */

/** The head of an HTTP response: status, headers and how long it took. */
export interface HttpHead {
  status: number;
  headers: Headers;
  /** Milliseconds from the first byte written to the end of the head. */
  ms: number;
}

/** A frame received from the server. */
export interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: Uint8Array;
}

/** Buffered reads with deadlines over one TCP connection. */
export class ByteReader {
  readonly #conn: Deno.Conn;
  #buffer = new Uint8Array(0);
  /** The read in flight: kept across deadlines so no bytes are lost. */
  #pending: Promise<Uint8Array | null> | undefined;
  #ended = false;
  #closed = false;

  /** Reads and writes `conn`. */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Writes every byte; false when the peer has gone (reset, broken pipe). */
  async write(bytes: Uint8Array): Promise<boolean> {
    let written = 0;
    try {
      while (written < bytes.length) {
        written += await this.#conn.write(bytes.subarray(written));
      }
      return true;
    } catch (error) {
      if (isPeerGone(error)) return false;
      throw error;
    }
  }

  /** Reads an HTTP response head: status and headers; leftover bytes stay buffered. */
  async readHead(deadline: number): Promise<HttpHead | "dropped" | "timeout"> {
    const started = performance.now();
    while (true) {
      const end = indexOfHeadEnd(this.#buffer);
      if (end >= 0) {
        const text = new TextDecoder("latin1").decode(
          this.#buffer.subarray(0, end),
        );
        this.#buffer = this.#buffer.slice(end + 4);
        const [statusLine = "", ...lines] = text.split("\r\n");
        const status = Number(statusLine.split(" ")[1]);
        const headers = new Headers();
        for (const line of lines) {
          const colon = line.indexOf(":");
          if (colon > 0) {
            headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
          }
        }
        return { status, headers, ms: Math.round(performance.now() - started) };
      }
      const got = await this.#fill(deadline);
      if (got !== "ok") return got;
    }
  }

  /** Reads one whole frame. */
  async readFrame(deadline: number): Promise<Frame | "dropped" | "timeout"> {
    while (true) {
      const frame = this.#parseFrame();
      if (frame !== undefined) return frame;
      const got = await this.#fill(deadline);
      if (got !== "ok") return got;
    }
  }

  /** Closes the connection, once the read in flight has settled. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer's reset.
    }
    // Let the read in flight settle, so no op outlives the test.
    await this.#pending;
  }

  #parseFrame(): Frame | undefined {
    const b = this.#buffer;
    if (b.length < 2) return undefined;
    const b0 = b[0] ?? 0;
    const b1 = b[1] ?? 0;
    let length = b1 & 0x7f;
    let offset = 2;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = view.getUint16(2);
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      length = Number(view.getBigUint64(2));
      offset = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    const keyAt = offset;
    if (masked) offset += 4;
    if (b.length < offset + length) return undefined;
    const payload = b.slice(offset, offset + length);
    if (masked) {
      for (let i = 0; i < payload.length; i++) {
        payload[i] = (payload[i] ?? 0) ^ (b[keyAt + (i & 3)] ?? 0);
      }
    }
    this.#buffer = b.slice(offset + length);
    return {
      fin: (b0 & 0x80) !== 0,
      rsv: (b0 >> 4) & 7,
      opcode: b0 & 0x0f,
      payload,
    };
  }

  /** Appends the next chunk; reports a drop (EOF, reset) or the deadline. */
  async #fill(deadline: number): Promise<"ok" | "dropped" | "timeout"> {
    if (this.#ended || this.#closed) return "dropped";
    this.#pending ??= this.#readChunk();
    const remaining = deadline - performance.now();
    if (remaining <= 0) return "timeout";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), remaining);
    });
    const chunk = await Promise.race([this.#pending, timeout]);
    clearTimeout(timer);
    if (chunk === "timeout") return "timeout";
    this.#pending = undefined;
    if (chunk === null) {
      this.#ended = true;
      return "dropped";
    }
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    this.#buffer = joined;
    return "ok";
  }

  async #readChunk(): Promise<Uint8Array | null> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      const n = await this.#conn.read(chunk);
      return n === null ? null : chunk.subarray(0, n);
    } catch {
      // Reset by the peer, or closed by us: either way, nothing more comes.
      return null;
    }
  }
}

function indexOfHeadEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

function isPeerGone(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.Interrupted;
}
