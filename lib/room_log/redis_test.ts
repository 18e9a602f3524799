/**
 * What only the Redis room log must do (the shared behaviour is in
 * `room_log_test.ts`): one sequence across connections, exact frames,
 * trimming and expiry, and a Redis that lost its data.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../support/log.ts";
import { openRedis } from "../redis/client.ts";
import { roomKeys } from "../redis/keys.ts";
import { skipWithoutRedis, startRedis } from "../../tests/_support/redis.ts";
import { type NewMessage, storeMessage } from "./room_log.ts";
import { RedisLog } from "./redis.ts";

const ignore = skipWithoutRedis();
const limits = { maxMessages: 1_000, ttlMs: 60_000 };

function msg(i: number): NewMessage {
  return { data: { i }, ts: Date.now(), from: "c1" };
}

Deno.test({
  name: "RedisLog: two connections appending to one room never share an offset",
  ignore,
  async fn() {
    await using server = await startRedis();
    const a = await RedisLog.open(server.url, limits);
    const b = await RedisLog.open(server.url, limits);
    const appends = [];
    for (let i = 0; i < 50; i++) {
      appends.push(a.append("r", [msg(i)]), b.append("r", [msg(i), msg(i)]));
    }
    const offsets = (await Promise.all(appends)).flat().map((m) => m.offset);
    assert.deepEqual(
      offsets.sort((x, y) => x - y),
      Array.from({ length: 150 }, (_, i) => i + 1),
    );
    const since = await a.since("r", {
      offset: 0,
      epoch: (await b.head("r")).epoch,
    });
    assert.ok(since.recovered);
    assert.equal(since.messages.length, 150);
    await a.close();
    await b.close();
  },
});

Deno.test({
  name: "RedisLog: stored frames are exactly what storeMessage() builds",
  ignore,
  async fn() {
    await using server = await startRedis();
    const log = await RedisLog.open(server.url, limits);
    const ts = Date.now();
    const items: NewMessage[] = [
      { data: "1000000000000001 looks like an offset", ts, from: "x" },
      { data: { "épée": ["\u0000", '"', 12.5, null, true] }, ts, from: "y" },
      { data: "E0123456789abcdef", ts, from: "\u2028" },
    ];
    const stored = await log.append("r", items);
    for (const [i, m] of stored.entries()) {
      assert.equal(
        m.frame,
        storeMessage("r", items[i]!, m.offset, m.epoch).frame,
      );
    }
    const since = await log.since("r", { offset: 0, epoch: stored[0]!.epoch });
    assert.ok(since.recovered);
    assert.deepEqual(since.messages, stored);
    await log.close();
  },
});

Deno.test({
  name: "RedisLog: trims each room to maxMessages and sets expiries",
  ignore,
  async fn() {
    await using server = await startRedis();
    const log = await RedisLog.open(server.url, {
      maxMessages: 10,
      ttlMs: 30_000,
      metaTtlMs: 120_000,
      prefix: "t",
    });
    for (let i = 0; i < 5; i++) {
      await log.append("r", Array.from({ length: 7 }, (_, j) => msg(j)));
    }
    const redis = await openRedis(server.url, { log: silentLogger });
    await redis.whenReady();
    const keys = roomKeys("t", "r");
    assert.equal(await redis.command(["XLEN", keys.log]), 10);
    const first = await redis.command([
      "XRANGE",
      keys.log,
      "-",
      "+",
      "COUNT",
      "1",
    ]);
    assert.equal(JSON.stringify(first).includes('"26-0"'), true);
    const logTtl = Number(await redis.command(["PTTL", keys.log]));
    const headTtl = Number(await redis.command(["PTTL", keys.head]));
    assert.ok(logTtl > 25_000 && logTtl <= 30_000, `log PTTL ${logTtl}`);
    assert.ok(headTtl > 115_000 && headTtl <= 120_000, `head PTTL ${headTtl}`);
    await redis.close();
    await log.close();
  },
});

Deno.test({
  name:
    "RedisLog: a Redis restarted without its data starts a new epoch; old positions get recovered:false",
  ignore,
  async fn() {
    await using server = await startRedis();
    const log = await RedisLog.open(server.url, limits);
    const before = await log.append("r", [msg(1), msg(2), msg(3)]);
    const old = { offset: 3, epoch: before[0]!.epoch };
    await server.kill();
    await assert.rejects(log.append("r", [msg(4)]));
    await assert.rejects(log.head("r"));
    await server.restart();
    let head;
    for (let attempt = 0; head === undefined; attempt++) {
      // The client notices the restart on its own schedule: retry briefly.
      head = await log.head("r").catch(async (error) => {
        if (attempt > 200) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10));
      });
    }
    assert.notEqual(head.epoch, old.epoch);
    assert.equal(head.offset, 0);
    const result = await log.since("r", old);
    assert.equal(result.recovered, false);
    const [after] = await log.append("r", [msg(4)]);
    assert.deepEqual([after!.offset, after!.epoch], [1, head.epoch]);
    await log.close();
  },
});

Deno.test({
  name: "RedisLog: a malformed head in Redis is an error, never a value",
  ignore,
  async fn() {
    await using server = await startRedis();
    const log = await RedisLog.open(server.url, { ...limits, prefix: "m" });
    const redis = await openRedis(server.url, { log: silentLogger });
    await redis.whenReady();
    await redis.command([
      "HSET",
      roomKeys("m", "r").head,
      "epoch",
      "e",
      "offset",
      "x",
    ]);
    await assert.rejects(log.head("r"), TypeError);
    await assert.rejects(log.append("r", [msg(1)]));
    await redis.close();
    await log.close();
  },
});
