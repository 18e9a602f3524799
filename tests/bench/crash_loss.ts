/**
 * What a crash of the write-behind log loses under heavy large publishing:
 * starts `main.ts` (Deno KV on a temporary file), lets `PUBLISHERS` HTTP API
 * publishers post 60 KB messages (one room each, as fast as they are
 * answered; after a 503 `overloaded` they retry 20 ms later) for
 * `SECONDS`, samples the backlog (`/metrics`) and RSS, then SIGKILLs the
 * server and reads the committed heads from the file. Lost = acknowledged
 * (201) offsets above the committed head; their oldest ack's age at the
 * kill is the real loss window. Loopback only, bounded in time, cleans up.
 *
 *     deno run --allow-all tests/bench/crash_loss.ts [SECONDS=10] [PUBLISHERS=8] [--parallel] [--durable]
 *
 * @module
 */

import { MAIN } from "../_support/process.ts";

const args = Deno.args.filter((a) => !a.startsWith("--"));
const seconds = Number(args[0] ?? 10);
const publishers = Number(args[1] ?? 8);
const parallel = Deno.args.includes("--parallel");
const durable = Deno.args.includes("--durable");
const KEY = `key-${crypto.randomUUID()}`;
const body = JSON.stringify({ data: "x".repeat(60_000) });

const dir = await Deno.makeTempDir();
const kvPath = `${dir}/roomcast.kv`;
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-all", MAIN, ...(parallel ? ["--parallel"] : [])],
  env: {
    PORT: "0",
    HOST: "127.0.0.1",
    KV_PATH: kvPath,
    API_KEY: KEY,
    MAX_MESSAGE_BYTES: "100000",
    ALLOW_ANONYMOUS: "1",
    LOG_LEVEL: "info",
    ...(parallel ? { WORKERS: "2" } : {}),
  },
  stdout: "piped",
  stderr: "piped",
}).spawn();
let output = "";
const decoder = new TextDecoder();
let onOutput = () => {};
const drain = async (stream: ReadableStream<Uint8Array>) => {
  for await (const chunk of stream) {
    output = (output + decoder.decode(chunk)).slice(-100_000);
    onOutput();
  }
};
const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
const port = await new Promise<number>((resolve, reject) => {
  const timer = setTimeout(
    () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited already.
      }
      reject(new Error(`No Listening line:\n${output}`));
    },
    20_000,
  );
  onOutput = () => {
    const match = output.match(/"msg":"Listening on [^"]*","port":(\d+)/);
    if (match) {
      clearTimeout(timer);
      resolve(Number(match[1]));
    }
  };
});
const base = `http://127.0.0.1:${port}`;

/** Per room: ack time (Date.now) by offset. */
const acks = new Map<string, Map<number, number>>();
let refused = 0;
let failed = 0;
let running = true;
const headers = {
  authorization: `Bearer ${KEY}`,
  "content-type": "application/json",
};

async function publisher(room: string): Promise<void> {
  const mine = new Map<number, number>();
  acks.set(room, mine);
  const url = `${base}/api/rooms/${room}/messages${
    durable ? "?durable=1" : ""
  }`;
  while (running) {
    try {
      const res = await fetch(url, { method: "POST", headers, body });
      if (res.status === 201) {
        const { offset } = await res.json();
        mine.set(offset, Date.now());
      } else {
        await res.body?.cancel();
        if (res.status === 503) refused += 1;
        else failed += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } catch {
      if (running) failed += 1;
      return;
    }
  }
}

async function backlog(): Promise<number> {
  const res = await fetch(`${base}/metrics`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  const text = await res.text();
  return Number(
    text.match(/^roomcast_history_backlog(?:\{[^}]*\})? (\d+)/m)?.[1] ?? 0,
  );
}

async function rssMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
}

const rooms = Array.from({ length: publishers }, (_, i) => `p${i}`);
const loops = rooms.map((room) => publisher(room));
let peakBacklog = 0;
let peakRss = 0;
const deadline = Date.now() + seconds * 1000;
while (Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 250));
  // In --parallel the supervisor owns the log: its gauge is not served.
  peakBacklog = Math.max(peakBacklog, await backlog().catch(() => 0));
  peakRss = Math.max(peakRss, await rssMb(child.pid).catch(() => 0));
}
const killedAt = Date.now();
child.kill("SIGKILL");
await child.status;
running = false;
await Promise.allSettled(loops);
await drained;

const kv = await Deno.openKv(kvPath);
let acked = 0;
let lost = 0;
let oldestLostMs = 0;
for (const room of rooms) {
  const head = (await kv.get(["roomcast", "v1", room, "head"])).value;
  const committed = typeof head === "object" && head !== null
    ? Number(Reflect.get(head, "offset"))
    : 0;
  for (const [offset, at] of acks.get(room) ?? []) {
    acked += 1;
    if (offset <= committed) continue;
    lost += 1;
    oldestLostMs = Math.max(oldestLostMs, killedAt - at);
  }
}
kv.close();
await Deno.remove(dir, { recursive: true });
// deno-lint-ignore no-console
console.log(JSON.stringify({
  mode: parallel ? "parallel" : "single",
  durable,
  seconds,
  publishers,
  acked,
  refused503: refused,
  failed,
  peakBacklog,
  peakRssMb: Math.round(peakRss),
  lostAcked: lost,
  lostMB: Math.round(lost * 60_000 / 1e5) / 10,
  oldestLostAckMs: oldestLostMs,
}));
