/**
 * Issue #10, item 4: what a crash of the write-behind log loses under heavy
 * large publishing: starts `main.ts` (Deno KV on a temporary file), lets
 * `PUBLISHERS` HTTP API publishers post 60 KB messages (one room each, as
 * fast as they are answered; after a 503 `overloaded` they retry 20 ms
 * later) for `SECONDS`, samples the backlog (`/metrics`) and RSS, then
 * SIGKILLs the server and reads the committed heads from the file. Lost =
 * acknowledged (201) offsets above the committed head; their oldest ack's
 * age at the kill is the real loss window. Loopback only, bounded in time,
 * cleans up.
 *
 *     deno run --allow-all tests/probes/crash_loss.ts [--repo DIR] [SECONDS=10] [PUBLISHERS=8] [--parallel] [--durable]
 *
 * @module
 */

import {
  delay,
  numberArg,
  probeArgs,
  report,
  rssMb,
  startServer,
  tempDir,
} from "./_probe.ts";

const args = probeArgs();
const seconds = numberArg(args, 0, 10);
const publishers = numberArg(args, 1, 8);
const parallel = args.flags.has("parallel");
const durable = args.flags.has("durable");
const KEY = `key-${crypto.randomUUID()}`;
const body = JSON.stringify({ data: "x".repeat(60_000) });

await using dir = await tempDir();
const kvPath = `${dir.path}/roomcast.kv`;
await using server = await startServer(
  args.repo,
  {
    KV_PATH: kvPath,
    HISTORY: "kv",
    API_KEY: KEY,
    MAX_MESSAGE_BYTES: "100000",
    ...(parallel ? { WORKERS: "2" } : {}),
  },
  parallel ? ["--parallel"] : [],
);
const child = server.process;
const base = `http://127.0.0.1:${server.port}`;

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
        const answer: unknown = await res.json();
        mine.set(Number(Reflect.get(Object(answer), "offset")), Date.now());
      } else {
        await res.body?.cancel();
        if (res.status === 503) refused += 1;
        else failed += 1;
        await delay(20);
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

const rooms = Array.from({ length: publishers }, (_, i) => `p${i}`);
const loops = rooms.map((room) => publisher(room));
let peakBacklog = 0;
let peakRss = 0;
const deadline = Date.now() + seconds * 1000;
while (Date.now() < deadline) {
  await delay(250);
  // In --parallel the supervisor owns the log: its gauge is not served.
  peakBacklog = Math.max(peakBacklog, await backlog().catch(() => 0));
  peakRss = Math.max(peakRss, await rssMb(child.pid).catch(() => 0));
}
const killedAt = Date.now();
child.kill("SIGKILL");
await child.status;
running = false;
await Promise.allSettled(loops);

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
report({
  item: 4,
  repo: args.repo,
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
});
