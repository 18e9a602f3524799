/**
 * No sticky sessions across processes: two `main.ts` processes on one real
 * Redis; a stream held by one, its POSTs sent to the other. They are routed
 * over Redis to the holder, applied in order and answered once applied; the
 * SDK on SSE works the same with its POSTs landing on the other process.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createClient } from "../../lib/client/mod.ts";
import { report, TestClient } from "../_support/harness.ts";
import { spawnServer } from "../_support/process.ts";
import { skipWithoutRedis, startRedis } from "../_support/redis.ts";
import { next } from "../_support/sdk.ts";
import { SseClient } from "../_support/sse.ts";

const ignore = skipWithoutRedis();

Deno.test({
  name:
    "SSE on two processes on Redis: POSTs reaching the other process are routed to the stream's, applied in order; the SDK too",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using redis = await startRedis();
    const env = { REDIS_URL: redis.url, SSE_HEARTBEAT_MS: "60000" };
    await using a = await spawnServer(env);
    await using b = await spawnServer(env);
    const holder = `http://127.0.0.1:${a.port}`;
    const other = `http://127.0.0.1:${b.port}`;
    await using sse = await SseClient.session(`${holder}/sse?user=ann`);
    await using bob = await TestClient.open(`${b.wsUrl}?user=bob`);
    await bob.join("x");

    // Sent to the other process: routed there and back.
    const post = async (base: string, body: unknown) => {
      const res = await fetch(`${base}/sse/${sse.session}?user=ann`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200, await res.clone().text());
      // The holder reports its bucket, routed or not (TEST_ENV: a huge one).
      const { tokens, ...answer } = await res.json();
      assert.ok(tokens > 0 && tokens <= 1_000_000, String(tokens));
      return answer;
    };
    assert.deepEqual(await post(other, { type: "join", room: "x" }), {
      applied: 1,
      routed: true,
    });
    await sse.next("joined", { skip: true });
    const N = 40;
    let routed = 0;
    for (let i = 1; i <= N; i++) {
      // Alternating: the holder's own, then the other's, in order.
      const body = await post(i % 2 === 0 ? other : holder, [
        { type: "publish", room: "x", data: i, id: i },
        { type: "ping", id: `p${i}` },
      ]);
      assert.deepEqual(body, { applied: 2, routed: i % 2 === 0 });
      if (body.routed) routed++;
    }
    for (let i = 1; i <= N; i++) {
      assert.equal((await sse.next("message", { skip: true })).data, i);
      assert.equal((await bob.next("message", { skip: true })).data, i);
    }
    // Someone else cannot use the session from the other process either.
    const stolen = await fetch(`${other}/sse/${sse.session}?user=eve`, {
      method: "POST",
      body: JSON.stringify({ type: "ping" }),
    });
    assert.equal(stolen.status, 403);
    await stolen.body?.cancel();

    // The SDK on SSE: its stream on the holder, every POST sent to the other.
    const sdkPosts: boolean[] = [];
    const toOther: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      url.port = String(b.port);
      const res = await fetch(url, init);
      const body = await res.clone().json();
      sdkPosts.push(res.status === 200 && body.routed === true);
      return res;
    };
    const client = createClient(`${holder.replace("http", "ws")}/ws`, {
      transports: ["sse"],
      user: "cid",
      fetch: toOther,
    });
    try {
      const joined = next(client, "joined");
      client.join("x");
      await joined;
      const acks = await Promise.all(
        Array.from({ length: 20 }, (_, i) => client.publish("x", `sdk${i}`)),
      );
      const offsets = acks.map((ack) => ack.offset);
      assert.deepEqual(offsets, [...offsets].sort((x, y) => x - y));
      for (let i = 0; i < 20; i++) {
        const message = await bob.next("message", { skip: true });
        assert.deepEqual([message.data, message.offset], [
          `sdk${i}`,
          offsets[i],
        ]);
      }
      assert.ok((await client.ping()) >= 0);
      assert.ok(sdkPosts.length > 0);
      assert.ok(sdkPosts.every(Boolean), "every SDK POST was routed");
    } finally {
      client.close();
    }
    report(
      `sse on redis: ${N} POSTs, ${routed} routed to the other process, in order; SDK 20 publishes acked in ${sdkPosts.length} POSTs, all routed`,
    );
  },
});
