/**
 * `deno task dev` and `deno task start` must not download test-only
 * dependencies (issue #17: a cold `task dev` fetched playwright-core,
 * pusher, pusher-js and ws, 44 packages). `deno task` installs every npm
 * package of deno.json's `imports` and of the default lockfile before it
 * runs a task, so: `imports` lists only what the server imports, the
 * default lockfile (`"lock": "deno.run.lock"`) only the server's packages,
 * and the suites name their npm packages inline (`npm:playwright-core@…`)
 * and run with `--lock=deno.lock`. This keeps the split honest.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const TEST_ONLY = [
  "playwright-core",
  "pusher",
  "pusher-js",
  "laravel-echo",
  "eventsource",
  "ws",
  "@types/ws",
];

function readJson(name: string): Record<string, unknown> {
  const value: unknown = JSON.parse(
    Deno.readTextFileSync(new URL(name, ROOT)),
  );
  assert.equal(typeof value, "object");
  return Object(value);
}

function command(tasks: unknown, name: string): string {
  const task: unknown = Reflect.get(Object(tasks), name);
  return typeof task === "string"
    ? task
    : String(Reflect.get(Object(task), "command"));
}

Deno.test("deno.json: the default lock is deno.run.lock, imports list no test-only package, suites use deno.lock", () => {
  const config = readJson("deno.json");
  assert.equal(config.lock, "deno.run.lock");
  const imports = Object.values(Object(config.imports)).map(String);
  for (const pkg of TEST_ONLY) {
    assert.equal(
      imports.some((s) => s.startsWith(`npm:${pkg}@`)),
      false,
      `${pkg} in imports`,
    );
  }
  for (const name of ["test", "check", "bench"]) {
    assert.match(command(config.tasks, name), /--lock=deno\.lock/, name);
  }
});

Deno.test("deno.run.lock holds the server's packages and no test-only one", () => {
  const npm = Object.keys(Object(readJson("deno.run.lock").npm));
  assert.ok(npm.some((p) => p.startsWith("hono@")), npm.join());
  for (const pkg of TEST_ONLY) {
    assert.equal(
      npm.some((p) => p.startsWith(`${pkg}@`)),
      false,
      `${pkg} in deno.run.lock (a test ran without --lock=deno.lock?)`,
    );
  }
});

Deno.test("deno.run.lock pins the server's packages at the versions deno.lock has", () => {
  const run = Object(readJson("deno.run.lock").specifiers);
  const all = Object(readJson("deno.lock").specifiers);
  for (const [specifier, version] of Object.entries(run)) {
    assert.equal(Reflect.get(all, specifier), version, specifier);
  }
});
