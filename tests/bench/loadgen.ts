/**
 * The native load generator from the harness side: compiles the C sources
 * with `cc`, runs one measurement, and parses its JSON result line.
 *
 * @module
 */

import { capture, spawnWatched } from "./processes.ts";

/** The wire protocol the generator speaks. */
export type Proto =
  | "roomcast"
  | "roomcast-batch"
  | "raw"
  | "socketio"
  /** Pusher protocol 7 subscribers; publishes through the signed HTTP API. */
  | "pusher";

/** Generator modes (see the comment at the top of loadgen.c). */
export type GenMode = "window" | "rate" | "rooms" | "storm";

/** Which isolate subscribers must land on, relative to the publisher. */
export type Placement = "any" | "same" | "cross";

/** Load parameters of one run. */
export interface GenParams {
  mode: GenMode;
  /** Fan-out subscribers or storm connections. */
  subs?: number;
  rooms?: number;
  members?: number;
  msgs?: number;
  warmup?: number;
  window?: number;
  /** Messages per second in total (rate mode, or rooms mode at a fixed rate). */
  rate?: number;
  /** Payload bytes. @default {64} */
  size?: number;
  /** Handshakes in flight. @default {256} */
  conc?: number;
  /** Soft time limit in seconds; the generator also self-exits 15 s later. */
  timeLimit: number;
  /** Connecting (and priming) must be over within this many seconds. @default {30} */
  connectLimit?: number;
  /** Storm: longest hold after connecting, seconds. */
  hold?: number;
  /** End after this long without a delivery, ms. @default {3000} */
  idleMs?: number;
}

/** The generator's JSON result line. */
export interface GenResult {
  mode: GenMode;
  proto: Proto;
  subscribers: number;
  published: number;
  delivered: number;
  expected: number;
  lost: number;
  duplicates: number;
  invalid: number;
  serverErrors: number;
  durationS: number;
  deliveriesPerS: number | null;
  messagesPerS: number | null;
  /** Deliveries/s over the first half of the measured deliveries (steady-state check). */
  firstHalfPerS?: number | null;
  /** Deliveries/s over the second half. */
  secondHalfPerS?: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  maxMs: number | null;
  meanMs: number | null;
  latencySamples: number;
  cpuWindowS: number;
  generatorCpu: number | null;
  serverCpu: number | null;
  otherCpu: number | null;
  serverCpuUsPerDelivery: number | null;
  connected: number;
  connectFailed: number;
  closedByServer: number;
  placementRetries: number;
  connectS: number | null;
  connectionsPerS: number | null;
  timedOut: boolean;
  error: string | null;
  /** CPU of each server process (cores) when several pids were given (nodes, then redis-server). */
  serverCpus?: number[];
  /** "sse" when the subscribers read GET /sse. */
  transport?: string;
  /** HTTP requests answered (Pusher API publishes, SSE joins). */
  httpRequests?: number;
  /** The generator's own stderr lines (first server error, first close), added by the harness. */
  diagnostics?: string[];
}

/** The C sources, relative to this folder. */
export const LOADGEN_SOURCES: readonly string[] = [
  "loadgen.c",
  "loadgen_args.c",
  "loadgen_sha1.c",
  "loadgen_ws.c",
  "loadgen_proto.c",
  "loadgen_stats.c",
  "loadgen_http.c",
  "loadgen_sse.c",
  "loadgen_pusher.c",
  "loadgen_crypto.c",
];

const HERE = new URL(".", import.meta.url);

/** Whether a C compiler answers as `cc`. */
export async function haveCc(): Promise<boolean> {
  return (await capture("cc", ["--version"])) !== undefined;
}

/** Compiles the generator to `outPath` with `cc -O2`; throws with the compiler output. */
export async function compileLoadgen(outPath: string): Promise<void> {
  const dir = decodeURIComponent(HERE.pathname);
  const result = await new Deno.Command("cc", {
    args: [
      "-O2",
      "-std=gnu11",
      "-Wall",
      "-Wextra",
      "-o",
      outPath,
      ...LOADGEN_SOURCES,
      "-lm",
    ],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(
      `cc failed:\n${new TextDecoder().decode(result.stderr)}`,
    );
  }
}

/** Where and how to run the generator. */
export interface GenTarget {
  binary: string;
  port: number;
  proto: Proto;
  path: string;
  placement?: Placement;
  serverPid: number;
  /** Several server ports: subscribers alternate over them (rooms: room mod n). */
  ports?: number[];
  /** Several server processes: CPU is summed, and printed per process. */
  serverPids?: number[];
  /** More generator arguments (e.g. `--sse`, Pusher app credentials). */
  extraArgs?: readonly string[];
  core?: number | undefined;
  /** Storm: called once every connection is up; resolve to release them. */
  onStormReady?: (line: string) => Promise<void>;
}

/** Command-line arguments for `params` against `target`. */
export function loadgenArgs(target: GenTarget, params: GenParams): string[] {
  const args = [
    "--port",
    (target.ports ?? [target.port]).join(","),
    "--proto",
    target.proto,
    "--path",
    target.path,
    "--mode",
    params.mode,
    "--server-pid",
    (target.serverPids ?? [target.serverPid]).join(","),
    "--time-limit",
    String(params.timeLimit),
  ];
  const optional: Array<[string, number | string | undefined]> = [
    ["--placement", target.placement],
    ["--subs", params.subs],
    ["--rooms", params.rooms],
    ["--members", params.members],
    ["--msgs", params.msgs],
    ["--warmup", params.warmup],
    ["--window", params.window],
    ["--rate", params.rate],
    ["--size", params.size],
    ["--conc", params.conc],
    ["--hold", params.hold],
    ["--idle-ms", params.idleMs],
    ["--connect-limit", params.connectLimit],
  ];
  for (const [flag, value] of optional) {
    if (value !== undefined) args.push(flag, String(value));
  }
  args.push(...(target.extraArgs ?? []));
  return args;
}

/** Runs one measurement and returns the parsed result line. */
export async function runLoadgen(
  target: GenTarget,
  params: GenParams,
): Promise<GenResult> {
  const proc = spawnWatched({
    cmd: target.binary,
    args: loadgenArgs(target, params),
    core: target.core,
    stdin: params.mode === "storm",
  });
  // The generator stops itself; this is the harness's own backstop.
  const budgetMs = (params.timeLimit + (params.hold ?? 0) + 30) * 1000;
  const backstop = setTimeout(() => proc.stop(1000), budgetMs);
  try {
    if (params.mode === "storm") {
      const ready = await proc.waitFor(/^READY (.*)$/, budgetMs).catch(
        () => undefined,
      );
      if (ready) {
        try {
          await target.onStormReady?.(ready[1] ?? "");
        } finally {
          await proc.write("\n").catch(() => {});
        }
      }
    }
    const status = await proc.exited;
    const line = proc.stdoutLines().findLast((l) => l.startsWith("{"));
    if (line === undefined) {
      throw new Error(
        `loadgen exited with ${status.code} and no result:\n${
          proc.tail().join("\n")
        }`,
      );
    }
    const result: GenResult = JSON.parse(line);
    if (result.error === undefined) result.error = null;
    const notes = proc.tail().filter((l) => l.startsWith("loadgen: "));
    if (notes.length > 0) result.diagnostics = notes.slice(0, 5);
    return result;
  } finally {
    clearTimeout(backstop);
    await proc.stop(1000);
  }
}
