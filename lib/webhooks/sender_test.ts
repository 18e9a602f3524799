/** WebhookSender with an injected fetch over the memory store: signing, batching, retries, timeouts, drops, one sender. */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { silentLogger } from "../support/log.ts";
import { Metrics } from "../support/metrics.ts";
import { backoff, type SenderSettings, WebhookSender } from "./sender.ts";
import { MemoryStore, type NewEntry } from "./store.ts";

const SETTINGS: SenderSettings = {
  pollMs: 5,
  leaseMs: 1_000,
  timeoutMs: 1_000,
  retryMs: 60_000,
  backoffMs: 1,
  backoffMaxMs: 5,
  batchSize: 2,
};

const SIGNER = { key: "k", secret: "s3cret" };

interface Call {
  url: string;
  headers: Headers;
  body: string;
}

function entry(channel: string): NewEntry {
  return {
    appId: "1",
    url: "http://127.0.0.1:9/h",
    event: { name: "channel_occupied", channel },
    at: Date.now(),
  };
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("Timed out");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function setup(
  answer: (call: Call, signal: AbortSignal) => Promise<Response>,
  settings: Partial<SenderSettings> = {},
) {
  const store = new MemoryStore({
    maxEntries: 100,
    maxBytes: 1_000_000,
    stateTtlMs: 60_000,
  });
  const metrics = new Metrics();
  const calls: Call[] = [];
  const fake: typeof fetch = (input, init) => {
    const call = {
      url: String(input),
      headers: new Headers(init?.headers),
      body: String(init?.body),
    };
    calls.push(call);
    return answer(call, init!.signal!);
  };
  const make = (owner: string) =>
    new WebhookSender({
      ...SETTINGS,
      ...settings,
      store: Promise.resolve(store),
      signer: (id) => id === "1" ? SIGNER : undefined,
      owner,
      targets: 1,
      metrics,
      log: silentLogger,
      fetch: fake,
    });
  return { store, metrics, calls, make };
}

Deno.test("sender: batches per URL, signs the raw body with the app secret (hex HMAC-SHA256)", async () => {
  const { store, metrics, calls, make } = setup(() =>
    Promise.resolve(new Response("ok"))
  );
  await store.push([entry("a"), entry("b"), entry("c")]);
  const sender = make("n1");
  try {
    await until(() => metrics.get("webhook_sent_total") === 3);
    assert.deepEqual(calls.map((c) => JSON.parse(c.body).events.length), [
      2,
      1,
    ]);
    for (const call of calls) {
      const expected = createHmac("sha256", SIGNER.secret).update(call.body)
        .digest("hex");
      assert.equal(call.headers.get("x-pusher-signature"), expected);
      assert.equal(call.headers.get("x-pusher-key"), "k");
      assert.equal(call.headers.get("content-type"), "application/json");
      assert.equal(typeof JSON.parse(call.body)["time_ms"], "number");
    }
    assert.deepEqual(await store.depth(), { count: 0, bytes: 0 });
  } finally {
    await sender.close();
  }
});

Deno.test("sender: a non-2xx answer is retried, then delivered once", async () => {
  let n = 0;
  const { store, metrics, calls, make } = setup(() =>
    Promise.resolve(new Response(null, { status: n++ < 2 ? 500 : 204 }))
  );
  await store.push([entry("a")]);
  const sender = make("n1");
  try {
    await until(() => metrics.get("webhook_sent_total") === 1);
    assert.equal(calls.length, 3);
    assert.equal(metrics.get("webhook_retried_total"), 2);
    assert.equal(metrics.get("webhook_requests_total", "status_500"), 2);
  } finally {
    await sender.close();
  }
});

Deno.test("sender: a request past the timeout is aborted and retried", async () => {
  let n = 0;
  const { store, metrics, make } = setup(
    (_call, signal) =>
      n++ === 0
        ? new Promise((_resolve, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason))
        )
        : Promise.resolve(new Response("ok")),
    { timeoutMs: 20 },
  );
  await store.push([entry("a")]);
  const sender = make("n1");
  try {
    await until(() => metrics.get("webhook_sent_total") === 1);
    assert.equal(metrics.get("webhook_requests_total", "timeout"), 1);
  } finally {
    await sender.close();
  }
});

Deno.test("sender: an event still failing retryMs after it happened is dropped and counted", async () => {
  const { store, metrics, make } = setup(
    () => Promise.resolve(new Response("", { status: 503 })),
    { retryMs: 30 },
  );
  await store.push([entry("a")]);
  const sender = make("n1");
  try {
    await until(() => metrics.get("webhook_dropped_total", "expired") === 1);
    assert.equal((await store.depth()).count, 0);
    assert.equal(metrics.get("webhook_sent_total"), 0);
  } finally {
    await sender.close();
  }
});

Deno.test("sender: of two senders on one store only the lease holder sends; each event once", async () => {
  const { store, metrics, calls, make } = setup(() =>
    Promise.resolve(new Response("ok"))
  );
  const one = make("n1");
  const two = make("n2");
  try {
    for (let i = 0; i < 10; i++) {
      await store.push([entry(`c${i}`)]);
      one.poke();
      two.poke();
    }
    await until(() => metrics.get("webhook_sent_total") >= 10);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const channels = calls.flatMap((c) =>
      JSON.parse(c.body).events.map((e: { channel: string }) => e.channel)
    );
    assert.equal(channels.length, 10);
    assert.equal(new Set(channels).size, 10);
    assert.equal(one.leader !== two.leader, true);
  } finally {
    await one.close();
    await two.close();
  }
});

Deno.test("backoff: full jitter between half and all of base × 2^(n-1), capped", () => {
  const s = { backoffMs: 100, backoffMaxMs: 1_000 };
  assert.equal(backoff(1, s, () => 0), 50);
  assert.equal(backoff(1, s, () => 1), 100);
  assert.equal(backoff(3, s, () => 1), 400);
  assert.equal(backoff(20, s, () => 1), 1_000);
});
