/**
 * The contestants of issues #12 (Pusher), #13 (Redis engine) and #14 (SSE
 * fallback): roomcast's Pusher endpoint, Soketi 1.6.1 and the bare-Deno
 * Pusher ceiling (servers/bare_pusher.ts), all driven by Pusher subscribers
 * and the signed HTTP API; roomcast on 1, 2 or 4
 * processes joined by one redis-server (runner_nodes.ts); roomcast's SSE
 * stream (`GET /sse`). `roster.ts` puts them after the main ones.
 *
 * @module
 */

import { type Contestant, roomcastContestant } from "./contestants.ts";

/** The Pusher app every Pusher contestant serves (Soketi's defaults). */
export const PUSHER_APP = {
  id: "app-id",
  key: "app-key",
  secret: "app-secret",
} as const;

const PUSHER_GEN_ARGS = [
  "--app-id",
  PUSHER_APP.id,
  "--app-key",
  PUSHER_APP.key,
  "--app-secret",
  PUSHER_APP.secret,
];

/** `API_KEY` of the roomcast HTTP API contestant (loopback only). */
export const BENCH_API_KEY = "bench-api-key";

/** Path of Soketi's server script inside `.peers/`. */
export const SOKETI_SERVER = "soketi/node_modules/@soketi/soketi/bin/server.js";

/** A free loopback TCP port (Soketi cannot listen on port 0 and say which). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

function redisNodes(nodes: number, id: string, short: string): Contestant {
  return {
    ...roomcastContestant({
      id,
      group: "roomcast-redis",
      short,
      label: `roomcast, ${nodes} process${
        nodes > 1 ? "es" : ""
      } (one isolate each) on one redis-server (\`REDIS_URL\`), subscribers split over them, publishers on the first`,
    }),
    nodes,
  };
}

/** The contestants of issues #12, #13 and #14. */
export const ISSUE_CONTESTANTS: readonly Contestant[] = [
  {
    ...roomcastContestant({
      id: "roomcast-pusher",
      short: "roomcast Pusher",
      label:
        "roomcast's Pusher endpoint (`/app/:key`, protocol 7), publishes through its signed HTTP API (`POST /apps/:id/events`)",
      env: {
        PUSHER_APP_ID: PUSHER_APP.id,
        PUSHER_APP_KEY: PUSHER_APP.key,
        PUSHER_APP_SECRET: PUSHER_APP.secret,
      },
    }),
    proto: "pusher",
    path: `/app/${PUSHER_APP.key}?protocol=7`,
    genArgs: PUSHER_GEN_ARGS,
  },
  {
    id: "soketi",
    group: "soketi",
    short: "Soketi",
    label:
      "Soketi 1.6.1 on Node (uWebSockets.js 20.30 republish), default app, publishes through its signed HTTP API",
    proto: "pusher",
    path: `/app/${PUSHER_APP.key}?protocol=7`,
    peer: false,
    needs: "soketi",
    genArgs: PUSHER_GEN_ARGS,
    ready: /The Websockets server is available at 127\.0\.0\.1:(\d+)/,
    launch: (ctx) => ({
      cmd: ctx.node,
      args: [`${ctx.peersDir}${SOKETI_SERVER}`, "start"],
      env: {
        // Loopback only: by default Soketi binds metrics on 0.0.0.0 and
        // broadcasts UDP discovery to 255.255.255.255.
        SOKETI_HOST: "127.0.0.1",
        SOKETI_PORT: String(freePort()),
        SOKETI_METRICS_HOST: "127.0.0.1",
        SOKETI_METRICS_SERVER_PORT: String(freePort()),
        SOKETI_CLUSTER_HOST: "127.0.0.1",
        SOKETI_CLUSTER_BROADCAST_ADDRESS: "127.0.0.1",
        SOKETI_CLUSTER_PORT: String(freePort()),
        SOKETI_DEFAULT_APP_ID: PUSHER_APP.id,
        SOKETI_DEFAULT_APP_KEY: PUSHER_APP.key,
        SOKETI_DEFAULT_APP_SECRET: PUSHER_APP.secret,
      },
    }),
  },
  {
    id: "deno-bare-pusher",
    group: "deno-bare-pusher",
    short: "bare Deno Pusher",
    label:
      "bare Deno speaking just enough Pusher: a Set per channel, `POST /apps/:id/events` unsigned, one `JSON.stringify` per event and one `send` per subscriber (servers/bare_pusher.ts)",
    proto: "pusher",
    path: `/app/${PUSHER_APP.key}?protocol=7`,
    peer: false,
    genArgs: PUSHER_GEN_ARGS,
    ready: /^ready (\d+)$/,
    launch: (ctx) => ({
      cmd: ctx.deno,
      args: ["run", "-A", `${ctx.benchDir}servers/bare_pusher.ts`],
      env: { PORT: "0", HOST: "127.0.0.1" },
    }),
  },
  {
    ...roomcastContestant({
      id: "roomcast-http",
      short: "roomcast HTTP API",
      label:
        "roomcast's native path with the same publisher: `/ws` subscribers, publishes through its HTTP API (`POST /api/rooms/:room/messages`, `API_KEY`)",
      env: { API_KEY: BENCH_API_KEY },
    }),
    genArgs: ["--api-key", BENCH_API_KEY],
  },
  {
    ...roomcastContestant({
      id: "roomcast-sse",
      short: "roomcast SSE",
      label:
        "roomcast, one isolate, subscribers on the SSE fallback (`GET /sse`, joined by `POST /sse/:session`); the publisher on a WebSocket",
    }),
    genArgs: ["--sse"],
  },
  redisNodes(2, "roomcast-redis", "roomcast Redis ×2"),
  redisNodes(1, "redis-scale-1", "Redis, 1 node"),
  redisNodes(2, "redis-scale-2", "Redis, 2 nodes"),
  redisNodes(4, "redis-scale-4", "Redis, 4 nodes"),
];
