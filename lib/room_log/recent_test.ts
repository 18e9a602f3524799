import assert from "node:assert/strict";
import { MemoryLog } from "./memory.ts";
import { readRecent } from "./recent.ts";

async function filled(count: number, maxMessages: number) {
  const log = new MemoryLog({ maxMessages, ttlMs: 60_000 });
  const items = Array.from(
    { length: count },
    (_, i) => ({ data: i + 1, ts: Date.now(), from: "a" }),
  );
  const stored = await log.append("r", items);
  return { log, head: { offset: count, epoch: stored[0]!.epoch } };
}

Deno.test("readRecent() returns the latest count, oldest first", async () => {
  const { log, head } = await filled(10, 100);
  const recent = await readRecent(log, "r", head, 4);
  assert.deepEqual(recent.map((m) => m.offset), [7, 8, 9, 10]);
  assert.deepEqual(
    await readRecent(log, "r", head, 50),
    await readRecent(log, "r", head, 10),
  );
  assert.equal((await readRecent(log, "r", head, 50)).length, 10);
});

Deno.test("readRecent() halves a window that reaches past the trimmed history, never empty while some is kept", async () => {
  const { log, head } = await filled(10, 3);
  const recent = await readRecent(log, "r", head, 10);
  assert.ok(recent.length >= 1 && recent.length <= 3, String(recent.length));
  assert.equal(recent.at(-1)?.offset, 10);
});

Deno.test("readRecent() of an empty room is empty", async () => {
  const log = new MemoryLog({ maxMessages: 10, ttlMs: 60_000 });
  assert.deepEqual(
    await readRecent(log, "r", { offset: 0, epoch: "e" }, 5),
    [],
  );
});
