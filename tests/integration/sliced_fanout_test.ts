/**
 * Sliced delivery (FANOUT_SLICE) with a real server: a room bigger than the
 * slice gets every message in order, once, while members join and leave
 * during its delivery; batch clients too.
 */

import assert from "node:assert/strict";
import { report, startTestServer, TestClient } from "../_support/harness.ts";

const BATCH = ["roomcast.v1.batch", "roomcast.v1"];

/** Reads messages until `last`, asserting offsets `from`..`last` in order, once. */
async function expectRun(client: TestClient, from: number, last: number) {
  for (let offset = from; offset <= last; offset++) {
    const m = await client.next("message");
    assert.equal(m.offset, offset, `${client.connectionId} at ${offset}`);
    assert.equal(m.data, offset);
  }
}

Deno.test("FANOUT_SLICE: 50 members, slices of 10, joins and leaves mid-delivery: in order, once", async () => {
  await using server = await startTestServer({
    env: { FANOUT_SLICE: "10", COALESCE_MS: "20", METRICS_TOKEN: "t" },
  });
  const members: TestClient[] = [];
  for (let i = 0; i < 50; i++) {
    const client = await TestClient.open(
      server.wsUrl,
      i % 5 === 0 ? BATCH : undefined,
    );
    await client.join("big");
    members.push(client);
  }
  await using publisher = await TestClient.open(server.wsUrl);
  await publisher.join("big");
  const total = 300;
  const leavers = members.splice(40, 5);
  const joiners: TestClient[] = [];
  for (let i = 0; i < 5; i++) joiners.push(await TestClient.open(server.wsUrl));
  const publish = (from: number, to: number) => {
    for (let i = from; i <= to; i++) {
      publisher.send({ type: "publish", room: "big", data: i, echo: false });
    }
  };
  publish(1, 200);
  // The first member has 1..100 while later ones (later slices) wait:
  // join and leave while these messages are still being sliced.
  await expectRun(members[0]!, 1, 100);
  for (const j of joiners) j.send({ type: "join", room: "big" });
  leavers[0]!.send({ type: "leave", room: "big" });
  for (const l of leavers.slice(1)) l.socket.close();
  publish(201, total);
  // A marker after everything: anything sent twice would arrive before it.
  publisher.send({
    type: "publish",
    room: "big",
    data: total + 1,
    echo: false,
  });
  await Promise.all(
    members.map((m, i) => expectRun(m, i === 0 ? 101 : 1, total + 1)),
  );
  const starts: number[] = [];
  await Promise.all(joiners.map(async (j) => {
    const joined = await j.next("joined", { skip: true });
    starts.push(joined.offset);
    await expectRun(j, joined.offset + 1, total + 1);
  }));
  for (const start of starts) {
    assert.ok(start <= total + 1, `joined at ${start}`);
  }
  report(
    `sliced fan-out: ${members.length} members × ${
      total + 1
    } in order; joiners started after ${
      starts.sort((a, b) => a - b).join(",")
    }`,
  );
  const metrics = await (await fetch(`${server.url}/metrics`, {
    headers: { authorization: "Bearer t" },
  })).text();
  const sliced = /roomcast_fanout_sliced_messages_total\{[^}]*\} (\d+)/.exec(
    metrics,
  );
  assert.ok(sliced !== null && Number(sliced[1]) > 0, "messages were sliced");
  for (const c of [...members, ...joiners, ...leavers]) await c.close();
});
