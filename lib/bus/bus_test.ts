import assert from "node:assert/strict";
import {
  type BusEvent,
  createBus,
  MAX_SENDERS_PER_TOPIC,
  parseBusPost,
} from "./bus.ts";
import { loneTransport } from "./lone.ts";
import { MemoryNetwork } from "./memory.ts";

function event(offset: number, room = "r"): BusEvent {
  return {
    kind: "message",
    room,
    offset,
    epoch: "e",
    frame: `{"o":${offset}}`,
  };
}

function collect(count: number, subscribe: (h: (e: BusEvent) => void) => void) {
  const got: BusEvent[] = [];
  const done = new Promise<BusEvent[]>((resolve) => {
    subscribe((e) => {
      got.push(e);
      if (got.length === count) resolve(got);
    });
  });
  return done;
}

Deno.test("createBus() batches one tick's events into one post, in order", async () => {
  const net = new MemoryNetwork();
  const a = createBus(net.connect());
  const b = createBus(net.connect());
  await b.join("r");
  const received = collect(1000, (h) => b.subscribe(h));
  for (let i = 1; i <= 1000; i++) a.publish(event(i));
  const events = await received;
  assert.deepEqual(
    events.map((e) => offsetOf(e)),
    [...Array(1000)].map((_, i) => i + 1),
  );
  // 1000 events with the default 512 per post: 2 posts, not 1000.
  assert.equal(a.stats().postsSent, 2);
  assert.equal(b.stats().postsReceived, 2);
  await a.close();
  await b.close();
});

Deno.test("createBus() never delivers a post back to its sender", async () => {
  const net = new MemoryNetwork();
  const a = createBus(net.connect());
  const b = createBus(net.connect());
  await Promise.all([a.join("r"), b.join("r")]);
  let echoed = 0;
  a.subscribe(() => echoed++);
  const received = collect(1, (h) => b.subscribe(h));
  a.publish(event(1));
  await received;
  assert.equal(echoed, 0);
  await a.close();
  await b.close();
});

Deno.test("createBus() counts lost posts as gaps and reports the sender", async () => {
  let posts = 0;
  let posted: () => void = () => {};
  // Drop the 2nd and 3rd posts on their way to the receiver.
  const net = new MemoryNetwork({
    drop: () => {
      posts += 1;
      posted();
      return posts === 2 || posts === 3;
    },
  });
  const gaps: Array<[string, number]> = [];
  const a = createBus(net.connect(), { nodeId: "node-a" });
  const b = createBus(net.connect(), {
    onGap: (n, lost) => gaps.push([n, lost]),
  });
  await b.join("r");
  const seen: number[] = [];
  const last = new Promise<void>((resolve) =>
    b.subscribe((e) => {
      seen.push(offsetOf(e));
      if (offsetOf(e) === 4) resolve();
    })
  );
  for (let i = 1; i <= 4; i++) {
    const sent = new Promise<void>((resolve) => (posted = resolve));
    a.publish(event(i));
    await sent; // one post per tick: wait for this one before the next
  }
  await last;
  assert.deepEqual(seen, [1, 4]);
  assert.deepEqual(gaps, [["node-a", 2]]);
  assert.equal(b.stats().gaps, 2);
  await a.close();
  await b.close();
});

Deno.test("createBus() flushes queued events on close", async () => {
  const net = new MemoryNetwork();
  const a = createBus(net.connect());
  const b = createBus(net.connect());
  await b.join("r");
  const received = collect(3, (h) => b.subscribe(h));
  a.publish(event(1));
  a.publish(event(2));
  a.publish(event(3));
  await a.close();
  assert.equal((await received).length, 3);
  a.publish(event(4)); // ignored after close
  assert.equal(a.stats().postsSent, 1);
  await b.close();
});

Deno.test("createBus() ignores and counts invalid posts", async () => {
  const net = new MemoryNetwork();
  const raw = net.connect();
  const invalid: string[] = [];
  const b = createBus(net.connect(), { onInvalid: (r) => invalid.push(r) });
  const good = createBus(net.connect());
  await b.join("r");
  const received = collect(1, (h) => b.subscribe(h));
  // A post from an incompatible sender, sent on the raw transport.
  raw.post("r", '{"v":2,"node":"x","seq":1,"events":[]}');
  good.publish(event(1));
  await received;
  assert.deepEqual(invalid, ["unknown bus version 2"]);
  assert.equal(b.stats().invalid, 1);
  raw.close();
  await b.close();
  await good.close();
});

Deno.test("createBus() drops a room's posts before decoding until a member joins, and after the grace period", async () => {
  const net = new MemoryNetwork();
  const a = createBus(net.connect());
  const b = createBus(net.connect(), { unsubscribeGraceMs: 0 });
  const got: number[] = [];
  b.subscribe((e) => got.push(offsetOf(e)));
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
  a.publish(event(1, "x"));
  a.publish(event(1, "y"));
  await tick();
  await tick();
  assert.deepEqual(got, []);
  assert.equal(b.stats().postsUnwanted, 2);
  assert.equal(b.stats().postsReceived, 0);
  await b.join("x");
  assert.equal(b.stats().subscriptions, 1);
  a.publish(event(2, "x"));
  a.publish(event(2, "y"));
  await tick();
  await tick();
  assert.deepEqual(got, [2]);
  assert.equal(b.stats().postsUnwanted, 3);
  b.leave("x");
  await tick(); // the grace timer (0 ms)
  await tick();
  assert.equal(b.stats().subscriptions, 0);
  a.publish(event(3, "x"));
  await tick();
  await tick();
  assert.deepEqual(got, [2]);
  assert.equal(b.stats().postsUnwanted, 4);
  await a.close();
  await b.close();
});

Deno.test("createBus() batches one tick's subscribes into one transport call; a re-join within the grace period keeps the subscription", async () => {
  const calls: string[][] = [];
  const left: string[][] = [];
  const bus = createBus({
    post() {},
    onPost() {},
    subscribe(rooms) {
      calls.push([...rooms]);
      return Promise.resolve();
    },
    unsubscribe(rooms) {
      left.push([...rooms]);
    },
    close() {},
  }, { unsubscribeGraceMs: 60_000 });
  await Promise.all([bus.join("a"), bus.join("b"), bus.join("c")]);
  assert.deepEqual(calls, [["a", "b", "c"]]);
  bus.leave("a");
  await bus.join("a"); // within the grace period: nothing sent
  assert.deepEqual(calls, [["a", "b", "c"]]);
  assert.deepEqual(left, []);
  assert.equal(bus.stats().subscriptions, 3);
  await bus.close();
});

Deno.test("parseBusPost() rejects malformed posts", () => {
  assert.equal(typeof parseBusPost(null), "string");
  assert.equal(
    typeof parseBusPost({ v: 1, node: "n", seq: 0, events: [] }),
    "string",
  );
  assert.equal(
    typeof parseBusPost({ v: 1, node: "n", seq: 1, events: {} }),
    "string",
  );
  assert.equal(
    typeof parseBusPost({
      v: 1,
      node: "n",
      seq: 1,
      events: [{ kind: "message", room: "r" }],
    }),
    "string",
  );
  assert.deepEqual(
    parseBusPost({ v: 1, node: "n", seq: 1, events: [event(1)] }),
    {
      v: 1,
      node: "n",
      seq: 1,
      events: [event(1)],
    },
  );
});

Deno.test("parseBusPost() skips events of an unknown kind and keeps the rest of the post", () => {
  const post = parseBusPost({
    v: 1,
    node: "n",
    seq: 1,
    events: [event(1), { kind: "from-the-future", x: 1 }, event(2)],
  });
  assert.deepEqual(post, {
    v: 1,
    node: "n",
    seq: 1,
    events: [event(1), event(2)],
    skipped: 1,
  });
  // A known kind that is malformed still fails the post; so does a kind that is no word.
  for (const bad of [{ kind: "message", room: 1 }, { kind: "" }, { kind: 7 }]) {
    assert.equal(
      typeof parseBusPost({ v: 1, node: "n", seq: 1, events: [bad] }),
      "string",
    );
  }
});

Deno.test("createBus() delivers the known events of a post from a newer node and counts the skipped ones", async () => {
  const net = new MemoryNetwork();
  const skipped: number[] = [];
  const a = createBus(net.connect(), { onSkipped: (n) => skipped.push(n) });
  const raw = net.connect();
  const got: BusEvent[] = [];
  a.subscribe((e) => got.push(e));
  await a.join("r");
  // What a newer node posts on room r's topic.
  raw.post(
    "r",
    JSON.stringify({
      v: 1,
      node: "newer",
      seq: 1,
      events: [event(1), { kind: "from-the-future" }, event(2)],
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(got.map(offsetOf), [1, 2]);
  assert.deepEqual(skipped, [1]);
  await a.close();
  raw.close();
});

function offsetOf(event: BusEvent): number {
  return event.kind === "message" ? event.offset : -1;
}

Deno.test("Bus.join() is counted: a room stays heard until every join was left", async () => {
  const net = new MemoryNetwork();
  const a = createBus(net.connect(), { unsubscribeGraceMs: 0 });
  const b = createBus(net.connect());
  await a.join("r"); // the room's stream
  await a.join("r"); // a dashboard tail
  a.leave("r"); // the tail closes: the stream still listens
  const heard = new Promise<BusEvent>((resolve) => a.subscribe(resolve));
  b.publish(event(1));
  assert.equal(offsetOf(await heard), 1);
  assert.equal(a.stats().subscriptions, 1);
  a.leave("r"); // the last one: gone after the (zero) grace period
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(a.stats().subscriptions, 0);
  await a.close();
  await b.close();
});

Deno.test("createBus() remembers post numbers of at most MAX_SENDERS_PER_TOPIC senders per topic, forgetting the oldest", async () => {
  const net = new MemoryNetwork();
  const gaps: string[] = [];
  const a = createBus(net.connect(), { onGap: (node) => gaps.push(node) });
  const raw = net.connect();
  await a.join("r");
  const post = (node: string, seq: number) =>
    raw.post(
      "r",
      JSON.stringify({ v: 1, node, seq, events: [event(seq)] }),
    );
  let heard = 0;
  a.subscribe(() => heard++);
  const flushed = async (count: number) => {
    while (heard < count) await new Promise((r) => setTimeout(r, 0));
  };
  post("first", 1);
  for (let i = 0; i < MAX_SENDERS_PER_TOPIC; i++) post(`n${i}`, 1);
  await flushed(MAX_SENDERS_PER_TOPIC + 1);
  // "first" was forgotten: a jump in its numbers is a new run, not a gap.
  post("first", 5);
  // "n1" is still remembered: its jump is a gap.
  post("n1", 5);
  await flushed(MAX_SENDERS_PER_TOPIC + 3);
  assert.deepEqual(gaps, ["n1"]);
  await a.close();
  raw.close();
});

Deno.test("createBus() over a lone transport neither encodes nor posts what is published", async () => {
  const posts: string[] = [];
  const bus = createBus({
    ...loneTransport(),
    post: (_, text) => posts.push(text),
  });
  await bus.join("r"); // joins still resolve: the hub waits for them
  for (let i = 1; i <= 10; i++) bus.publish(event(i));
  bus.publish({ kind: "node-down", node: "n" });
  await new Promise((resolve) => setTimeout(resolve, 0)); // past the tick's flush
  await bus.close(); // close flushes what is queued
  assert.deepEqual(posts, []);
  assert.equal(bus.stats().postsSent, 0);
  assert.equal(bus.stats().bytesSent, 0);
});

Deno.test("createBus() over a transport that is not lone posts a tick's events", async () => {
  const posts: string[] = [];
  const bus = createBus({
    ...loneTransport(),
    lone: false,
    post: (_, text) => posts.push(text),
  });
  bus.publish(event(1));
  await bus.close();
  assert.equal(posts.length, 1);
  assert.equal(bus.stats().postsSent, 1);
});

Deno.test("createBus: a transport's resume reaches onResume handlers until they stop, and none after close", async () => {
  let resume = () => {};
  const bus = createBus({
    post: () => {},
    onPost: () => {},
    onResume: (h) => (resume = h),
    close: () => {},
  });
  let heard = 0;
  const stop = bus.onResume(() => heard++);
  resume();
  assert.equal(heard, 1);
  stop();
  resume();
  assert.equal(heard, 1, "stopped");
  bus.onResume(() => heard++);
  await bus.close();
  resume();
  assert.equal(heard, 1, "closed");
});
