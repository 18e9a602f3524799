import assert from "node:assert/strict";
import { mock } from "node:test";
import { TokenBucket } from "../support/rate_limit.ts";
import { FakeEventSource, fakeFetch } from "./_test_utils_sse.ts";
import { MAX_QUEUED_FRAMES, SseSocket, toSseUrl } from "./_sse_socket.ts";

/** Lets the link's awaits run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Lets the link's awaits run while timers are mocked (microtasks only). */
async function drain(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

Deno.test("toSseUrl() maps the WebSocket endpoint to /sse and keeps the query", () => {
  assert.equal(
    toSseUrl("ws://h:1/ws?user=ann").href,
    "http://h:1/sse?user=ann",
  );
  assert.equal(toSseUrl("wss://h/app/ws").href, "https://h/app/sse");
  assert.equal(toSseUrl("ws://h/").href, "http://h/sse");
});

Deno.test("SseSocket puts the token in the stream's query and the POSTs' header, asks for batch frames", async () => {
  const { fetch, posts } = fakeFetch();
  const link = new SseSocket(
    "ws://h/ws?user=ann",
    ["roomcast.v1.batch", "roomcast.v1", "roomcast.token.abc"],
    { EventSource: FakeEventSource, fetch },
  );
  const source = FakeEventSource.last;
  assert.equal(source.url, "http://h/sse?user=ann&token=abc&batch=1");
  assert.equal(link.readyState, 0);
  const frames: unknown[] = [];
  link.onmessage = (event) => frames.push(JSON.parse(event.data));
  source.welcome("n1.s1");
  assert.equal(link.readyState, 1);
  assert.equal(frames.length, 1);
  link.send('{"type":"ping"}');
  await settle();
  assert.equal(posts[0]?.url, "http://h/sse/n1.s1?user=ann");
  assert.equal(posts[0]?.headers.authorization, "Bearer abc");
  posts[0]?.answer();
  link.close();
  assert.equal(source.closed, true);
});

Deno.test("SseSocket keeps one POST in flight and sends what queued meanwhile in order, in one", async () => {
  const { fetch, posts } = fakeFetch();
  const link = new SseSocket("ws://h/ws", ["roomcast.v1"], {
    EventSource: FakeEventSource,
    fetch,
  });
  FakeEventSource.last.welcome();
  link.send('{"n":1}');
  link.send('{"n":2}');
  link.send('{"n":3}');
  await settle();
  assert.equal(posts.length, 1);
  assert.deepEqual(posts[0]?.frames, [{ n: 1 }]);
  posts[0]?.answer();
  await settle();
  assert.equal(posts.length, 2);
  assert.deepEqual(posts[1]?.frames, [{ n: 2 }, { n: 3 }]);
  posts[1]?.answer();
  await settle();
  assert.equal(posts.length, 2);
  link.close();
});

Deno.test("SseSocket respects the welcome's maxMessageBytes per POST", async () => {
  const { fetch, posts } = fakeFetch();
  const link = new SseSocket("ws://h/ws", ["roomcast.v1"], {
    EventSource: FakeEventSource,
    fetch,
  });
  FakeEventSource.last.welcome("n1.s1", 100);
  const frame = JSON.stringify({ text: "x".repeat(20) }); // 3 × 31 + 2 > 100 for two.
  link.send(frame);
  link.send(frame);
  link.send(frame);
  await settle();
  posts[0]?.answer();
  await settle();
  posts[1]?.answer();
  await settle();
  assert.deepEqual(posts.map((post) => post.frames.length), [1, 1, 1]);
  link.close();
});

Deno.test("SseSocket reports the server's close event with its code, a failed POST or stream as 1006", async () => {
  const ends: Array<[number, string]> = [];
  const open = () => {
    const { fetch, posts } = fakeFetch();
    const link = new SseSocket("ws://h/ws", ["roomcast.v1"], {
      EventSource: FakeEventSource,
      fetch,
    });
    link.onclose = (event) => ends.push([event.code, event.reason]);
    FakeEventSource.last.welcome();
    return { link, posts, source: FakeEventSource.last };
  };
  const a = open();
  a.source.emit("close", { code: 1013, reason: "Slow consumer" });
  a.source.emit("error"); // The body ends after it: reported once.
  assert.equal(a.source.closed, true);
  const b = open();
  b.link.send("{}");
  await settle();
  b.posts[0]?.answer(409);
  await settle();
  const c = open();
  c.source.emit("error");
  assert.throws(() => c.link.send("{}"), /not open/);
  assert.deepEqual(ends, [
    [1013, "Slow consumer"],
    [1006, "SSE POST refused: 409"],
    [1006, "SSE stream failed"],
  ]);
});

Deno.test("SseSocket closes the link when more frames wait for a POST than it keeps", async () => {
  const { fetch, posts } = fakeFetch();
  const link = new SseSocket("ws://h/ws", ["roomcast.v1"], {
    EventSource: FakeEventSource,
    fetch,
  });
  const ends: number[] = [];
  link.onclose = (event) => ends.push(event.code);
  FakeEventSource.last.welcome();
  link.send("{}"); // In flight: the rest wait.
  for (let i = 0; i < MAX_QUEUED_FRAMES; i++) link.send("{}");
  assert.deepEqual(ends, []);
  link.send("{}");
  assert.deepEqual(ends, [1006]);
  assert.equal(link.readyState, 3);
  await settle();
  posts[0]?.answer();
  await settle();
  assert.equal(posts.length, 1); // Nothing more was sent.
});

Deno.test("SseSocket never POSTs more frames than the server's bucket holds on arrival, however long a POST took", async () => {
  // The server measures its rate limit on arrival, and a POST's frames
  // arrive at once: frames paced by the outbox while one POST hung arrived
  // together with the next and were refused (rate_limited, no ack).
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  try {
    const { fetch, posts } = fakeFetch();
    const link = new SseSocket("ws://h/ws", ["roomcast.v1"], {
      EventSource: FakeEventSource,
      fetch,
      now: () => Date.now(),
    });
    const source = FakeEventSource.last;
    source.welcome("n1.s1", 65_536, { perSecond: 100, burst: 40 });
    // The server's bucket, as the hub's guard keeps it.
    const server = new TokenBucket(100, 40, Date.now());
    const arrived: unknown[] = [];
    let refused = 0;
    /** POST `index` reaches the server now, which answers it at once. */
    const arrive = async (index: number) => {
      for (const frame of posts[index]?.frames ?? []) {
        if (server.take(Date.now())) arrived.push(frame);
        else refused++;
      }
      posts[index]?.answer();
      await drain();
    };
    link.send(JSON.stringify({ n: 0 }));
    await drain();
    assert.equal(posts.length, 1);
    // The first POST hangs for a second, while the outbox (90% of 100/s,
    // burst 36) hands the link 80 more frames.
    for (let n = 1; n <= 80; n++) link.send(JSON.stringify({ n }));
    mock.timers.tick(1_000);
    await arrive(0);
    // Each later POST arrives as soon as it is sent; the link waits for
    // tokens in between (10 ms ticks, bounded).
    let answered = 1;
    for (let ticks = 0; answered < posts.length || ticks < 1_000; ticks++) {
      if (answered < posts.length) await arrive(answered++);
      else if (arrived.length + refused < 81) {
        mock.timers.tick(10);
        await drain();
      } else break;
    }
    assert.equal(refused, 0);
    assert.deepEqual(
      arrived,
      Array.from({ length: 81 }, (_, n) => ({ n })),
    );
    link.close();
  } finally {
    mock.timers.reset();
  }
});

/**
 * Plays a server 10 ms away each way behind a link fed 0.9 frames a ms (90%
 * of 1,000/s, burst 64) for `ms`, then until every frame arrived; the
 * server answers with its bucket when `report`. Returns what arrived, what
 * it refused, and how the link ended.
 */
async function sustained(ms: number, report: boolean) {
  mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
  try {
    const { fetch, posts } = fakeFetch();
    const link = new SseSocket("ws://h/ws", ["roomcast.v1"], {
      EventSource: FakeEventSource,
      fetch,
      now: () => Date.now(),
    });
    const ends: number[] = [];
    link.onclose = (event) => ends.push(event.code);
    const source = FakeEventSource.last;
    source.welcome("n1.s1", 65_536, { perSecond: 1_000, burst: 64 });
    const server = new TokenBucket(1_000, 64, 0);
    const arrived: number[] = [];
    let refused = 0;
    /** When each POST reaches the server, and when its answer the client. */
    const arrivals = new Map<number, number>();
    const answers = new Map<number, [number, number]>();
    let written = 0;
    let seen = 0;
    for (let t = 0; ends.length === 0; t++) {
      while (t < ms && written < Math.floor(t * 0.9)) {
        link.send(JSON.stringify({ n: written++ }));
      }
      if (t >= ms && arrived.length + refused === written) break;
      while (seen < posts.length) arrivals.set(seen++, t + 10);
      for (const [i, at] of arrivals) {
        if (at !== t || answers.has(i)) continue;
        for (const frame of posts[i]?.frames ?? []) {
          if (!server.take(t)) refused++;
          else if (
            typeof frame === "object" && frame !== null && "n" in frame
          ) {
            arrived.push(Number(frame.n));
          }
        }
        answers.set(i, [t + 10, server.tokens(t)]);
      }
      for (const [i, [at, tokens]] of answers) {
        if (at !== t) continue;
        posts[i]?.answer(200, report ? { applied: 1, tokens } : { applied: 1 });
        answers.delete(i);
        arrivals.delete(i);
      }
      await drain();
      mock.timers.tick(1);
      await drain();
    }
    link.close();
    return { arrived, refused, ends, written };
  } finally {
    mock.timers.reset();
  }
}

Deno.test("SseSocket keeps up with 90% of the rate limit over a 20 ms round trip when the server reports its bucket", async () => {
  // Without the figure the link's copy lost each flight's refill: it fell
  // to ~75% of the rate, its queue filled and it closed with 1006.
  const { arrived, refused, ends, written } = await sustained(8_000, true);
  assert.deepEqual(ends, []);
  assert.equal(refused, 0);
  assert.equal(written, 7_199);
  assert.deepEqual(arrived, Array.from({ length: written }, (_, n) => n));
});

Deno.test("SseSocket without the server's figure (an older server) never has a frame refused, but falls behind 90% of the rate over a 20 ms round trip", async () => {
  // The limit the figure lifts: each flight's refill is lost to the copy.
  const { refused, ends, arrived } = await sustained(8_000, false);
  assert.equal(refused, 0);
  assert.deepEqual(ends, [1006]);
  assert.deepEqual(
    arrived,
    Array.from({ length: arrived.length }, (_, n) => n),
  );
});
