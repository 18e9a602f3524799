import assert from "node:assert/strict";
import { encodeServerMessage } from "../protocol/mod.ts";
import type { SocketLike } from "../rooms/connection.ts";
import { Metrics } from "../support/metrics.ts";
import { DEMO_APP } from "../support/pusher_apps.ts";
import { createBus } from "../bus/bus.ts";
import { MemoryNetwork } from "../bus/memory.ts";
import { ChannelCounts } from "./channel_counts.ts";
import { HubSocket } from "./hub_socket.ts";
import { SessionOutput } from "./session_output.ts";
import { FrameTranslator } from "./translate.ts";

/** A client socket that records what it is sent, or throws when `broken`. */
class Recorder implements SocketLike {
  readyState = 1;
  bufferedAmount = 7;
  broken = false;
  sent: string[] = [];
  send(data: string): void {
    if (this.broken) throw new Error("gone");
    this.sent.push(data);
  }
  close(): void {}
}

function setup() {
  const socket = new Recorder();
  const metrics = new Metrics();
  const bus = createBus(new MemoryNetwork().connect());
  const counts = new ChannelCounts({
    bus,
    metrics,
    intervalMs: 60_000,
    timeoutMs: 120_000,
    throttleMs: 1_000,
    maxRemote: 10,
  });
  const closes: Array<[number | undefined, string | undefined]> = [];
  const output = new SessionOutput({
    socket,
    socketId: "1.2",
    app: DEMO_APP,
    metrics,
    counts,
    channels: new Map(),
    sink: { wantsCount: false, sendCount() {} },
    unsubscribe() {},
    close: (code, reason) => closes.push([code, reason]),
    closed: () => false,
  });
  const hubSocket = new HubSocket({
    socket,
    socketId: "1.2",
    translator: new FrameTranslator(),
    output,
    close: (code, reason) => closes.push([code, reason]),
  });
  const stop = async () => {
    counts.close();
    await bus.close();
  };
  return { socket, hubSocket, closes, stop };
}

const message = (from: string, offset: number) =>
  encodeServerMessage({
    type: "message",
    room: "r",
    data: { event: "e", data: { n: offset } },
    offset,
    epoch: "ep",
    ts: 1,
    from,
  });

Deno.test("HubSocket: a room message becomes one Pusher event frame, never echoed to its sender", async () => {
  const { socket, hubSocket, stop } = setup();
  hubSocket.send(message("api", 1));
  hubSocket.send(message("1.2", 2)); // this session's own client event
  hubSocket.send(message("3.4", 3));
  assert.deepEqual(socket.sent.map((f) => JSON.parse(f)), [
    { event: "e", channel: "r", data: '{"n":1}' },
    { event: "e", channel: "r", data: '{"n":3}' },
  ]);
  assert.equal(hubSocket.readyState, 1);
  assert.equal(hubSocket.bufferedAmount, 7);
  await stop();
});

Deno.test("HubSocket: a send that throws closes the session with 1011; a hub close is forwarded", async () => {
  const { socket, hubSocket, closes, stop } = setup();
  socket.broken = true;
  hubSocket.send(message("api", 1));
  assert.deepEqual(closes, [[1011, "Send failed"]]);
  hubSocket.close(4500, "Terminated");
  assert.deepEqual(closes[1], [4500, "Terminated"]);
  await stop();
});
