/**
 * Graceful shutdown closes Pusher clients with 4200 (reconnect now), and
 * pusher-js, unmodified, reconnects to the restarted server, resubscribes
 * and receives again.
 */

import assert from "node:assert/strict";
import {
  connectPusher,
  EventLog,
  RawPusher,
  serverSdk,
  startPusherServer,
  subscribed,
} from "../_support/pusher.ts";

Deno.test("graceful shutdown closes Pusher sockets with 4200", async () => {
  const server = await startPusherServer();
  try {
    const raw = await RawPusher.open(server);
    await raw.subscribe({ channel: "a" });
    const closing = server.shutdown();
    assert.equal((await raw.closed).code, 4200);
    await closing;
  } finally {
    await server.shutdown();
  }
});

Deno.test("pusher-js reconnects after a server restart, resubscribes and receives", async () => {
  const first = await startPusherServer();
  const port = first.addr.port;
  const client = await connectPusher(first);
  try {
    await subscribed(client, "news");
    const firstId = client.connection.socket_id;
    // pusher-js announces the resubscription on the new server.
    const resubscribed = new EventLog(
      client,
      "news",
      "pusher:subscription_succeeded",
    );
    await first.shutdown();
    await using second = await startPusherServer({
      env: { PORT: String(port) },
    });
    // If its first retry beats the new server's bind (a loaded machine),
    // pusher-js backs off before the next one: allow for that.
    await resubscribed.waitFor(1, 30_000);
    assert.equal(client.connection.state, "connected");
    assert.notEqual(client.connection.socket_id, firstId);
    const log = new EventLog(client, "news", "again");
    await serverSdk(second).trigger("news", "again", { ok: true });
    await log.waitFor(1);
    assert.deepEqual(log.events[0], { ok: true });
  } finally {
    client.disconnect();
    await first.shutdown();
  }
});
