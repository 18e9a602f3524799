/**
 * The house style is part of the suite: `deno fmt --check` and `deno lint`
 * over the repository (as configured in deno.json) must pass, so CI, which
 * runs `deno task test`, fails on an unformatted file or a lint error.
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

async function run(args: string[]): Promise<{ ok: boolean; output: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return {
    ok: result.success,
    output: text.decode(result.stdout) + text.decode(result.stderr),
  };
}

Deno.test("deno fmt --check: every file is formatted", async () => {
  const { ok, output } = await run(["fmt", "--check"]);
  assert.ok(ok, output);
});

Deno.test("deno lint: no problems", async () => {
  const { ok, output } = await run(["lint"]);
  assert.ok(ok, output);
});
