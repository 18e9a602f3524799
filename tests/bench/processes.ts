/**
 * Child processes of the benchmark: spawned with their output read line by
 * line (to see readiness lines and keep a tail for error reports), pinned to
 * a core with `taskset`, and stopped by PID (SIGTERM, then SIGKILL).
 *
 * @module
 */

/** How to start a process. */
export interface SpawnSpec {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Pin to this CPU with `taskset -c` (taskset execs, so the PID stays). */
  core?: number | undefined;
  /** Give the process a stdin pipe (else it reads /dev/null). */
  stdin?: boolean;
}

/** A running child whose stdout and stderr lines are watched. */
export interface Watched {
  /** PID of the process (the server or generator itself, not a wrapper). */
  readonly pid: number;
  /** Resolves with the first line (stdout or stderr) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Writes `text` to stdin (needs `stdin: true`). */
  write(text: string): Promise<void>;
  /** The last lines of output, for error reports. */
  tail(): string[];
  /** Every stdout line so far. */
  stdoutLines(): string[];
  /** Resolves with the exit status once the process has ended and its output is read. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** Stops the process by PID: SIGTERM, SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

interface Waiter {
  pattern: RegExp;
  resolve(match: RegExpMatchArray): void;
}

const TAIL = 40;

const live = new Set<Watched>();

/** Stops every child still running (for an interrupted run). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((proc) => proc.stop(1000)));
}

/** Starts `spec` and watches its output. */
export function spawnWatched(spec: SpawnSpec): Watched {
  const [cmd, args] = spec.core === undefined
    ? [spec.cmd, spec.args]
    : ["taskset", ["-c", String(spec.core), spec.cmd, ...spec.args]];
  const child = new Deno.Command(cmd, {
    args,
    env: spec.env ?? {},
    ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
    stdin: spec.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const out: string[] = [];
  const waiters = new Set<Waiter>();
  const writer = spec.stdin ? child.stdin.getWriter() : undefined;
  let ended = false;
  let endWaiters: Array<() => void> = [];

  const onLine = (line: string, isStdout: boolean) => {
    lines.push(line);
    if (lines.length > TAIL) lines.shift();
    if (isStdout) out.push(line);
    for (const waiter of waiters) {
      const match = line.match(waiter.pattern);
      if (match) {
        waiters.delete(waiter);
        waiter.resolve(match);
      }
    }
  };
  const pump = async (
    stream: ReadableStream<Uint8Array>,
    isStdout: boolean,
  ) => {
    let rest = "";
    const decoder = new TextDecoder();
    for await (const bytes of stream) {
      const chunk = decoder.decode(bytes, { stream: true });
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      for (const part of parts) onLine(part, isStdout);
    }
    if (rest !== "") onLine(rest, isStdout);
  };
  const drained = Promise.all([
    pump(child.stdout, true),
    pump(child.stderr, false),
  ]);
  const exited = (async () => {
    const [status] = await Promise.all([child.status, drained]);
    ended = true;
    for (const wake of endWaiters) wake();
    endWaiters = [];
    if (writer) await writer.close().catch(() => {});
    return status;
  })();

  let stopping: Promise<Deno.CommandStatus> | undefined;
  const watched: Watched = {
    pid: child.pid,
    exited,
    tail: () => [...lines],
    stdoutLines: () => [...out],
    waitFor(pattern, timeoutMs) {
      const seen = out.concat(lines).map((l) => l.match(pattern)).find((m) =>
        m !== null
      );
      if (seen) return Promise.resolve(seen);
      if (ended) return Promise.reject(new Error("process exited"));
      return new Promise((resolve, reject) => {
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
          endWaiters = endWaiters.filter((w) => w !== onEnd);
        };
        const waiter: Waiter = {
          pattern,
          resolve(match) {
            finish();
            resolve(match);
          },
        };
        const onEnd = () => {
          finish();
          reject(new Error(`process exited before printing ${pattern}`));
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
        endWaiters.push(onEnd);
      });
    },
    async write(text) {
      if (!writer) throw new Error("spawned without stdin");
      await writer.write(new TextEncoder().encode(text));
    },
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        if (ended) return await exited;
        signal(child, "SIGTERM");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<"late">((resolve) => {
          timer = setTimeout(() => resolve("late"), graceMs);
        });
        const first = await Promise.race([exited, late]);
        clearTimeout(timer);
        if (first === "late") signal(child, "SIGKILL");
        return await exited;
      })();
      return stopping;
    },
  };
  live.add(watched);
  const forget = () => live.delete(watched);
  exited.then(forget, forget);
  return watched;
}

function signal(child: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    child.kill(sig);
  } catch {
    // Already gone.
  }
}

/** Resident set size of `pid` in KiB (VmRSS), or undefined if unreadable. */
export async function rssKb(pid: number): Promise<number | undefined> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/status`);
    const match = text.match(/^VmRSS:\s+(\d+)\s+kB/m);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a short command and returns its trimmed stdout, or undefined on failure. */
export async function capture(
  cmd: string,
  args: string[] = [],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string | undefined> {
  try {
    const result = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...options,
    }).output();
    if (!result.success) return undefined;
    return new TextDecoder().decode(result.stdout).trim();
  } catch {
    return undefined;
  }
}
