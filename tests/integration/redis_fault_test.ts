/**
 * Faults on the Redis engine: Redis restarted mid-stream (no persistence,
 * so every room starts a new epoch), and a server process killed
 * mid-stream. Each test prints sent / received / lost / duplicated.
 */
import assert from "node:assert/strict";
import type { RoomMessage, StreamPosition } from "../../lib/protocol/mod.ts";
import { report, TestClient } from "../_support/harness.ts";
import { spawnServer } from "../_support/process.ts";
import {
  skipWithoutRedis,
  startRedis,
  startRedisNode,
  waitFor,
} from "../_support/redis.ts";

const ignore = skipWithoutRedis();

interface Tally {
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
}

/** Counts what a consumer got of `expected` (message data values). */
function tally(expected: number[], messages: RoomMessage[]): Tally {
  const want = new Set(expected);
  const seen = new Set<number>();
  let duplicated = 0;
  for (const m of messages) {
    const n = Number(m.data);
    if (seen.has(n)) duplicated += 1;
    seen.add(n);
  }
  const lost = [...want].filter((n) => !seen.has(n)).length;
  return { sent: want.size, received: messages.length, lost, duplicated };
}

function line(label: string, t: Tally): string {
  return `${label}: sent ${t.sent}, received ${t.received}, lost ${t.lost}, duplicated ${t.duplicated}`;
}

/** Reads messages until the one carrying `last`, checking order. */
async function until(client: TestClient, last: number, into: RoomMessage[]) {
  while (into.length === 0 || Number(into.at(-1)!.data) < last) {
    const m = await client.next("message");
    if (into.length > 0) {
      assert.ok(Number(m.data) > Number(into.at(-1)!.data), "in order");
    }
    into.push(m);
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

interface RestartFigures {
  outageMs: number;
  live: Tally[];
  resumed: Tally;
}

/**
 * Two nodes, a publisher and watchers; Redis is killed mid-stream and
 * restarted, empty or (`persist`) with its data. Publishes during the outage
 * must get error frames. A client that comes back with its old position gets
 * recovered:false and the new head when the data is gone, or the whole gap
 * when it survived.
 */
async function restartMidStream(persist: boolean): Promise<RestartFigures> {
  const dir = persist ? await Deno.makeTempDir() : undefined;
  await using redis = await startRedis(
    dir === undefined ? {} : { persistDir: dir },
  );
  await using a = await startRedisNode(redis.url);
  await using b = await startRedisNode(redis.url);
  await using publisher = await TestClient.open(`${a.wsUrl}?user=pub`);
  await using onA = await TestClient.open(`${a.wsUrl}?user=wa`);
  await using onB = await TestClient.open(`${b.wsUrl}?user=wb`);
  const resumer = await TestClient.open(`${b.wsUrl}?user=res`);
  for (const c of [publisher, onA, onB, resumer]) await c.join("feed");
  const got = new Map([onA, onB, resumer].map((c) => [c, [] as RoomMessage[]]));
  const publish = (from: number, to: number) => {
    for (let i = from; i <= to; i++) {
      publisher.send({
        type: "publish",
        room: "feed",
        data: i,
        id: i,
        echo: false,
      });
    }
  };
  publish(1, 300);
  for (const c of [onA, onB, resumer]) await until(c, 300, got.get(c)!);
  for (let i = 1; i <= 300; i++) await publisher.next("ack");
  const last = got.get(resumer)!.at(-1)!;
  const before: StreamPosition = { offset: last.offset, epoch: last.epoch };
  await resumer.close();

  await redis.kill();
  await waitFor(() => !a.ready() && !b.ready(), "both nodes see the outage");
  const outageStart = performance.now();
  publish(301, 350);
  const errors = [];
  for (let i = 301; i <= 350; i++) errors.push(await publisher.next("error"));
  assert.ok(errors.every((e) => e.code === "internal"));
  assert.deepEqual(
    errors.map((e) => Number(e.ref)).sort((x, y) => x - y),
    range(301, 350),
  );

  await redis.restart();
  await waitFor(() => a.ready() && b.ready(), "both nodes reconnect");
  const outageMs = Math.round(performance.now() - outageStart);
  publish(351, 650);
  for (let i = 351; i <= 650; i++) {
    assert.equal((await publisher.next("ack")).id, i);
  }
  await using back = await TestClient.open(`${a.wsUrl}?user=res`);
  back.send({ type: "join", room: "feed", since: before });
  const joined = await back.next("joined");
  assert.equal(joined.recovered, persist);
  assert.equal(joined.epoch === before.epoch, persist);
  publish(651, 700);
  for (let i = 651; i <= 700; i++) await publisher.next("ack");
  const after = got.get(resumer)!;
  await until(back, 700, after);
  for (const c of [onA, onB]) await until(c, 700, got.get(c)!);
  if (dir !== undefined) await Deno.remove(dir, { recursive: true });
  const accepted = range(1, 700).filter((n) => n <= 300 || n > 350);
  return {
    outageMs,
    live: [onA, onB].map((c) => tally(accepted, got.get(c)!)),
    // Without the data, what was published while it was away is not replayed.
    resumed: tally(
      persist ? accepted : accepted.filter((n) => n <= 300 || n > 650),
      after,
    ),
  };
}

Deno.test({
  name:
    "Redis restarted empty mid-stream: publishes get error frames, clients coming back get recovered:false",
  ignore,
  async fn() {
    const { outageMs, live, resumed } = await restartMidStream(false);
    report(
      `redis restarted empty (outage ${outageMs} ms, 50 publishes answered with error frames): ` +
        [
          line("stayed connected, node A", live[0]!),
          line("stayed connected, node B", live[1]!),
          line("came back with since (recovered:false)", resumed),
        ].join("; "),
    );
    assert.equal(resumed.lost, 0);
    for (const t of [...live, resumed]) assert.equal(t.duplicated, 0);
  },
});

Deno.test({
  name:
    "Redis restarted empty mid-stream: clients that stayed connected get every message of the new epoch",
  ignore,
  async fn() {
    const { live } = await restartMidStream(false);
    for (const t of live) assert.equal(t.lost, 0);
  },
});

Deno.test({
  name:
    "Redis restarted with its data (AOF) mid-stream: streams go on, clients coming back get the whole gap",
  ignore,
  async fn() {
    const { outageMs, live, resumed } = await restartMidStream(true);
    report(
      `redis restarted with AOF (outage ${outageMs} ms, 50 publishes answered with error frames): ` +
        [
          line("stayed connected, node A", live[0]!),
          line("stayed connected, node B", live[1]!),
          line("came back with since (recovered:true)", resumed),
        ].join("; "),
    );
    for (const t of [...live, resumed]) {
      assert.equal(t.lost, 0);
      assert.equal(t.duplicated, 0);
    }
  },
});

Deno.test({
  name:
    "a server process killed mid-stream: its clients resume on another, no loss; presence drops its members",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using redis = await startRedis();
    const env = {
      REDIS_URL: redis.url,
      PRESENCE_INTERVAL_MS: "100",
      PRESENCE_TIMEOUT_MS: "600",
      HISTORY_SIZE: "10000",
    };
    await using survivor = await spawnServer(env);
    const victim = await spawnServer(env);
    const open = (node: { wsUrl: string }, user: string) =>
      TestClient.open(`${node.wsUrl}?user=${user}`);
    const publisher = await open(survivor, "pub");
    const watcher = await open(survivor, "watch");
    const victims = [await open(victim, "v0"), await open(victim, "v1")];
    const ghost = await open(victim, "ghost"); // never comes back
    const epochs = new Map<TestClient, string>();
    for (const c of [publisher, watcher, ...victims, ghost]) {
      c.send({ type: "join", room: "feed", meta: {} }); // in presence
      epochs.set(c, (await c.next("joined")).epoch);
    }
    const got = new Map(
      [watcher, ...victims].map((c) => [c, [] as RoomMessage[]]),
    );
    const total = 2_000;
    const publish = (from: number, to: number) => {
      for (let i = from; i <= to; i++) {
        publisher.send({ type: "publish", room: "feed", data: i, echo: false });
      }
    };
    publish(1, 1_000);
    for (const c of victims) await until(c, 500, got.get(c)!);

    const killedAt = performance.now();
    await victim[Symbol.asyncDispose](); // SIGKILL
    publish(1_001, total);
    while (true) {
      const p = await watcher.next("presence");
      if (p.event === "leave" && p.member.id === "ghost") break;
    }
    const presenceMs = Math.round(performance.now() - killedAt);
    const back: TestClient[] = [];
    for (const c of victims) {
      assert.notEqual((await c.closed).code, 1000);
      const mine = got.get(c)!;
      const since = { offset: mine.at(-1)!.offset, epoch: epochs.get(c)! };
      const again = await open(survivor, c.memberId);
      again.send({ type: "join", room: "feed", since });
      assert.equal((await again.next("joined")).recovered, true);
      await until(again, total, mine);
      back.push(again);
    }
    await until(watcher, total, got.get(watcher)!);
    const figures = [...got.values()].map((m) => tally(range(1, total), m));
    const sum = (k: keyof Tally) => figures.reduce((s, f) => s + f[k], 0);
    report(
      `node process killed: ${figures.length} clients, sent ${total} each, received ${
        sum("received")
      }, ` +
        `lost ${sum("lost")}, duplicated ${sum("duplicated")}; ` +
        `ghost member left after ${presenceMs} ms (timeout 600 ms)`,
    );
    assert.equal(sum("lost"), 0);
    assert.equal(sum("duplicated"), 0);
    for (const c of [publisher, watcher, ...back]) await c.close();
  },
});
