/** openEngine(): embedded without REDIS_URL, Redis with it, patient with a Redis that is not there yet. */
import assert from "node:assert/strict";
import { parseConfig } from "../support/config.ts";
import { openEngine, writesBehind } from "./engine.ts";
import { KvLog } from "../room_log/kv.ts";
import { KvBehindLog } from "../room_log/kv_behind.ts";
import { LeaseHeldError } from "../room_log/kv_lease.ts";
import { MemoryLog } from "../room_log/memory.ts";
import { type LogFields, type Logger, silentLogger } from "../support/log.ts";
import {
  freePort,
  skipWithoutRedis,
  startRedis,
  waitFor,
} from "../../tests/_support/redis.ts";

/** A logger that keeps what it is told. */
function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (msg: string, fields?: LogFields) =>
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  return {
    lines,
    debug: () => {},
    info: keep("info"),
    warn: keep("warn"),
    error: keep("error"),
  };
}

Deno.test("openEngine() without REDIS_URL: the embedded log, the default bus", async () => {
  const config = parseConfig(new Map([["HISTORY", "memory"]]));
  const engine = await openEngine(config, silentLogger);
  assert.ok(engine.history instanceof MemoryLog);
  assert.equal(engine.transport, undefined);
  assert.equal(engine.ready(), true);
  await engine.close();
});

Deno.test("writesBehind(): auto means one isolate on a local file; explicit settings win", () => {
  const cases: Array<[Record<string, string>, boolean]> = [
    [{}, true], // deno task dev
    [{ WORKERS: "2" }, false], // a Worker of --parallel
    [{ KV_PATH: "" }, false], // Deno Deploy's shared KV
    [{ HISTORY_WRITE: "through" }, false],
    [{ HISTORY_WRITE: "behind", KV_PATH: "" }, true],
  ];
  for (const [env, expected] of cases) {
    const config = parseConfig(new Map(Object.entries(env)));
    assert.equal(writesBehind(config), expected, JSON.stringify(env));
  }
});

Deno.test("openEngine() on KV: one isolate writes behind and holds the file; a second server gets a clear refusal", async () => {
  const dir = await Deno.makeTempDir();
  const env = new Map([["KV_PATH", `${dir}/r.kv`]]);
  const first = await openEngine(parseConfig(env), silentLogger);
  assert.ok(first.history instanceof KvBehindLog);
  await assert.rejects(
    openEngine(
      parseConfig(new Map([...env, ["HISTORY_WRITE", "through"]])),
      silentLogger,
    ).then(async (second) => {
      assert.ok(second.history instanceof KvLog);
      try {
        await second.history.append("r", [{ data: 1, ts: 1, from: "a" }]);
      } finally {
        await second.close();
      }
    }),
    (error: unknown) =>
      error instanceof LeaseHeldError &&
      /HISTORY_WRITE=through/.test(error.message),
  );
  await first.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name:
    "openEngine() with Redis not there yet: not ready, logs once, fails fast, then connects by itself",
  ignore: skipWithoutRedis(),
  async fn() {
    const port = freePort();
    const log = recorder();
    const config = parseConfig(
      new Map([["REDIS_URL", `redis://127.0.0.1:${port}`]]),
    );
    const engine = await openEngine(config, log);
    assert.equal(engine.ready(), false);
    assert.ok(engine.transport !== undefined);
    await assert.rejects(engine.history.head("r"));
    await waitFor(
      () => log.lines.some((l) => l.startsWith("error")),
      "the error line",
    );
    const errors = log.lines.filter((l) => l.startsWith("error"));
    assert.equal(errors.length, 1, errors.join("\n")); // once per outage
    assert.match(errors[0]!, /Redis unreachable: retrying with backoff/);
    assert.match(errors[0]!, new RegExp(`127\\.0\\.0\\.1:${port}`));
    await using redis = await startRedis({ port });
    await waitFor(engine.ready, "the engine connects", 15_000);
    assert.equal((await engine.history.head("r")).offset, 0);
    assert.equal(redis.port, port);
    await engine.close();
    assert.equal(engine.ready(), false);
    // Wrong credentials: retried like an outage, and never written to the log.
    const denied = recorder();
    const url = `redis://someone:secret@127.0.0.1:${port}`;
    const locked = await openEngine(
      parseConfig(new Map([["REDIS_URL", url]])),
      denied,
    );
    await waitFor(() => denied.lines.length > 0, "the error line");
    assert.equal(locked.ready(), false);
    assert.doesNotMatch(denied.lines.join("\n"), /secret/);
    await locked.close();
  },
});
