/**
 * Node `ws` contestant of the benchmark: the same broadcast server as
 * bare_deno.ts on the `ws` package. Clients join the room named by `?room=`
 * (default "main"); every text frame goes to the other members of the room.
 * Prints `ready <port>` once listening. Env: `PORT`, `HOST`, `PEERS_DIR`
 * (where `npm install --prefix` put `ws`).
 *
 * @module
 */

import { createRequire } from "node:module";
import process from "node:process";

const require = createRequire(`${process.env.PEERS_DIR}/node_modules/`);
const { WebSocketServer } = require("ws");

const rooms = new Map();
const wss = new WebSocketServer({
  host: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? "0"),
  perMessageDeflate: false,
});
wss.on("listening", () => {
  process.stdout.write(`ready ${wss.address().port}\n`);
});
wss.on("connection", (ws, req) => {
  const name = new URL(req.url ?? "/", "http://localhost").searchParams.get(
    "room",
  ) ?? "main";
  let members = rooms.get(name);
  if (members === undefined) rooms.set(name, members = new Set());
  members.add(ws);
  ws.on("close", () => members.delete(ws));
  ws.on("message", (data, isBinary) => {
    for (const member of members) {
      if (member !== ws && member.readyState === 1) {
        member.send(data, { binary: isBinary });
      }
    }
  });
});
