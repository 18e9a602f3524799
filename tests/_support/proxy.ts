/**
 * A TCP proxy for end-to-end tests that can cut every connection through it
 * at once, as a network failure would: both sides see the TCP connection end
 * without a WebSocket close frame (the client reports 1006). It can also play
 * a middlebox that blocks WebSocket: every request asking for
 * `Upgrade: websocket` is answered with 400 (`refuse`) or its connection
 * dropped (`drop`); plain HTTP (the SSE fallback) passes. And it can play a
 * long link: what the server sends reaches the client `answerDelayMs` later
 * (in order, at the same throughput), so every answer takes that much longer.
 *
 * @module
 */

/** A running proxy; `await using` closes it. */
export interface CuttableProxy extends AsyncDisposable {
  /** `ws://127.0.0.1:<proxy port>/ws` */
  wsUrl: string;
  /** `http://127.0.0.1:<proxy port>` */
  httpUrl: string;
  /** What happens to WebSocket upgrades from now on. */
  upgrades: UpgradePolicy;
  /** WebSocket upgrades refused or dropped so far. */
  readonly blocked: number;
  /** Connections currently open through the proxy. */
  readonly open: number;
  /** Ends every open connection (new ones are still accepted); returns how many. */
  cut(): number;
  /** Stops accepting, cuts everything and waits for the pipes to finish. */
  close(): Promise<void>;
}

/** What the proxy does with a WebSocket upgrade. */
export type UpgradePolicy = "pass" | "refuse" | "drop";

/** Starts a proxy on 127.0.0.1, port `port` (0: any), to `127.0.0.1:targetPort`. */
export function startProxy(
  targetPort: number,
  { upgrades = "pass", port: listenPort = 0, answerDelayMs = 0 }: {
    upgrades?: UpgradePolicy;
    port?: number;
    /** How much later the server's bytes reach the client. @default {0} */
    answerDelayMs?: number;
  } = {},
): CuttableProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: listenPort });
  let blocked = 0;
  /** Whether to let `chunk` (from the client) through; false: it was blocked. */
  const admit = async (chunk: Uint8Array, inbound: Deno.Conn) => {
    const policy = proxy.upgrades;
    if (policy === "pass" || !isUpgrade(chunk)) return true;
    blocked++;
    if (policy === "refuse") {
      await inbound.write(REFUSAL).catch(() => 0);
    }
    return false;
  };
  const pairs = new Set<[Deno.Conn, Deno.Conn]>();
  const tasks = new Set<Promise<void>>();
  const track = (task: Promise<void>) => {
    tasks.add(task);
    task.finally(() => tasks.delete(task));
  };
  const cut = (): number => {
    const count = pairs.size;
    for (const pair of pairs) for (const conn of pair) closeQuietly(conn);
    pairs.clear();
    return count;
  };
  const accepting = (async () => {
    for await (const inbound of listener) {
      track(serve(inbound));
    }
  })().catch(() => {}); // The listener was closed.

  async function serve(inbound: Deno.Conn): Promise<void> {
    let outbound: Deno.Conn;
    try {
      outbound = await Deno.connect({
        hostname: "127.0.0.1",
        port: targetPort,
      });
    } catch {
      closeQuietly(inbound);
      return;
    }
    const pair: [Deno.Conn, Deno.Conn] = [inbound, outbound];
    pairs.add(pair);
    await Promise.all([
      pipe(inbound, outbound, admit),
      answerDelayMs > 0
        ? delayedPipe(outbound, inbound, answerDelayMs)
        : pipe(outbound, inbound),
    ]);
    pairs.delete(pair);
    closeQuietly(inbound);
    closeQuietly(outbound);
  }

  const { port } = listener.addr as Deno.NetAddr;
  const proxy: CuttableProxy = {
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    upgrades,
    get blocked() {
      return blocked;
    },
    get open() {
      return pairs.size;
    },
    cut,
    async close() {
      listener.close();
      await accepting;
      cut();
      await Promise.all([...tasks]);
    },
    [Symbol.asyncDispose]: () => proxy.close(),
  };
  return proxy;
}

/** Copies `from` to `to` until either ends (or `admit` refuses a chunk); a cut ends both. */
async function pipe(
  from: Deno.Conn,
  to: Deno.Conn,
  admit?: (chunk: Uint8Array, from: Deno.Conn) => Promise<boolean>,
): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await from.read(buffer);
      if (n === null) break;
      if (admit !== undefined && !await admit(buffer.subarray(0, n), from)) {
        break;
      }
      let written = 0;
      while (written < n) {
        written += await to.write(buffer.subarray(written, n));
      }
    }
  } catch {
    // Cut or reset: the other direction ends too once both are closed.
  }
  closeQuietly(from);
  closeQuietly(to);
}

/**
 * Copies `from` to `to` as {@linkcode pipe} does, each chunk written
 * `delayMs` after it was read (in order; reading goes on meanwhile, so what
 * is held is at most `delayMs` worth of the link's traffic).
 */
async function delayedPipe(
  from: Deno.Conn,
  to: Deno.Conn,
  delayMs: number,
): Promise<void> {
  let writes = Promise.resolve();
  let failed = false;
  const write = async (chunk: Uint8Array, at: number) => {
    const wait = at - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    let written = 0;
    while (written < chunk.length) {
      written += await to.write(chunk.subarray(written));
    }
  };
  try {
    while (!failed) {
      const buffer = new Uint8Array(64 * 1024);
      const n = await from.read(buffer);
      if (n === null) break;
      const at = performance.now() + delayMs;
      writes = writes.then(() => write(buffer.subarray(0, n), at)).catch(
        () => {
          failed = true;
        },
      );
    }
  } catch {
    // Cut or reset.
  }
  await writes;
  closeQuietly(from);
  closeQuietly(to);
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

const REFUSAL = new TextEncoder().encode(
  "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
);

/** Whether a chunk from the client starts a request that asks for a WebSocket. */
function isUpgrade(chunk: Uint8Array): boolean {
  const text = new TextDecoder().decode(chunk.subarray(0, 8192));
  const head = text.split("\r\n\r\n", 1)[0] ?? "";
  return /^GET /.test(head) && /\r\nupgrade:\s*websocket/i.test(head);
}
