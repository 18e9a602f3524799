/**
 * Resume: a client that comes back with `since` gets every message it missed
 * once, in order, then the live ones; a server restart with the KV backend
 * loses nothing inside the window; an unknown epoch gets recovered:false, and
 * so does a position a killed server delivered but never stored.
 */
import assert from "node:assert/strict";
import type { RoomMessage } from "../../lib/protocol/mod.ts";
import { report, startTestServer, TestClient } from "../_support/harness.ts";
import { spawnServer } from "../_support/process.ts";

/** Tallies what a consumer got against what was published. */
function tally(name: string, sent: number, received: RoomMessage[]) {
  const seen = new Set<number>();
  let duplicated = 0;
  let outOfOrder = 0;
  let last = 0;
  for (const m of received) {
    const n = Number(m.data);
    if (seen.has(n)) duplicated += 1;
    if (n < last) outOfOrder += 1;
    seen.add(n);
    last = n;
  }
  const lost = sent - seen.size;
  report(
    `${name}: sent ${sent}, received ${received.length}, lost ${lost}, ` +
      `duplicated ${duplicated}, out of order ${outOfOrder}`,
  );
  assert.equal(lost, 0, "lost");
  assert.equal(duplicated, 0, "duplicated");
  assert.equal(outOfOrder, 0, "out of order");
}

async function collect(client: TestClient, until: number) {
  const got: RoomMessage[] = [];
  while (got.length === 0 || Number(got.at(-1)!.data) < until) {
    got.push(await client.next("message"));
  }
  return got;
}

Deno.test("resume after a forced disconnect while messages keep flowing: every message once, in order", async () => {
  await using server = await startTestServer({
    env: { HISTORY_SIZE: "5000" },
  });
  await using publisher = await TestClient.open(server.wsUrl);
  await publisher.join("feed");
  const consumer = await TestClient.open(server.wsUrl);
  const joined = await consumer.join("feed");
  const total = 3000;
  let published = 0;
  const publishSome = (n: number) => {
    for (let i = 0; i < n; i++) {
      publisher.send({
        type: "publish",
        room: "feed",
        data: ++published,
        echo: false,
      });
    }
  };
  publishSome(1000);
  const received = await collect(consumer, 300); // at least 300 arrived
  await consumer.close(); // cut mid-stream; the publisher goes on
  publishSome(1000);
  const position = {
    offset: received.at(-1)!.offset,
    epoch: joined.epoch,
  };
  const back = await TestClient.open(server.wsUrl);
  back.send({ type: "join", room: "feed", since: position });
  publishSome(1000); // live traffic while the replay is under way
  const resumed = await back.next("joined");
  assert.equal(resumed.recovered, true);
  assert.equal(resumed.offset, position.offset);
  received.push(...await collect(back, total));
  tally("forced disconnect", total, received);
  await back.close();
});

Deno.test("server restart with the KV backend: a resume loses nothing inside the window", async () => {
  const dir = await Deno.makeTempDir();
  const env = { HISTORY: "kv", KV_PATH: `${dir}/roomcast.kv` };
  let position: { offset: number; epoch: string };
  const received: RoomMessage[] = [];
  {
    await using first = await startTestServer({ env });
    await using publisher = await TestClient.open(first.wsUrl);
    await using consumer = await TestClient.open(first.wsUrl);
    const joined = await consumer.join("r");
    await publisher.join("r");
    for (let i = 1; i <= 100; i++) {
      publisher.send({ type: "publish", room: "r", data: i, echo: false });
    }
    received.push(...await collect(consumer, 100));
    await consumer.close();
    // Published after the consumer left, before the restart.
    for (let i = 101; i <= 150; i++) {
      publisher.send({
        type: "publish",
        room: "r",
        data: i,
        echo: false,
        id: i,
      });
    }
    await publisher.next("ack", { skip: true });
    while ((await publisher.next("ack", { skip: true })).id !== 150);
    position = { offset: received.at(-1)!.offset, epoch: joined.epoch };
  } // the first server shuts down here
  await using second = await startTestServer({ env });
  await using back = await TestClient.open(second.wsUrl);
  back.send({ type: "join", room: "r", since: position });
  const resumed = await back.next("joined");
  assert.equal(resumed.recovered, true);
  assert.equal(resumed.epoch, position.epoch);
  received.push(...await collect(back, 150));
  tally("restart (kv)", 150, received);
  // After a restart, new messages continue the same sequence.
  back.send({ type: "publish", room: "r", data: 151, id: "x" });
  assert.equal((await back.next("message")).offset, position.offset + 51);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("server restart with the memory backend, or an unknown epoch: recovered:false and the current position", async () => {
  let position: { offset: number; epoch: string };
  {
    await using first = await startTestServer();
    await using client = await TestClient.open(first.wsUrl);
    const joined = await client.join("r");
    client.send({ type: "publish", room: "r", data: 1 });
    const m = await client.next("message");
    position = { offset: m.offset, epoch: joined.epoch };
  }
  await using second = await startTestServer();
  await using back = await TestClient.open(second.wsUrl);
  back.send({ type: "join", room: "r", since: position });
  const resumed = await back.next("joined");
  assert.equal(resumed.recovered, false);
  assert.notEqual(resumed.epoch, position.epoch);
  assert.equal(resumed.offset, 0);
  for (
    const since of [
      { offset: 0, epoch: "made-up" },
      { offset: 99, epoch: resumed.epoch }, // from the future
    ]
  ) {
    await using other = await TestClient.open(second.wsUrl);
    other.send({ type: "join", room: "r", since });
    const j = await other.next("joined");
    assert.equal(j.recovered, false, JSON.stringify(since));
    assert.equal(j.epoch, resumed.epoch);
  }
});

Deno.test("a resume older than the window gets recovered:false, never a partial replay", async () => {
  await using server = await startTestServer({ env: { HISTORY_SIZE: "10" } });
  await using client = await TestClient.open(server.wsUrl);
  const joined = await client.join("r");
  for (let i = 1; i <= 30; i++) {
    client.send({ type: "publish", room: "r", data: i });
  }
  await collect(client, 30);
  await using late = await TestClient.open(server.wsUrl);
  late.send({
    type: "join",
    room: "r",
    since: { offset: 5, epoch: joined.epoch },
  });
  const j = await late.next("joined");
  assert.equal(j.recovered, false);
  assert.equal(j.offset, 30);
  client.send({ type: "publish", room: "r", data: 31 });
  // The first message the late client sees is the live one: no partial replay.
  assert.equal((await late.next("message")).offset, 31);
});

Deno.test("a killed server loses only unflushed history, and says so: the restart moves the room to a new epoch (recovered:false)", async () => {
  const dir = await Deno.makeTempDir();
  const env = { HISTORY: "kv", KV_PATH: `${dir}/roomcast.kv` };
  const publish = (client: TestClient, from: number, to: number) => {
    for (let i = from; i <= to; i++) {
      client.send({ type: "publish", room: "r", data: i, echo: false });
    }
  };
  let position: { offset: number; epoch: string };
  {
    // Run 1 stops cleanly: offsets 1–10 are stored.
    await using first = await spawnServer(env);
    const url = `ws://127.0.0.1:${first.port}/ws`;
    await using consumer = await TestClient.open(url);
    const joined = await consumer.join("r");
    await using publisher = await TestClient.open(url);
    await publisher.join("r");
    publish(publisher, 1, 10);
    const got = await collect(consumer, 10);
    position = { offset: got.at(-1)!.offset, epoch: joined.epoch };
    first.process.kill("SIGTERM");
    await first.process.status;
  }
  {
    // Run 2 delivers 11–20 and is killed before its flush (10 s away).
    await using second = await spawnServer({
      ...env,
      HISTORY_FLUSH_MS: "10000",
    });
    const url = `ws://127.0.0.1:${second.port}/ws`;
    await using consumer = await TestClient.open(url);
    consumer.send({ type: "join", room: "r", since: position });
    assert.equal((await consumer.next("joined")).recovered, true);
    await using publisher = await TestClient.open(url);
    await publisher.join("r");
    publish(publisher, 11, 20);
    const got = await collect(consumer, 20);
    position = { offset: got.at(-1)!.offset, epoch: position.epoch };
    second.process.kill("SIGKILL"); // no final flush
    await second.process.status;
  }
  // Run 3 starts at once (the dead holder's lease is recognised: same host,
  // process gone) and finds the room stored up to 10 only.
  await using third = await spawnServer(env);
  const url = `ws://127.0.0.1:${third.port}/ws`;
  await using back = await TestClient.open(url);
  back.send({ type: "join", room: "r", since: position });
  const resumed = await back.next("joined");
  report(
    `killed before flushing: resume from offset ${position.offset} → recovered ${resumed.recovered}, ` +
      `epoch ${position.epoch} → ${resumed.epoch}, head ${resumed.offset}`,
  );
  assert.equal(resumed.recovered, false, "the client must learn of the loss");
  assert.notEqual(
    resumed.epoch,
    position.epoch,
    "offsets 11–20 are not reused",
  );
  assert.equal(resumed.offset, 10);
  back.send({ type: "publish", room: "r", data: "after", id: "x" });
  const next = await back.next("message");
  assert.deepEqual([next.epoch, next.offset], [resumed.epoch, 11]);
  assert.match(third.output(), /start a new epoch","rooms":1/);
  await Deno.remove(dir, { recursive: true });
});
