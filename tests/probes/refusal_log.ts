/**
 * Issue #10, item 8: refusals used to write one log line per request, so
 * anyone with a wrong key could fill the disk. Sends `COUNT` HTTP API
 * requests with a wrong key (100 at a time) and reports the log lines and
 * bytes the server wrote meanwhile (at `LOG_LEVEL=info`). Loopback only,
 * one server, stops by itself.
 *
 *     deno run --allow-all tests/probes/refusal_log.ts [--repo DIR] [COUNT=20000]
 *
 * @module
 */

import { delay, numberArg, probeArgs, report, startServer } from "./_probe.ts";

const args = probeArgs();
const count = numberArg(args, 0, 20_000);
const BATCH = 100;

await using server = await startServer(args.repo, {
  API_KEY: `key-${crypto.randomUUID()}`,
  LOG_LEVEL: "info",
});
const base = `http://127.0.0.1:${server.port}`;
await delay(200);
const before = server.output();
const statuses = new Map<number, number>();
const started = performance.now();
for (let sent = 0; sent < count; sent += BATCH) {
  await Promise.all(
    Array.from({ length: Math.min(BATCH, count - sent) }, async () => {
      const res = await fetch(`${base}/api/rooms`, {
        headers: { authorization: "Bearer wrong" },
      });
      await res.body?.cancel();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }),
  );
}
const ms = Math.round(performance.now() - started);
await delay(300);
const written = server.output().slice(before.length);
report({
  item: 8,
  repo: args.repo,
  requests: count,
  statuses: Object.fromEntries(statuses),
  ms,
  logLines: written.split("\n").length - 1,
  logBytes: new TextEncoder().encode(written).byteLength,
});
