/**
 * The layer rules of the tree and a checker over an import graph. The graph
 * comes from `deno info --json` (see `readImportGraph`); the checker is pure,
 * so its own tests can plant violations in a synthetic graph.
 *
 * @module
 */

/** One layer: the path prefixes it owns, top (wiring) to bottom (protocol). */
export interface Layer {
  /** Short name used in messages. */
  name: string;
  /** Paths (files, or folders ending in `/`) that belong to the layer. */
  paths: string[];
  /**
   * Layers this one may import besides itself. Default: every layer below it.
   */
  mayImport?: string[];
}

/**
 * The layers of roomcast, top to bottom: a module may import its own layer
 * and the layers below it (or, with `mayImport`, only those named), never one
 * above. `lib/client/` is a side branch for browsers: protocol and support.
 */
export const LAYERS: readonly Layer[] = [
  { name: "entry", paths: ["main.ts", "lib/mod.ts"] },
  { name: "server", paths: ["lib/server/"] },
  { name: "routes", paths: ["routes/"] },
  { name: "admin", paths: ["lib/admin/"] },
  {
    name: "admin_ui",
    paths: ["lib/admin_ui/"],
    mayImport: [],
  },
  {
    name: "client",
    paths: ["lib/client/"],
    mayImport: ["protocol", "support"],
  },
  { name: "pusher", paths: ["lib/pusher/"] },
  { name: "sse", paths: ["lib/sse/"] },
  { name: "hub", paths: ["lib/hub/"] },
  { name: "rooms", paths: ["lib/rooms/"] },
  { name: "presence", paths: ["lib/presence/"] },
  { name: "bus", paths: ["lib/bus/"] },
  { name: "room_log", paths: ["lib/room_log/"] },
  { name: "webhooks", paths: ["lib/webhooks/"] },
  { name: "redis", paths: ["lib/redis/"] },
  { name: "support", paths: ["lib/support/"] },
  { name: "protocol", paths: ["lib/protocol/"] },
];

/** Module path (relative to the repository) → the paths it imports. */
export type ImportGraph = Map<string, string[]>;

/** The layer that owns `path`, if any (the longest matching prefix wins). */
export function layerOf(
  path: string,
  layers: readonly Layer[] = LAYERS,
): Layer | undefined {
  let best: Layer | undefined;
  let bestLength = -1;
  for (const layer of layers) {
    for (const prefix of layer.paths) {
      const owns = prefix.endsWith("/")
        ? path.startsWith(prefix)
        : path === prefix;
      if (owns && prefix.length > bestLength) {
        best = layer;
        bestLength = prefix.length;
      }
    }
  }
  return best;
}

/** Whether a module of layer `from` may import one of layer `to`. */
function allowed(from: Layer, to: Layer, layers: readonly Layer[]): boolean {
  if (from === to) return true;
  if (from.mayImport !== undefined) return from.mayImport.includes(to.name);
  return layers.indexOf(to) > layers.indexOf(from);
}

/**
 * Every rule the graph breaks, as readable lines (empty when it is clean):
 * modules outside any layer, imports against the layer order, `_private.ts`
 * modules imported from outside their folder, and import cycles.
 */
export function findViolations(
  graph: ImportGraph,
  layers: readonly Layer[] = LAYERS,
): string[] {
  const problems: string[] = [];
  for (const [from, targets] of graph) {
    const fromLayer = layerOf(from, layers);
    if (fromLayer === undefined) {
      problems.push(`${from} belongs to no layer`);
      continue;
    }
    for (const to of targets) {
      const toLayer = layerOf(to, layers);
      if (toLayer === undefined) {
        problems.push(`${from} imports ${to}, which belongs to no layer`);
      } else if (!allowed(fromLayer, toLayer, layers)) {
        problems.push(
          `${from} (${fromLayer.name}) imports ${to} (${toLayer.name}): against the layer order`,
        );
      }
      const base = to.slice(to.lastIndexOf("/") + 1);
      if (base.startsWith("_") && dirname(to) !== dirname(from)) {
        problems.push(`${from} imports ${to}, private to ${dirname(to)}/`);
      }
    }
  }
  for (const cycle of findCycles(graph)) {
    problems.push(`import cycle: ${[...cycle, cycle[0]].join(" -> ")}`);
  }
  return problems;
}

function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/** The import cycles of `graph` (one per strongly connected component). */
export function findCycles(graph: ImportGraph): string[][] {
  // Tarjan's strongly connected components, iterative-free (graphs are small).
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    low.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfLoop = (graph.get(node) ?? []).includes(node);
      if (component.length > 1 || selfLoop) cycles.push(component.reverse());
    }
  };
  for (const node of [...graph.keys()].sort()) {
    if (!indices.has(node)) visit(node);
  }
  return cycles;
}
