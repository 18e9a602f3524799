/**
 * The bare-Deno Pusher ceiling of the benchmark: the cheapest `Deno.serve`
 * server that does the Pusher fan-out job the load generator asks for, to
 * say what one frame per delivery costs on Deno whoever sends it. It speaks
 * just enough protocol 7: `pusher:connection_established` on open,
 * `pusher_internal:subscription_succeeded` on `pusher:subscribe`,
 * `pusher:pong` on `pusher:ping`; `POST /apps/:id/events` (no signature
 * check, no validation) builds the event frame with one `JSON.stringify` per
 * event and channel and sends it once to each subscriber, answering `{}`.
 * Prints `ready <port>` once listening. Env: `PORT` (0 picks one), `HOST`
 * (127.0.0.1).
 *
 * @module
 */

const channels = new Map<string, Set<WebSocket>>();
let nextSocket = 0;

/** The event frame of one published event on one channel. */
interface Published {
  name: string;
  data: unknown;
  channels?: string[];
  channel?: string;
}

function upgrade(req: Request): Response {
  const { socket, response } = Deno.upgradeWebSocket(req);
  const joined: Set<WebSocket>[] = [];
  const id = `${++nextSocket}.${nextSocket}`;
  socket.onopen = () =>
    socket.send(JSON.stringify({
      event: "pusher:connection_established",
      data: JSON.stringify({ socket_id: id, activity_timeout: 120 }),
    }));
  socket.onclose = () => joined.forEach((members) => members.delete(socket));
  socket.onmessage = (event) => {
    const frame = JSON.parse(String(event.data));
    if (frame.event === "pusher:ping") {
      socket.send('{"event":"pusher:pong","data":"{}"}');
    } else if (frame.event === "pusher:subscribe") {
      const name = String(frame.data?.channel);
      let members = channels.get(name);
      if (members === undefined) channels.set(name, members = new Set());
      members.add(socket);
      joined.push(members);
      socket.send(JSON.stringify({
        event: "pusher_internal:subscription_succeeded",
        channel: name,
        data: "{}",
      }));
    }
  };
  return response;
}

async function publish(req: Request): Promise<Response> {
  const event: Published = await req.json();
  const data = typeof event.data === "string"
    ? event.data
    : JSON.stringify(event.data);
  for (const channel of event.channels ?? [event.channel ?? ""]) {
    const members = channels.get(channel);
    if (members === undefined) continue;
    const frame = JSON.stringify({ event: event.name, channel, data });
    for (const member of members) {
      if (member.readyState === WebSocket.OPEN) member.send(frame);
    }
  }
  return Response.json({});
}

Deno.serve({
  hostname: Deno.env.get("HOST") ?? "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? "0"),
  onListen({ port }) {
    Deno.stdout.writeSync(new TextEncoder().encode(`ready ${port}\n`));
  },
}, (req) => {
  if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
    return upgrade(req);
  }
  if (req.method === "POST" && new URL(req.url).pathname.endsWith("/events")) {
    return publish(req);
  }
  return new Response("bare Deno Pusher server\n");
});
