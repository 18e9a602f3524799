/**
 * Bun contestant of the benchmark: `Bun.serve` with its built-in pub/sub.
 * Each socket subscribes to the topic named by `?room=` (default "main"); a
 * text frame is published to the topic with `ws.publish`, which is
 * `server.publish` minus the sender (the same topic fan-out, matching the
 * other contestants' "everyone but the sender"). Run with the npm-installed
 * `bun` binary. Prints `ready <port>` once listening. Env: `PORT`, `HOST`.
 *
 * @module
 */

import process from "node:process";

interface BunSocket {
  data: { room: string };
  subscribe(topic: string): void;
  publish(topic: string, message: string | Uint8Array): number;
}

interface BunServer {
  port: number;
  upgrade(req: Request, options: { data: { room: string } }): boolean;
}

declare const Bun: {
  serve(options: {
    hostname: string;
    port: number;
    fetch(req: Request, server: BunServer): Response | undefined;
    websocket: {
      perMessageDeflate: boolean;
      open(ws: BunSocket): void;
      message(ws: BunSocket, message: string | Uint8Array): void;
    };
  }): BunServer;
};

const server = Bun.serve({
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? "0"),
  fetch(req, server) {
    const room = new URL(req.url).searchParams.get("room") ?? "main";
    if (server.upgrade(req, { data: { room } })) return undefined;
    return new Response("Bun pub/sub broadcast server\n");
  },
  websocket: {
    perMessageDeflate: false,
    open(ws) {
      ws.subscribe(ws.data.room);
    },
    message(ws, message) {
      ws.publish(ws.data.room, message);
    },
  },
});
process.stdout.write(`ready ${server.port}\n`);
