/**
 * Issue #10, item 3: what the Deno KV room log keeps on disk after many
 * large messages. Frames over 16,000 characters are stored in parts, and
 * the trim used to delete only a message's head, so its parts lived until
 * `HISTORY_TTL_MS` whatever `HISTORY_SIZE` said. Starts `main.ts` with
 * `HISTORY=kv` on a temporary file, the write-behind log (`--behind`, the
 * default) or write-through (`--through`), `HISTORY_SIZE` messages kept
 * (and `HISTORY_ROOM_BYTES` out of the way, so only the count trims);
 * publishes `COUNT` messages of `BYTES` into one room over the HTTP API (4
 * at a time, retrying a 503 `overloaded`), stops the server with SIGTERM
 * (it flushes), then counts the room's entries (`m` heads and `c` parts) in
 * the file and its size. Loopback only, bounded, cleans up.
 *
 *     deno run --allow-all tests/probes/kv_window.ts [--repo DIR] [--through] [COUNT=3000] [BYTES=60000] [HISTORY_SIZE=300]
 *
 * @module
 */

import {
  delay,
  numberArg,
  probeArgs,
  report,
  startServer,
  tempDir,
} from "./_probe.ts";

const args = probeArgs();
const through = args.flags.has("through");
const count = numberArg(args, 0, 3_000);
const bytes = numberArg(args, 1, 60_000);
const maxMessages = numberArg(args, 2, 300);
const KEY = `key-${crypto.randomUUID()}`;
const CONCURRENCY = 4;

await using dir = await tempDir();
const kvPath = `${dir.path}/history.kv`;
await using server = await startServer(args.repo, {
  HISTORY: "kv",
  HISTORY_WRITE: through ? "through" : "behind",
  HISTORY_SIZE: String(maxMessages),
  HISTORY_ROOM_BYTES: String(2 * maxMessages * (bytes + 1_000)),
  KV_PATH: kvPath,
  API_KEY: KEY,
  MAX_MESSAGE_BYTES: String(bytes + 1_000),
});
const url = `http://127.0.0.1:${server.port}/api/rooms/big/messages`;
const body = JSON.stringify({ data: "x".repeat(bytes) });
let next = 0;
let refused = 0;
const started = performance.now();
async function publisher(): Promise<void> {
  while (next < count) {
    next += 1;
    while (true) {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${KEY}`,
          "content-type": "application/json",
        },
        body,
      });
      await res.body?.cancel();
      if (res.status === 201) break;
      if (res.status !== 503) throw new Error(`Publish answered ${res.status}`);
      refused += 1;
      await delay(20);
    }
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, publisher));
const ms = Math.round(performance.now() - started);
server.process.kill("SIGTERM");
await server.process.status;

const kv = await Deno.openKv(kvPath);
const entries = { m: 0, c: 0 };
for await (const entry of kv.list({ prefix: ["roomcast", "v1", "big"] })) {
  if (entry.key[3] === "m") entries.m += 1;
  if (entry.key[3] === "c") entries.c += 1;
}
kv.close();
let size = 0;
for await (const file of Deno.readDir(dir.path)) {
  size += (await Deno.stat(`${dir.path}/${file.name}`)).size;
}
report({
  item: 3,
  repo: args.repo,
  mode: through ? "through" : "behind",
  count,
  bytes,
  maxMessages,
  ms,
  refused503: refused,
  heads: entries.m,
  parts: entries.c,
  fileMB: Math.round(size / 1e5) / 10,
});
