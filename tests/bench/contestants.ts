/**
 * The contestants: how to start each server, how it says it is ready, and
 * which protocol the generator must speak to it. roomcast variants differ only
 * by arguments and environment, so a future one (e.g. frame coalescing behind
 * an env var) is one more {@linkcode roomcastContestant} call.
 *
 * @module
 */

import type { Placement, Proto } from "./loadgen.ts";

/** Paths and binaries a contestant's command line may need. */
export interface LaunchContext {
  /** Repository root (where `main.ts` and `deno.json` are). */
  root: string;
  /** `tests/bench/` */
  benchDir: string;
  /** `tests/bench/.peers/` (npm `--prefix`). */
  peersDir: string;
  deno: string;
  node: string;
  /** The npm-installed Bun binary, when installed. */
  bun: string | undefined;
  /** Extra environment for every roomcast contestant (`--roomcast-env`). */
  roomcastEnv: Record<string, string>;
  /** A fresh empty folder for this run's files (roomcast's KV database). */
  runDir: string;
}

/** A command line. */
export interface Launch {
  cmd: string;
  args: string[];
  env: Record<string, string>;
}

/** One server in the comparison. */
export interface Contestant {
  /** Stable id used in `--only`, results and tables. */
  id: string;
  /** `--only` also accepts the group (e.g. `roomcast-par` selects its placements). */
  group: string;
  /** Short name for table headers and chart bars. */
  short: string;
  label: string;
  proto: Proto;
  /** WebSocket path (the generator adds `room=` for raw and socketio). */
  path: string;
  /** Needs the npm peers in `.peers/`. */
  peer: boolean;
  /** Subscriber placement relative to the publisher (roomcast `--parallel`). */
  placement?: Placement;
  /** Matches the readiness line; group 1 is the port. */
  ready: RegExp;
  /** More generator arguments (`--sse`, Pusher app credentials). */
  genArgs?: readonly string[];
  /** Several roomcast processes on one redis-server started by the run (runner_nodes.ts). */
  nodes?: number;
  /** Installed on demand into `.peers/` by its own recipe (peers_soketi.ts). */
  needs?: "soketi";
  launch(ctx: LaunchContext): Launch;
}

const READY_LINE = /^ready (\d+)$/;

/**
 * roomcast settings for load tests: every connection comes from 127.0.0.1,
 * so the per-IP and per-connection abuse limits are lifted, and clients
 * connect anonymously (each one a distinct member, as real viewers are).
 * Unknown variables are ignored by older roomcast versions.
 */
export const ROOMCAST_BENCH_ENV: Readonly<Record<string, string>> = {
  ALLOW_ANONYMOUS: "true",
  RATE_LIMIT_PER_S: "1000000",
  RATE_LIMIT_BURST: "1000000",
  MAX_CONNECTIONS: "1000000",
  MAX_CONNECTIONS_PER_IP: "1000000",
  MAX_UPGRADES_PER_S_PER_IP: "1000000",
};

/** Options of {@linkcode roomcastContestant}. */
export interface RoomcastVariant {
  id: string;
  short: string;
  label: string;
  /** Isolates (`main.ts --parallel` with `WORKERS`); 1 runs a single isolate. */
  isolates?: number;
  placement?: Placement;
  /** Extra environment. */
  env?: Record<string, string>;
  group?: string;
  /** Negotiate frame coalescing (`roomcast.v1.batch`). */
  batch?: boolean;
}

/** A roomcast server started as `deno run -A main.ts [--parallel]`. */
export function roomcastContestant(variant: RoomcastVariant): Contestant {
  const isolates = variant.isolates ?? 1;
  return {
    id: variant.id,
    group: variant.group ?? variant.id,
    short: variant.short,
    label: variant.label,
    proto: variant.batch ? "roomcast-batch" : "roomcast",
    path: "/ws",
    peer: false,
    ...(variant.placement ? { placement: variant.placement } : {}),
    ready: /"msg":"Listening on http:\/\/[^"]*:(\d+)\//,
    launch: (ctx) => ({
      cmd: ctx.deno,
      args: ["run", "-A", "main.ts", ...(isolates > 1 ? ["--parallel"] : [])],
      env: {
        PORT: "0",
        HOST: "127.0.0.1",
        LOG_LEVEL: "info",
        SHUTDOWN_TIMEOUT_MS: "500",
        WORKERS: String(isolates),
        // Default history backend (Deno KV), in a fresh file for every run.
        KV_PATH: `${ctx.runDir}/roomcast.kv`,
        ...ROOMCAST_BENCH_ENV,
        ...ctx.roomcastEnv,
        ...variant.env,
      },
    }),
  };
}

const env = (ctx: LaunchContext) => ({
  PORT: "0",
  HOST: "127.0.0.1",
  PEERS_DIR: ctx.peersDir,
});

/** Every contestant, in run order within a repetition. */
export const CONTESTANTS: readonly Contestant[] = [
  roomcastContestant({
    id: "roomcast",
    short: "roomcast",
    label: "roomcast, one isolate (`deno run -A main.ts`)",
  }),
  roomcastContestant({
    id: "roomcast-batch",
    short: "roomcast batch",
    label:
      "roomcast, one isolate, frame coalescing negotiated (`roomcast.v1.batch`)",
    batch: true,
  }),
  roomcastContestant({
    id: "roomcast-memory",
    short: "roomcast memory",
    label:
      "roomcast, one isolate, history in memory (`HISTORY=memory`): the cost of delivery without the Deno KV commit",
    env: { HISTORY: "memory" },
  }),
  roomcastContestant({
    id: "roomcast-par",
    short: "roomcast --parallel",
    label: "roomcast, 2 isolates (`main.ts --parallel`, WORKERS=2)",
    isolates: 2,
  }),
  roomcastContestant({
    id: "roomcast-par-same",
    group: "roomcast-par",
    short: "--parallel, same isolate",
    label: "roomcast --parallel, every subscriber on the publisher's isolate",
    isolates: 2,
    placement: "same",
  }),
  roomcastContestant({
    id: "roomcast-par-cross",
    group: "roomcast-par",
    short: "--parallel, cross-isolate",
    label: "roomcast --parallel, every subscriber on the other isolate",
    isolates: 2,
    placement: "cross",
  }),
  {
    id: "deno-bare",
    group: "deno-bare",
    short: "bare Deno",
    label:
      "bare Deno: `Deno.serve` + `Deno.upgradeWebSocket`, a Set per room (servers/bare_deno.ts)",
    proto: "raw",
    path: "/ws",
    peer: false,
    ready: READY_LINE,
    launch: (ctx) => ({
      cmd: ctx.deno,
      args: ["run", "-A", `${ctx.benchDir}servers/bare_deno.ts`],
      env: env(ctx),
    }),
  },
  {
    id: "ws",
    group: "ws",
    short: "Node ws",
    label: "Node `ws`, a Set per room (servers/ws_server.mjs)",
    proto: "raw",
    path: "/ws",
    peer: true,
    ready: READY_LINE,
    launch: (ctx) => ({
      cmd: ctx.node,
      args: [`${ctx.benchDir}servers/ws_server.mjs`],
      env: env(ctx),
    }),
  },
  {
    id: "socketio",
    group: "socketio",
    short: "Socket.IO",
    label:
      "Socket.IO on Node, `socket.to(room).emit` (servers/socketio_server.mjs)",
    proto: "socketio",
    path: "/socket.io/?EIO=4&transport=websocket",
    peer: true,
    ready: READY_LINE,
    launch: (ctx) => ({
      cmd: ctx.node,
      args: [`${ctx.benchDir}servers/socketio_server.mjs`],
      env: env(ctx),
    }),
  },
  {
    id: "bun",
    group: "bun",
    short: "Bun publish",
    label:
      "Bun `Bun.serve` topics, `ws.publish` = `server.publish` minus the sender (servers/bun_server.ts)",
    proto: "raw",
    path: "/ws",
    peer: true,
    ready: READY_LINE,
    launch: (ctx) => {
      if (ctx.bun === undefined) throw new Error("bun is not installed");
      return {
        cmd: ctx.bun,
        args: [`${ctx.benchDir}servers/bun_server.ts`],
        env: env(ctx),
      };
    },
  },
];

/** The contestant with `id`; throws for an unknown id. */
export function contestant(id: string): Contestant {
  const found = CONTESTANTS.find((c) => c.id === id);
  if (!found) throw new Error(`Unknown contestant "${id}"`);
  return found;
}
