/**
 * The bare-Deno baseline of the benchmark: the smallest `Deno.serve` +
 * `Deno.upgradeWebSocket` broadcast server. Clients join the room named by
 * `?room=` (default "main"); every text frame is sent to the other members of
 * the sender's room, one `send` per member. Prints `ready <port>` once
 * listening. Env: `PORT` (0 picks one), `HOST` (127.0.0.1).
 *
 * @module
 */

const rooms = new Map<string, Set<WebSocket>>();

Deno.serve({
  hostname: Deno.env.get("HOST") ?? "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? "0"),
  onListen({ port }) {
    Deno.stdout.writeSync(new TextEncoder().encode(`ready ${port}\n`));
  },
}, (req) => {
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("bare Deno broadcast server\n");
  }
  const name = new URL(req.url).searchParams.get("room") ?? "main";
  let room = rooms.get(name);
  if (room === undefined) rooms.set(name, room = new Set());
  const members = room;
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onopen = () => members.add(socket);
  socket.onclose = () => members.delete(socket);
  socket.onmessage = (event) => {
    for (const member of members) {
      if (member !== socket && member.readyState === WebSocket.OPEN) {
        member.send(event.data);
      }
    }
  };
  return response;
});
