import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import {
  findCycles,
  findViolations,
  type ImportGraph,
  layerOf,
  LAYERS,
} from "./_support/layering.ts";

const ROOT = new URL("../", import.meta.url);
/** Where the production graph starts: the process, the embedding API, Workers, the SDK, the dashboard page. */
const ENTRIES = [
  "main.ts",
  "lib/mod.ts",
  "lib/server/worker.ts",
  "lib/client/mod.ts",
  "lib/admin_ui/main.ts",
];

/** The real import graph of the production modules, from `deno info --json`. */
async function readImportGraph(): Promise<ImportGraph> {
  const graph: ImportGraph = new Map();
  const root = fromFileUrl(ROOT);
  for (const entry of ENTRIES) {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const info: unknown = JSON.parse(new TextDecoder().decode(stdout));
    for (const module of modulesOf(info)) {
      const from = local(module.specifier, root);
      if (from === undefined) continue;
      const targets = module.dependencies
        .map((d) => local(d, root))
        .filter((d): d is string => d !== undefined);
      graph.set(from, [...new Set(targets)].sort());
    }
  }
  return graph;
}

interface InfoModule {
  specifier: string;
  dependencies: string[];
}

/** The modules of a `deno info --json` answer, read without casts. */
function modulesOf(info: unknown): InfoModule[] {
  const modules = Reflect.get(Object(info), "modules");
  if (!Array.isArray(modules)) throw new TypeError("deno info: no modules");
  return modules.map((m: unknown) => {
    const specifier = Reflect.get(Object(m), "specifier");
    const deps = Reflect.get(Object(m), "dependencies");
    if (typeof specifier !== "string") throw new TypeError("deno info: module");
    const dependencies = Array.isArray(deps)
      ? deps.flatMap((d: unknown) => {
        const code = Reflect.get(
          Object(Reflect.get(Object(d), "code")),
          "specifier",
        );
        const type = Reflect.get(
          Object(Reflect.get(Object(d), "type")),
          "specifier",
        );
        return [code, type].filter((s): s is string => typeof s === "string");
      })
      : [];
    return { specifier, dependencies };
  });
}

/** A repository-relative path for a file specifier inside the repository. */
function local(specifier: string, root: string): string | undefined {
  if (!specifier.startsWith("file:")) return undefined;
  const path = fromFileUrl(specifier);
  return path.startsWith(root) ? path.slice(root.length) : undefined;
}

/** Production modules of lib/ and routes/ (no tests, no test doubles). */
async function productionModules(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) await walk(`${path}/`);
      else if (
        entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts") &&
        !entry.name.startsWith("_test_utils")
      ) found.push(path);
    }
  };
  await walk("lib/");
  await walk("routes/");
  return found.sort();
}

Deno.test("the import graph follows the layer order and has no cycle", async () => {
  const graph = await readImportGraph();
  assert.ok(graph.size > 40, `only ${graph.size} modules read`);
  assert.deepEqual(findViolations(graph), []);
});

Deno.test("every production module is reached from an entry point", async () => {
  const graph = await readImportGraph();
  const unreached = (await productionModules()).filter((m) => !graph.has(m));
  assert.deepEqual(unreached, []);
});

Deno.test("findViolations() flags an upward import, a private import and a cycle", () => {
  const planted: ImportGraph = new Map([
    ["lib/protocol/messages.ts", ["lib/hub/hub.ts"]],
    ["lib/hub/hub.ts", ["lib/protocol/messages.ts", "lib/rooms/_secret.ts"]],
    ["lib/rooms/_secret.ts", []],
    ["lib/bus/bus.ts", ["lib/presence/presence_table.ts"]],
    ["lib/presence/presence_table.ts", []],
    ["lib/client/client.ts", ["lib/hub/hub.ts"]],
    ["scripts/stray.ts", []],
  ]);
  const problems = findViolations(planted);
  const has = (text: string) => problems.some((p) => p.includes(text));
  assert.ok(
    has("lib/protocol/messages.ts (protocol) imports lib/hub/hub.ts (hub)"),
  );
  assert.ok(has("lib/bus/bus.ts (bus) imports lib/presence/presence_table.ts"));
  assert.ok(has("lib/client/client.ts (client) imports lib/hub/hub.ts (hub)"));
  assert.ok(has("private to lib/rooms/"));
  assert.ok(
    has(
      "import cycle: lib/hub/hub.ts -> lib/protocol/messages.ts -> lib/hub/hub.ts",
    ),
  );
  assert.ok(has("scripts/stray.ts belongs to no layer"));
  // The downward imports alone are clean.
  assert.deepEqual(
    findViolations(
      new Map([
        ["lib/hub/hub.ts", ["lib/rooms/rooms.ts", "lib/protocol/messages.ts"]],
        ["lib/rooms/rooms.ts", ["lib/protocol/messages.ts"]],
        ["lib/protocol/messages.ts", []],
      ]),
    ),
    [],
  );
});

Deno.test("findCycles() finds one cycle per strongly connected component", () => {
  const cycles = findCycles(
    new Map([
      ["a", ["b"]],
      ["b", ["a", "c"]],
      ["c", ["c"]],
      ["d", []],
    ]),
  );
  assert.deepEqual(cycles.map((c) => [...c].sort()).sort(), [["a", "b"], [
    "c",
  ]]);
});

Deno.test("layerOf() prefers the longest matching path", () => {
  assert.equal(layerOf("lib/mod.ts")?.name, "entry");
  assert.equal(layerOf("lib/rooms/rooms.ts")?.name, "rooms");
  assert.equal(layerOf("tests/x.ts"), undefined);
  assert.equal(LAYERS.at(-1)?.name, "protocol");
});
