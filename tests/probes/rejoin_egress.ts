/**
 * Issue #10, item 9: a re-join of a room the connection is already in used
 * to answer with the whole member list again, so a client re-joining a
 * large room (to update its meta) cost the server that list each time.
 * Fills one room with `MEMBERS` members of 1 KB meta, then the last one
 * re-joins `REJOINS` times with the same meta; reports the bytes it
 * received for those answers. Loopback only, one server, stops by itself.
 *
 *     deno run --allow-all tests/probes/rejoin_egress.ts [--repo DIR] [MEMBERS=400] [REJOINS=100]
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
const members = Math.max(1, numberArg(args, 0, 400));
const rejoins = numberArg(args, 1, 100);
const meta = { pad: "x".repeat(1024 - '{"pad":""}'.length) };

await using server = await startServer(args.repo, {
  HISTORY: "memory",
  BUS: "none",
  MAX_BUFFERED_BYTES: "100000000",
});
const sockets: ProbeSocket[] = [];
try {
  for (let i = 0; i < members; i++) {
    const socket = await ProbeSocket.open(`${server.wsUrl}?user=m${i}`);
    sockets.push(socket);
    socket.send({ type: "join", room: "big", meta });
    await socket.next("joined");
    socket.keep = false; // the others' presence is only counted
  }
  const me = sockets[sockets.length - 1];
  if (me === undefined) throw new Error("No member");
  me.keep = true;
  me.bytes = 0;
  for (let i = 0; i < rejoins; i++) {
    me.send({ type: "join", room: "big", meta });
  }
  let last: Record<string, unknown> = {};
  for (let i = 0; i < rejoins; i++) last = await me.next("joined");
  report({
    item: 9,
    repo: args.repo,
    members,
    rejoins,
    bytesReceived: me.bytes,
    bytesPerAnswer: Math.round(me.bytes / Math.max(rejoins, 1)),
    lastAnswerHasMembers: Array.isArray(last.members),
  });
} finally {
  await Promise.all(sockets.map((socket) => socket.close()));
}
