/**
 * Soketi 1.6.1 for the Pusher contestant (issue #12), installed into
 * `tests/bench/.peers/soketi/` (ignored by git) by the recipe of
 * `/work/shared/docs/bench.md`: its uWebSockets.js dependency points at a
 * GitHub URL, so an `overrides` entry maps it to the npm republish 20.30,
 * and `--ignore-scripts` skips the install scripts. That republish falls
 * back to a JS implementation when its binary does not load, so the
 * install only counts when `us_listen_socket_close` is there.
 *
 * @module
 */

import { capture } from "./processes.ts";

/** Soketi's version, pinned. */
export const SOKETI_VERSION = "1.6.1";

/** The uWebSockets.js republish Soketi runs on. */
export const UWS_OVERRIDE =
  "npm:@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0";

/** The package.json of the Soketi folder. */
export function soketiPackageJson(): string {
  return JSON.stringify(
    {
      name: "roomcast-bench-soketi",
      private: true,
      dependencies: { "@soketi/soketi": SOKETI_VERSION },
      overrides: { "uWebSockets.js": UWS_OVERRIDE },
    },
    null,
    2,
  ) + "\n";
}

/** The installed Soketi version when it runs on native uWS, else undefined. */
export async function soketiVersion(
  peersDir: string,
): Promise<string | undefined> {
  const dir = `${peersDir}soketi/`;
  const probe = await capture("node", [
    "-e",
    "const u = require('uWebSockets.js');" +
    "if (typeof u.us_listen_socket_close !== 'function') process.exit(3);" +
    "console.log(require('@soketi/soketi/package.json').version)",
  ], { cwd: dir });
  return probe === undefined || probe === "" ? undefined : probe;
}

/**
 * Installs Soketi unless it is there; never throws (a missing Soketi is
 * left out of the run). Resolves with its version, if it works.
 */
export async function ensureSoketi(
  peersDir: string,
  say: (line: string) => void,
): Promise<string | undefined> {
  const have = await soketiVersion(peersDir);
  if (have) return have;
  const dir = `${peersDir}soketi/`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}package.json`, soketiPackageJson());
  say(
    `Installing Soketi ${SOKETI_VERSION} into ${dir} (npm install --ignore-scripts, uWebSockets.js → ${UWS_OVERRIDE}) …`,
  );
  const result = await new Deno.Command("npm", {
    args: ["install", "--ignore-scripts", "--no-audit", "--no-fund"],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output().catch((error) => {
    say(`npm failed to start: ${String(error)}`);
    return undefined;
  });
  if (result && !result.success) {
    say(`npm install failed:\n${new TextDecoder().decode(result.stderr)}`);
  }
  const version = await soketiVersion(peersDir);
  if (!version) say("Soketi does not load with a native uWebSockets.js");
  return version;
}
