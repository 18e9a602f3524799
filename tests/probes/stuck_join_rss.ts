/**
 * Issue #10, item 2: a join whose meta fits the 1 KiB limit only without
 * the name the server adds from the token used to fail half-way (error
 * `internal`) and leave a pending member behind, for which every message
 * later published into the room was queued: the server's memory grew
 * without bound. Makes two such joins (ann,
 * whose token carries a name), then publishes `MESSAGES` × `KB` KB into
 * the room from a second client and samples the server's RSS; `--control`
 * publishes the same without the stuck joins. RSS alone is noisy (V8
 * collects when it likes), so the telling run caps the server's heap below
 * what the queue would hold: with `SERVER_V8_FLAGS=--max-old-space-size=200`
 * the unfixed server dies out of memory (`serverExit` is its exit code).
 * Loopback only, one server, stops by itself.
 *
 *     [SERVER_V8_FLAGS=--max-old-space-size=200] deno run --allow-all tests/probes/stuck_join_rss.ts [--repo DIR] [MESSAGES=6000] [KB=60] [--control]
 *
 * @module
 */

import {
  delay,
  numberArg,
  probeArgs,
  ProbeSocket,
  report,
  rssMb,
  startServer,
  token,
} from "./_probe.ts";

const args = probeArgs();
const messages = numberArg(args, 0, 6_000);
const kb = numberArg(args, 1, 60);
const control = args.flags.has("control");
const SECRET = `probe-${crypto.randomUUID()}`;

await using server = await startServer(args.repo, {
  HISTORY: "memory",
  BUS: "none",
  AUTH_SECRET: SECRET,
  ALLOW_ANONYMOUS: "0",
});
const pid = server.process.pid;
let serverExit: number | null = null;
server.process.status.then((status) => serverExit = status.code);
/** The server's RSS in MB, 0 once it has exited. */
const rss = () => rssMb(pid).then((mb) => mb || 0, () => 0);
const annToken = await token(SECRET, "ann", 600, { name: "Ann Example" });
await using ann = await ProbeSocket.open(`${server.wsUrl}?token=${annToken}`);
ann.keep = false;
const annSaw: string[] = [];
ann.socket.addEventListener("message", (event) => {
  if (annSaw.length < 3) annSaw.push(String(event.data).slice(0, 40));
});
const pad = "x".repeat(1010 - '{"pad":""}'.length);
if (!control) {
  ann.send({ type: "join", room: "r", id: "j1", meta: { pad } });
  ann.send({ type: "join", room: "r", id: "j2", meta: { pad } });
}
const bobToken = await token(SECRET, "bob", 600);
await using bob = await ProbeSocket.open(`${server.wsUrl}?token=${bobToken}`);
bob.send({ type: "join", room: "r" });
await bob.next("joined");
await delay(300);
const before = await rss();
let peak = before;
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    peak = Math.max(peak, await rss());
    await delay(50);
  }
})();
const data = "y".repeat(kb * 1000);
const started = performance.now();
let acks = 0;
const acked = (async () => {
  for (; acks < messages; acks++) await bob.next("ack", 30_000);
})().catch(() => {}); // the server died or stalled: acks says how far it got
for (let i = 1; i <= messages && serverExit === null; i++) {
  bob.send({ type: "publish", room: "r", data, id: i, echo: false });
  if (i % 10 === 0) await delay(5);
}
await acked;
const ms = Math.round(performance.now() - started);
await delay(500);
sampling = false;
await sampler;
report({
  item: 2,
  repo: args.repo,
  control,
  messages,
  kb,
  acks,
  ms,
  rssBeforeMB: Math.round(before),
  rssPeakMB: Math.round(peak),
  rssAfterMB: Math.round(await rss()),
  serverExit,
  outOfMemory: server.output().includes("out of memory"),
  annSaw,
});
