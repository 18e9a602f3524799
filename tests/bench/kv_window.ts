/**
 * Measures what the Deno KV room log keeps on disk after many large
 * messages: publishes `COUNT` frames of `BYTES` into one room with
 * `HISTORY_SIZE` messages kept, through the write-behind (`--behind`, the
 * default) or write-through (`--through`) log, then counts the room's
 * entries (`m` heads and `c` parts) and the file size. Bounded: one room,
 * one temporary file, removed at the end.
 *
 *     deno run --allow-read --allow-write --unstable-kv tests/bench/kv_window.ts [--through] [COUNT] [BYTES] [HISTORY_SIZE]
 *
 * @module
 */

import { roomKey } from "../../lib/room_log/_kv_layout.ts";
import type { RoomLog } from "../../lib/room_log/room_log.ts";
import { KvLog } from "../../lib/room_log/kv.ts";
import { KvBehindLog } from "../../lib/room_log/kv_behind.ts";

const args = Deno.args.filter((a) => !a.startsWith("--"));
const through = Deno.args.includes("--through");
const count = Number(args[0] ?? 6_000);
const bytes = Number(args[1] ?? 60_000);
const maxMessages = Number(args[2] ?? 300);
const limits = { maxMessages, ttlMs: 300_000 };

const dir = await Deno.makeTempDir();
const path = `${dir}/history.kv`;
const kv = await Deno.openKv(path);
const log: RoomLog = through
  ? new KvLog(kv, limits)
  : await KvBehindLog.open(kv, { ...limits, flushMs: 10 });
const text = "x".repeat(bytes);
for (let i = 0; i < count; i++) {
  await log.append("big", [{ data: { i, text }, ts: Date.now(), from: "m" }]);
  if (log instanceof KvBehindLog && log.stats.backlog > 50) await log.flush();
}
await log.close();

const reader = await Deno.openKv(path);
const entries = { m: 0, c: 0 };
for await (const entry of reader.list({ prefix: roomKey("big") })) {
  if (entry.key[3] === "m") entries.m += 1;
  if (entry.key[3] === "c") entries.c += 1;
}
reader.close();
let size = 0;
for await (const file of Deno.readDir(dir)) {
  size += (await Deno.stat(`${dir}/${file.name}`)).size;
}
await Deno.remove(dir, { recursive: true });
// deno-lint-ignore no-console
console.log(JSON.stringify({
  mode: through ? "through" : "behind",
  count,
  bytes,
  maxMessages,
  heads: entries.m,
  parts: entries.c,
  fileMB: Math.round(size / 1e5) / 10,
}));
