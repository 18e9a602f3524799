/**
 * Issue #10, item 5: in-memory history was bounded by message count only
 * (`HISTORY_SIZE`, 300 per room), so 45 sockets publishing 60 KB each into
 * their own rooms, within the default rate limit (20/s), made the server
 * hold 45 × 300 × 60 KB. Runs that for `SECONDS` with `HISTORY=memory` and
 * reports the server's RSS before and at its peak, with the history gauges
 * of `/metrics` where the server has them. RSS alone is noisy (V8 collects
 * late), so the telling run caps the server's heap: with
 * `SERVER_V8_FLAGS=--max-old-space-size=512` the unfixed server dies out of
 * memory (`serverExit` is its exit code). `SERVER_ROOM_BYTES` sets the
 * server's `HISTORY_ROOM_BYTES`; `SERVER_V8_FLAGS` its `DENO_V8_FLAGS`.
 * Loopback only, one server, stops by itself.
 *
 *     [SERVER_V8_FLAGS=--max-old-space-size=512] deno run --allow-all tests/probes/history_rss.ts [--repo DIR] [SECONDS=20]
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
} from "./_probe.ts";

const args = probeArgs();
const seconds = numberArg(args, 0, 20);
const SOCKETS = 45;
const KEY = `key-${crypto.randomUUID()}`;
const roomBytes = Deno.env.get("SERVER_ROOM_BYTES");

await using server = await startServer(args.repo, {
  HISTORY: "memory",
  BUS: "none",
  API_KEY: KEY,
  RATE_LIMIT_PER_S: "20",
  RATE_LIMIT_BURST: "40",
  ...(roomBytes ? { HISTORY_ROOM_BYTES: roomBytes } : {}),
});
const pid = server.process.pid;
let serverExit: number | null = null;
server.process.status.then((status) => serverExit = status.code);
const rss = () => rssMb(pid).then((mb) => mb || 0, () => 0);
const sockets: ProbeSocket[] = [];
let acks = 0;
try {
  for (let i = 0; i < SOCKETS; i++) {
    const socket = await ProbeSocket.open(`${server.wsUrl}?user=u${i}`);
    sockets.push(socket);
    socket.send({ type: "join", room: `r${i}` });
    await socket.next("joined");
    socket.keep = false;
    socket.socket.addEventListener("message", (event) => {
      if (String(event.data).startsWith('{"type":"ack"')) acks += 1;
    });
  }
  const before = await rss();
  let peak = before;
  const data = "x".repeat(60_000);
  let sent = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end && serverExit === null) {
    sockets.forEach((socket, i) => {
      socket.send({ type: "publish", room: `r${i}`, data, id: sent++ });
    });
    await delay(50);
    if (sent % (SOCKETS * 10) === 0) peak = Math.max(peak, await rss());
  }
  await delay(500);
  peak = Math.max(peak, await rss());
  const metrics = await fetch(`http://127.0.0.1:${server.port}/metrics`, {
    headers: { authorization: `Bearer ${KEY}` },
  }).then((res) => res.text(), () => "");
  report({
    item: 5,
    repo: args.repo,
    seconds,
    sockets: SOCKETS,
    sent,
    acks,
    sentMB: Math.round(sent * 60_000 / 1e6),
    rssBeforeMB: Math.round(before),
    rssPeakMB: Math.round(peak),
    serverExit,
    outOfMemory: server.output().includes("out of memory"),
    history: metrics.split("\n")
      .filter((line) => /^roomcast_history_(memory_bytes|evicted)/.test(line)),
  });
} finally {
  await Promise.all(sockets.map((socket) => socket.close()));
}
