/**
 * Issue #10, item 6: data nested 5,000 deep (about 10 KB of text) used to
 * pass the edge; with `--parallel` its trip to the supervisor's room log (a
 * structured clone) then failed, so the HTTP API answered 500 and other
 * publishes in the same room failed with it. Starts `main.ts --parallel`
 * (`WORKERS=2`), sends `ROUNDS` ordinary publishes into one room with a
 * deep one after every third, over the HTTP API (all at once) and over two
 * sockets, and reports the statuses and error codes of each kind.
 * Loopback only, one server, stops by itself.
 *
 *     deno run --allow-all tests/probes/json_depth.ts [--repo DIR] [ROUNDS=30] [DEPTH=5000]
 *
 * @module
 */

import {
  numberArg,
  probeArgs,
  ProbeSocket,
  report,
  startServer,
} from "./_probe.ts";

const args = probeArgs();
const rounds = numberArg(args, 0, 30);
const depth = numberArg(args, 1, 5_000);
const KEY = `key-${crypto.randomUUID()}`;
const NESTED = "[".repeat(depth) + "]".repeat(depth);

await using server = await startServer(
  args.repo,
  { API_KEY: KEY, WORKERS: "2" },
  ["--parallel"],
);

/** Counts of each value. */
function tally(values: unknown[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) {
    counts[String(value)] = (counts[String(value)] ?? 0) + 1;
  }
  return counts;
}

async function publishApi(body: string): Promise<string> {
  try {
    const res = await fetch(
      `http://127.0.0.1:${server.port}/api/rooms/shared/messages`,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${KEY}`,
          "content-type": "application/json",
        },
        body,
      },
    );
    const answer: unknown = await res.json().catch(() => undefined);
    const error: unknown = Reflect.get(Object(answer), "error");
    const code: unknown = Reflect.get(Object(error), "code");
    return code === undefined ? String(res.status) : `${res.status} ${code}`;
  } catch (error) {
    return `failed: ${error instanceof Error ? error.message : error}`;
  }
}

// HTTP API: all requests in flight at once.
const calls: Promise<string>[] = [];
const deepCalls: Promise<string>[] = [];
for (let i = 0; i < rounds; i++) {
  calls.push(publishApi(JSON.stringify({ data: i })));
  if (i % 3 === 0) deepCalls.push(publishApi(`{"data":${NESTED}}`));
}
const api = {
  bystander: tally(await Promise.all(calls)),
  deep: tally(await Promise.all(deepCalls)),
};

// WebSocket: a deep publisher and a bystander in the same room.
await using deep = await ProbeSocket.open(`${server.wsUrl}?user=deep`);
await using bystander = await ProbeSocket.open(`${server.wsUrl}?user=by`);
for (const socket of [deep, bystander]) {
  socket.send({ type: "join", room: "shared" });
  await socket.next("joined");
}
let deepSent = 0;
for (let i = 0; i < rounds; i++) {
  bystander.send({ type: "publish", room: "shared", data: i, id: `b${i}` });
  if (i % 3 === 0) {
    deep.send(
      `{"type":"publish","room":"shared","id":"d${i}","data":${NESTED}}`,
    );
    deepSent += 1;
  }
}
/** What `socket` got for `count` publishes: ack, an error code or why none. */
async function answers(socket: ProbeSocket, count: number): Promise<string[]> {
  const seen: string[] = [];
  while (seen.length < count) {
    const frame = await socket.next(["ack", "error"], 5_000).then(
      (got) => got.type === "ack" ? "ack" : `error ${got.code}`,
      (error: Error) => `none (${error.message})`,
    );
    seen.push(frame);
    if (frame.startsWith("none")) break;
  }
  return seen;
}
const ws = {
  bystander: tally(await answers(bystander, rounds)),
  deep: tally(await answers(deep, deepSent)),
};
report({ item: 6, repo: args.repo, mode: "--parallel", depth, api, ws });
