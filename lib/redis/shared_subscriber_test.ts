import assert from "node:assert/strict";
import type { ChannelListener, RedisClient } from "./client.ts";
import { shareSubscriber, subscribeThrough } from "./shared_subscriber.ts";

/** A RedisClient that records (un)subscribes and lets the test deliver. */
function fakeRedis() {
  const calls: string[] = [];
  let listener: ChannelListener = () => {};
  const resubscribed: Array<() => void> = [];
  const client: RedisClient = {
    command: () => Promise.resolve(null),
    publish: () => Promise.resolve(0),
    run: () => Promise.resolve(null),
    subscribe(channels, l) {
      listener = l;
      calls.push(`sub ${channels.join(",")}`);
      return Promise.resolve();
    },
    unsubscribe(channels) {
      calls.push(`unsub ${channels.join(",")}`);
      return Promise.resolve();
    },
    onResubscribed: (fn) => resubscribed.push(fn),
    ready: () => true,
    whenReady: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return {
    client,
    calls,
    deliver: (text: string, ch: string) => listener(text, ch),
    /** Redis renewed the subscriptions after an interruption. */
    resubscribe: () => resubscribed.forEach((fn) => fn()),
  };
}

/** Resolves once `port` has received `count` more messages in `into`. */
function collect(into: string[], count: number) {
  return new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (into.length >= count) {
        clearInterval(check);
        resolve();
      }
    }, 1);
  });
}

Deno.test("shareSubscriber: a channel two Workers want is subscribed once, delivered to each, unsubscribed after the last", async () => {
  const redis = fakeRedis();
  const shared = shareSubscriber(redis.client, 1_000);
  const a = new MessageChannel();
  const b = new MessageChannel();
  shared.attach(a.port1);
  shared.attach(b.port1);
  const workerA = subscribeThrough(redis.client, a.port2);
  const workerB = subscribeThrough(redis.client, b.port2);
  const gotA: string[] = [];
  const gotB: string[] = [];
  await workerA.subscribe(["r"], (text) => gotA.push(text));
  await workerB.subscribe(["r", "s"], (text) => gotB.push(text));
  assert.deepEqual(redis.calls, ["sub r", "sub s"]);
  assert.equal(shared.channels(), 2);
  redis.deliver("1", "r");
  redis.deliver("2", "s");
  await collect(gotB, 2);
  await collect(gotA, 1);
  assert.deepEqual(gotA, ["1"], "A does not get s");
  assert.deepEqual(gotB, ["1", "2"]);
  await workerA.unsubscribe(["r"]);
  await workerB.unsubscribe(["r"]);
  shared.detach(b.port1); // B terminated: s goes too
  await collect(redis.calls, 4);
  assert.deepEqual(redis.calls.slice(2).sort(), ["unsub r", "unsub s"]);
  assert.equal(shared.channels(), 0);
  shared.detach(a.port1);
  await workerA.close();
  await workerB.close();
});

Deno.test("shareSubscriber: a Worker maxPending messages behind misses the next ones, counted", async () => {
  const redis = fakeRedis();
  const shared = shareSubscriber(redis.client, 64);
  const a = new MessageChannel();
  shared.attach(a.port1);
  const got: string[] = [];
  let told = 0;
  const worker = subscribeThrough(redis.client, a.port2, (n) => told += n);
  await worker.subscribe(["r"], (text) => got.push(text));
  // 100 delivered in one turn: the Worker confirms none of them yet.
  for (let i = 0; i < 100; i++) redis.deliver(String(i), "r");
  assert.equal(shared.dropped(), 36);
  await collect(got, 64);
  // Confirmed (64 acked): the next ones flow again.
  await new Promise((resolve) => setTimeout(resolve, 5));
  redis.deliver("after", "r");
  await collect(got, 65);
  assert.equal(got.at(-1), "after");
  assert.equal(shared.dropped(), 36);
  assert.equal(told, 36, "the Worker was told (before the next message)");
  shared.detach(a.port1);
  await worker.close();
});

Deno.test("shareSubscriber: subscriptions renewed after an interruption are told to every Worker", async () => {
  const redis = fakeRedis();
  const shared = shareSubscriber(redis.client, 64);
  const a = new MessageChannel();
  const b = new MessageChannel();
  shared.attach(a.port1);
  shared.attach(b.port1);
  const workers = [a.port2, b.port2].map((port) =>
    subscribeThrough(redis.client, port)
  );
  const heard = workers.map((worker) => {
    const { promise, resolve } = Promise.withResolvers<void>();
    worker.onResubscribed?.(resolve);
    return promise;
  });
  redis.resubscribe();
  await Promise.all(heard);
  shared.detach(a.port1);
  shared.detach(b.port1);
  for (const worker of workers) await worker.close();
});
