/**
 * Startup failures of `main.ts` as a user meets them: each is one log line
 * naming the cause and the fix, then a non-zero exit, also under
 * `deno task dev`'s watcher.
 */
import assert from "node:assert/strict";
import { LEASE_KEY } from "../../lib/room_log/kv_lease.ts";
import { MAIN, spawnServer } from "../_support/process.ts";

const decoder = new TextDecoder();

/** Runs `main.ts` with `env` and `args`; returns its exit code and output lines. */
async function runMain(
  env: Record<string, string>,
  options: { args?: string[]; denoArgs?: string[] } = {},
): Promise<{ code: number; lines: string[]; exitedOnItsOwn: boolean }> {
  const dir = await Deno.makeTempDir();
  // A watchdog only: a process that never exits fails the test below.
  const watchdog = new AbortController();
  const timer = setTimeout(() => watchdog.abort(), 60_000);
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...(options.denoArgs ?? []),
        "--allow-all",
        MAIN,
        ...(options.args ?? []),
      ],
      env: {
        PORT: "0",
        HOST: "127.0.0.1",
        KV_PATH: `${dir}/roomcast.kv`,
        ALLOW_ANONYMOUS: "1",
        NO_COLOR: "1",
        ...env,
      },
      stdout: "piped",
      stderr: "piped",
      signal: watchdog.signal,
    }).output();
    const text = decoder.decode(output.stdout) + decoder.decode(output.stderr);
    const lines = text.split("\n").filter((line) =>
      line.trim() !== "" && !line.includes("Watcher")
    );
    return {
      code: output.code,
      lines,
      exitedOnItsOwn: !watchdog.signal.aborted,
    };
  } finally {
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true });
  }
}

/** The one line's message, which must be a JSON error log line. */
function onlyError(lines: string[]): string {
  assert.equal(lines.length, 1, `expected one line, got:\n${lines.join("\n")}`);
  const line: unknown = JSON.parse(lines[0] ?? "");
  assert.equal(Reflect.get(Object(line), "level"), "error");
  const msg: unknown = Reflect.get(Object(line), "msg");
  assert.equal(typeof msg, "string");
  return String(msg);
}

const CASES: [string, Record<string, string>, RegExp][] = [
  [
    "a bad value",
    { PORT: "abc" },
    /^Bad configuration: Invalid PORT: expected an integer/,
  ],
  [
    "a short AUTH_SECRET",
    { AUTH_SECRET: "short" },
    /^Bad configuration: Invalid AUTH_SECRET: expected at least 16 characters, got 5 characters \(not shown\)$/,
  ],
  [
    "an unresolvable HOST",
    { HOST: "no-such-host.invalid" },
    /^Cannot start: HOST "no-such-host\.invalid" does not resolve: set HOST to/,
  ],
  [
    "ALLOWED_ORIGINS without a scheme",
    { ALLOWED_ORIGINS: "localhost:8000" },
    /^Bad configuration: Invalid ALLOWED_ORIGINS: expected origins like .* got "localhost:8000"$/,
  ],
];

for (const [what, env, expected] of CASES) {
  Deno.test(`main.ts: ${what} is one line naming the cause and the fix, exit 2`, async () => {
    const { code, lines } = await runMain(env);
    assert.equal(code, 2);
    assert.match(onlyError(lines), expected);
  });
}

Deno.test("main.ts: a port in use is one line naming the port and the fix, exit 2", async () => {
  using held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { code, lines } = await runMain({ PORT: String(held.addr.port) });
  assert.equal(code, 2);
  assert.match(
    onlyError(lines),
    new RegExp(
      `^Cannot start: Port ${held.addr.port} is in use .*set PORT to a free port`,
    ),
  );
});

Deno.test("main.ts under deno run --watch (deno task dev): a bad value ends the watcher too", async () => {
  const { code, lines, exitedOnItsOwn } = await runMain({ PORT: "abc" }, {
    denoArgs: ["--watch"],
    args: ["--dev", "--watch"],
  });
  assert.equal(exitedOnItsOwn, true, "the watcher waited for a file change");
  assert.notEqual(code, 0);
  assert.match(onlyError(lines), /^Bad configuration: Invalid PORT/);
});

Deno.test("main.ts: a database held by another process is one line with the fix, after one line saying it waits", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kvPath = `${dir}/roomcast.kv`;
    await using _first = await spawnServer({ KV_PATH: kvPath });
    const run = await runMain({ KV_PATH: kvPath });
    const code = run.code;
    const lines = run.lines.filter((line) => !line.includes("Anonymous"));
    assert.equal(code, 2);
    assert.equal(lines.length, 2, lines.join("\n"));
    assert.match(
      lines[0] ?? "",
      /Waiting up to \d+ s for the Deno KV database: its writer lease is held by process \d+/,
    );
    const last: unknown = JSON.parse(lines[1] ?? "");
    assert.match(
      String(Reflect.get(Object(last), "msg")),
      /^Cannot start: The Deno KV database is held by another roomcast process .*give each process its own KV_PATH/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts: a restart that waits for a killed writer's lease says so in one line, then starts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kvPath = `${dir}/roomcast.kv`;
    // What a `kill -9` leaves when its pid still looks alive: an unclean lease.
    const kv = await Deno.openKv(kvPath);
    await kv.set(LEASE_KEY, {
      owner: crypto.randomUUID(),
      gen: 1,
      expiresAt: Date.now() + 1_500,
      clean: false,
      pid: Deno.pid,
      host: Deno.hostname(),
    });
    kv.close();
    await using server = await spawnServer({ KV_PATH: kvPath });
    const waits = server.output().split("\n").filter((line) =>
      line.includes("Waiting up to")
    );
    assert.equal(waits.length, 1, server.output());
    assert.match(waits[0] ?? "", /held by process \d+ on .* until /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts under deno run --watch (deno task dev): SIGTERM stops the server and the watcher", async () => {
  const dir = await Deno.makeTempDir();
  const watchdog = new AbortController();
  const timer = setTimeout(() => watchdog.abort(), 60_000);
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--watch", "--allow-all", MAIN, "--dev", "--watch"],
      env: {
        PORT: "0",
        HOST: "127.0.0.1",
        KV_PATH: `${dir}/roomcast.kv`,
        NO_COLOR: "1",
      },
      stdout: "piped",
      stderr: "null",
      signal: watchdog.signal,
    }).spawn();
    let text = "";
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk);
      if (text.includes("Listening on")) break;
    }
    assert.match(text, /Listening on/);
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(watchdog.signal.aborted, false, "the watcher kept running");
    assert.notEqual(status.success, true);
  } finally {
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true });
  }
});
