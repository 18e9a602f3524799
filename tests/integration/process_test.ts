/**
 * The real entry point as a user runs it: `main.ts` in its own process, with
 * and without `--parallel`, stopped by SIGTERM.
 */
import assert from "node:assert/strict";
import { openAcrossIsolates, TestClient } from "../_support/harness.ts";
import { MAIN, spawnServer } from "../_support/process.ts";

Deno.test("main.ts: SIGTERM closes every client with 1012, then exits 0", async () => {
  await using server = await spawnServer({});
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const a = await TestClient.open(url);
  const b = await TestClient.open(url);
  await a.join("r");
  await b.join("r");
  a.send({ type: "publish", room: "r", data: "before shutdown" });
  assert.equal((await b.next("message")).data, "before shutdown");
  server.process.kill("SIGTERM");
  const [closeA, closeB] = await Promise.all([a.closed, b.closed]);
  assert.equal(closeA.code, 1012);
  assert.equal(closeB.code, 1012);
  assert.equal(closeA.reason, "Server restart");
  const status = await server.process.status;
  assert.equal(status.code, 0);
  await server.outputDone;
  assert.match(server.output(), /"msg":"Stopped"/);
});

Deno.test("main.ts with one isolate delivers without posting to the inter-isolate bus", async () => {
  // BUS=broadcast-channel is the default: one isolate has nobody to post to.
  await using server = await spawnServer({ METRICS_TOKEN: "m" });
  const a = await TestClient.open(server.wsUrl);
  const b = await TestClient.open(server.wsUrl);
  await a.join("r");
  await b.join("r");
  for (let i = 1; i <= 5; i++) a.send({ type: "publish", room: "r", data: i });
  for (let i = 1; i <= 5; i++) assert.equal((await b.next("message")).data, i);
  const res = await fetch(`http://127.0.0.1:${server.port}/metrics`, {
    headers: { authorization: "Bearer m" },
  });
  const text = await res.text();
  assert.equal(res.status, 200);
  assert.match(text, /^roomcast_messages_in_total\{[^}]*\} [1-9]/m);
  const sent = text.match(/^roomcast_bus_posts_sent_total\{[^}]*\} (\d+)$/m);
  assert.equal(sent?.[1], "0", "bus_posts_sent_total");
  await a.close();
  await b.close();
});

Deno.test("main.ts --parallel spreads clients over isolates; all get every message", async () => {
  await using server = await spawnServer({ WORKERS: "2" }, ["--parallel"]);
  assert.match(server.output(), /"isolates":2/);
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const byNode = await openAcrossIsolates(url, { perIsolate: 3 });
  const clients = [...byNode.values()].flat();
  const nodes = new Set(byNode.keys());
  for (const client of clients) await client.join("lobby");
  // One publisher per isolate.
  const publishers = [...nodes].map((node) =>
    clients.find((c) => c.connectionId.startsWith(node))!
  );
  for (let i = 1; i <= 100; i++) {
    for (const p of publishers) {
      p.send({ type: "publish", room: "lobby", data: i });
    }
  }
  for (const client of clients) {
    const seen = new Map<string, number[]>();
    for (let i = 0; i < 200; i++) {
      const m = await client.next("message");
      seen.set(m.from, [...(seen.get(m.from) ?? []), Number(m.data)]);
    }
    assert.equal(seen.size, 2);
    for (const seq of seen.values()) {
      assert.deepEqual(seq, Array.from({ length: 100 }, (_, i) => i + 1));
    }
  }
  const closes = clients.map((c) => c.closed);
  server.process.kill("SIGTERM");
  for (const close of await Promise.all(closes)) assert.equal(close.code, 1012);
  assert.equal((await server.process.status).code, 0);
});

Deno.test("main.ts refuses a bad configuration and names the variable", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN],
    env: { PORT: "eighty" },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 2);
  assert.match(new TextDecoder().decode(stderr), /Invalid PORT/);
});

Deno.test("main.ts refuses to start without a token key unless anonymous clients are allowed", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN],
    env: {
      PORT: "0",
      HOST: "127.0.0.1",
      AUTH_SECRET: "",
      ALLOW_ANONYMOUS: "0",
    },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 2);
  assert.match(
    new TextDecoder().decode(stderr),
    /Refusing to start without AUTH_SECRET/,
  );
});
