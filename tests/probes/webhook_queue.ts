/**
 * Issue #12, item 6: a webhook target that never answers must not slow
 * delivery, and the queue it fills must stay bounded. Starts `main.ts`
 * (Deno KV, the shipped webhook bounds) with a webhook URL that accepts the
 * request and never answers, sends `EVENTS` Pusher client events from 10
 * raw sockets, each on its own private channel, at about 2,000/s (each one a
 * `client_event` webhook), meanwhile publishes over the HTTP API to a native
 * member one message at a time until the flood ends, and reports the
 * publish round trips (request to delivery),
 * the queue's depth and bytes, the drops, the KV file and the RSS.
 * `--control` runs the same without a webhook. Loopback only, stops by
 * itself.
 *
 *     deno run --allow-all tests/probes/webhook_queue.ts [--control] [EVENTS=20000]
 *
 * @module
 */

import { createHmac } from "node:crypto";
import {
  delay,
  numberArg,
  probeArgs,
  ProbeSocket,
  report,
  rssMb,
  startServer,
  tempDir,
} from "./_probe.ts";

const args = probeArgs();
const events = numberArg(args, 0, 20_000);
const control = args.flags.has("control");
const APP = { id: "1", key: "probe-key", secret: "probe-secret" };
const API_KEY = `key-${crypto.randomUUID()}`;

// A target that reads the request and never answers.
let requests = 0;
const hang = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  (req) => {
    requests += 1;
    return new Promise<Response>((resolve) =>
      req.signal.addEventListener("abort", () => resolve(new Response(null)))
    );
  },
);

await using dir = await tempDir();
const kvPath = `${dir.path}/roomcast.kv`;
const hookPath = `${dir.path}/roomcast-webhooks.kv`;
const server = await startServer(args.repo, {
  API_KEY,
  KV_PATH: kvPath,
  WEBHOOK_TIMEOUT_MS: "120000",
  PUSHER_APPS: JSON.stringify([{
    ...APP,
    enable_client_messages: true,
    max_client_events_per_second: 1_000_000,
    ...(control
      ? {}
      : { webhooks: [{ url: `http://127.0.0.1:${hang.addr.port}/hook` }] }),
  }]),
});
const base = `http://127.0.0.1:${server.port}`;

/** A raw Pusher socket subscribed to `private-flood-<i>`. */
async function pusherSocket(i: number): Promise<WebSocket> {
  const ws = new WebSocket(
    `ws://127.0.0.1:${server.port}/app/${APP.key}?protocol=7`,
  );
  const socketId = await new Promise<string>((resolve) =>
    ws.addEventListener("message", (e) => {
      const frame = JSON.parse(String(e.data));
      if (frame.event === "pusher:connection_established") {
        resolve(JSON.parse(frame.data)["socket_id"]);
      }
    })
  );
  const channel = `private-flood-${i}`;
  const signature = createHmac("sha256", APP.secret)
    .update(`${socketId}:${channel}`).digest("hex");
  const subscribed = new Promise<void>((resolve) =>
    ws.addEventListener("message", (e) => {
      const frame = JSON.parse(String(e.data));
      if (frame.event === "pusher_internal:subscription_succeeded") resolve();
    })
  );
  ws.send(JSON.stringify({
    event: "pusher:subscribe",
    data: { channel, auth: `${APP.key}:${signature}` },
  }));
  await subscribed;
  return ws;
}

async function metric(name: string, reason?: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, {
    headers: { authorization: `Bearer ${API_KEY}` },
  })).text();
  const line = text.split("\n").find((l) =>
    l.startsWith(`roomcast_${name}{`) &&
    (reason === undefined || l.includes(`reason="${reason}"`))
  );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

const senders = await Promise.all(
  Array.from({ length: 10 }, (_, i) => pusherSocket(i)),
);
await using reader = await ProbeSocket.open(
  `ws://127.0.0.1:${server.port}/ws`,
);
reader.socket.send(JSON.stringify({ type: "join", room: "news" }));
await reader.next("joined");
let rssPeak = await rssMb(server.process.pid);

// The flood: client events, 2 per socket every 10 ms.
let sent = 0;
let flooding = true;
const flood = (async () => {
  while (sent < events) {
    senders.forEach((ws, i) => {
      for (let k = 0; k < 2 && sent < events; k++, sent++) {
        ws.send(JSON.stringify({
          event: "client-n",
          channel: `private-flood-${i}`,
          data: { n: sent, pad: "x".repeat(100) },
        }));
      }
    });
    await delay(10);
  }
  flooding = false;
})();

// Meanwhile: one publish at a time, timed from request to delivery.
const rounds: number[] = [];
const statuses = new Map<number, number>();
for (let n = 0; flooding || n < 200; n++) {
  const started = performance.now();
  const res = await fetch(`${base}/api/rooms/news/messages`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${API_KEY}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ data: { n } }),
  });
  await res.body?.cancel();
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  if (res.status !== 201) continue; // refused (e.g. 503 overloaded): counted
  await reader.next("message");
  rounds.push(performance.now() - started);
  if (n % 20 === 0) {
    rssPeak = Math.max(rssPeak, await rssMb(server.process.pid));
  }
}
await flood;
await delay(1_500); // the sender's next poll sets the gauges
rounds.sort((a, b) => a - b);
const pct = (p: number) =>
  Math.round(rounds[Math.floor(p * (rounds.length - 1))]! * 10) / 10;
const result = {
  item: "12.6",
  repo: args.repo,
  control,
  clientEvents: sent,
  publishRoundTripMs: { p50: pct(0.5), p99: pct(0.99), max: pct(1) },
  delivered: rounds.length,
  publishStatuses: Object.fromEntries(statuses),
  targetRequests: requests,
  queued: await metric("webhook_queued_total"),
  dropped: await metric("webhook_dropped_total", "queue_full"),
  clientEventsRelayed: await metric("pusher_client_events_total"),
  queueDepth: await metric("webhook_queue_depth"),
  queueBytes: await metric("webhook_queue_bytes"),
  kvFileMb: Math.round((await Deno.stat(kvPath)).size / 1e5) / 10,
  webhookKvFileMb: control
    ? 0
    : Math.round((await Deno.stat(hookPath)).size / 1e5) / 10,
  rssPeakMb: Math.round(Math.max(rssPeak, await rssMb(server.process.pid))),
};
for (const ws of senders) ws.close();
await server[Symbol.asyncDispose]();
report(result);
// The target's one request may never see its connection end: do not wait for it.
await Promise.race([hang.shutdown(), delay(1_000)]);
Deno.exit(0);
