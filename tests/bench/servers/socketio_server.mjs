/**
 * Socket.IO contestant of the benchmark: every socket joins the room named by
 * the `room` query parameter (default "main"); a "msg" event is emitted to
 * everyone else in that room. WebSocket transport only, as the generator
 * speaks Engine.IO 4 framing over a plain WebSocket. Prints `ready <port>`
 * once listening. Env: `PORT`, `HOST`, `PEERS_DIR`.
 *
 * @module
 */

import { createServer } from "node:http";
import { createRequire } from "node:module";
import process from "node:process";

const require = createRequire(`${process.env.PEERS_DIR}/node_modules/`);
const { Server } = require("socket.io");

const http = createServer();
const io = new Server(http, {
  serveClient: false,
  transports: ["websocket"],
  perMessageDeflate: false,
});
io.on("connection", (socket) => {
  const room = String(socket.handshake.query.room ?? "main");
  socket.join(room);
  socket.on("msg", (data) => socket.to(room).emit("msg", data));
});
http.listen(
  Number(process.env.PORT ?? "0"),
  process.env.HOST ?? "127.0.0.1",
  () => process.stdout.write(`ready ${http.address().port}\n`),
);
