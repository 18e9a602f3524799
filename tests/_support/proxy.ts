/**
 * A TCP proxy for end-to-end tests that can cut every connection through it
 * at once, as a network failure would: both sides see the TCP connection end
 * without a WebSocket close frame (the client reports 1006).
 *
 * @module
 */

/** A running proxy; `await using` closes it. */
export interface CuttableProxy extends AsyncDisposable {
  /** `ws://127.0.0.1:<proxy port>/ws` */
  wsUrl: string;
  /** Connections currently open through the proxy. */
  readonly open: number;
  /** Ends every open connection (new ones are still accepted); returns how many. */
  cut(): number;
  /** Stops accepting, cuts everything and waits for the pipes to finish. */
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1, port 0, to `127.0.0.1:targetPort`. */
export function startProxy(targetPort: number): CuttableProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
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
    await Promise.all([pipe(inbound, outbound), pipe(outbound, inbound)]);
    pairs.delete(pair);
    closeQuietly(inbound);
    closeQuietly(outbound);
  }

  const { port } = listener.addr as Deno.NetAddr;
  const proxy: CuttableProxy = {
    wsUrl: `ws://127.0.0.1:${port}/ws`,
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

/** Copies `from` to `to` until either ends; a cut ends both. */
async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await from.read(buffer);
      if (n === null) break;
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

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
