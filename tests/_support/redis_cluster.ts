/**
 * A real 3-master Redis Cluster for tests: three `redis-server
 * --cluster-enabled yes` on free loopback ports, joined by `redis-cli
 * --cluster create`, ready once every node reports `cluster_state:ok`.
 * Append-only with fsync on every write, so a master killed and restarted
 * comes back with its data and its node id. With `replicas: 1`, six nodes:
 * each master has a replica (failover tests). Everything lives in a
 * temporary folder, removed on dispose.
 *
 * @module
 */

import {
  type Child,
  freePort,
  redisServerPath,
  spawnRedisServer,
} from "./redis.ts";

/** A cluster started for a test. */
export interface TestRedisCluster extends AsyncDisposable {
  /** Every node's port: the masters first, then (with replicas) their replicas. */
  ports: number[];
  /** `redis://127.0.0.1:<first port>`: one seed node. */
  url: string;
  /** Kills master `index` (SIGKILL) and starts it again; resolves once the cluster is ok. */
  restart(index: number): Promise<void>;
  /** PIDs of the running masters. */
  readonly pids: number[];
  /** Kills master `index` for good. */
  kill(index: number): Promise<void>;
}

/** Options for {@linkcode startRedisCluster}. */
export interface RedisClusterOptions {
  /** Replicas per master (0 or 1). @default {0} */
  replicas?: number;
  /** `cluster-node-timeout`, ms: a failed master is replaced after about this long. @default {2000} */
  nodeTimeoutMs?: number;
}

/** Starts the cluster; throws when redis-server or redis-cli is missing. */
export async function startRedisCluster(
  options: RedisClusterOptions = {},
): Promise<TestRedisCluster> {
  const replicas = options.replicas ?? 0;
  const path = redisServerPath();
  if (path === undefined) {
    throw new Error(
      "redis-server not found: install it (apt-get install redis-server)",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "roomcast-cluster-" });
  const size = 3 * (1 + replicas);
  const ports = Array.from({ length: size }, () => clusterPort());
  if (new Set(ports).size !== size) return await retry(dir, options);
  const start = (port: number) =>
    spawnRedisServer(path, port, [
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      `${dir}/nodes-${port}.conf`,
      "--cluster-node-timeout",
      String(options.nodeTimeoutMs ?? 2_000),
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--appendfilename",
      `aof-${port}.aof`,
      "--appenddirname",
      `aof-${port}`,
    ]);
  /**
   * Between choosing a port and the node binding it (and port + 10000),
   * another suite's port-0 listener can take either: the node then exits at
   * start. Such a node gets another port, a few times.
   */
  const startOnFreePort = async (i: number, port: number): Promise<Child> => {
    for (let attempt = 1;; attempt++) {
      try {
        return await start(port);
      } catch (error) {
        if (attempt >= 5) throw error;
        port = clusterPort();
        while (ports.includes(port)) port = clusterPort();
        ports[i] = port;
      }
    }
  };
  const children: Array<Child | undefined> = [];
  const stopAll = async () => {
    await Promise.all(children.map((c) => c?.stop()));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    for (const [i, port] of ports.entries()) {
      children.push(await startOnFreePort(i, port));
    }
    await cli([
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      String(replicas),
      "--cluster-yes",
    ]);
    await clusterOk(ports);
    if (replicas > 0) await replicasInSync(ports);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    ports,
    url: `redis://127.0.0.1:${ports[0]}`,
    get pids() {
      return children.flatMap((c) => c ? [c.process.pid] : []);
    },
    async restart(index) {
      await children[index]?.stop();
      children[index] = await start(ports[index]!);
      await clusterOk(ports);
    },
    async kill(index) {
      await children[index]?.stop();
      children[index] = undefined;
    },
    [Symbol.asyncDispose]: stopAll,
  };
}

/**
 * A free port whose cluster bus port (port + 10000) is free too: a node
 * whose bus port is taken aborts at start.
 */
function clusterPort(): number {
  for (;;) {
    const port = freePort();
    if (port > 55_535) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port: port + 10_000 }).close();
      return port;
    } catch {
      // Taken: another one.
    }
  }
}

async function retry(
  dir: string,
  options: RedisClusterOptions,
): Promise<TestRedisCluster> {
  await Deno.remove(dir, { recursive: true });
  return await startRedisCluster(options);
}

/** Runs redis-cli; throws with its output when it fails. */
export async function cli(args: string[]): Promise<string> {
  const out = await new Deno.Command("redis-cli", {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`redis-cli ${args.join(" ")}:\n${text}`);
  return text;
}

/** Polls every node until each reports `cluster_state:ok` (20 s at most). */
export async function clusterOk(ports: number[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const port of ports) {
    while (
      !(await cli(["-p", String(port), "cluster", "info"]).catch(() => ""))
        .includes("cluster_state:ok")
    ) {
      if (Date.now() > deadline) {
        throw new Error(`Redis Cluster not ok on port ${port}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Polls until every replica among `ports` has its master link up (20 s at most). */
async function replicasInSync(ports: number[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const port of ports) {
    for (;;) {
      const info = await cli(["-p", String(port), "info", "replication"])
        .catch(() => "");
      if (
        info.includes("role:master") || info.includes("master_link_status:up")
      ) break;
      if (Date.now() > deadline) {
        throw new Error(`Replica on port ${port} never synced`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The index (in `ports`) of the master that holds `key`'s slot. */
export async function ownerOf(ports: number[], key: string): Promise<number> {
  for (const [i, port] of ports.entries()) {
    const out = await cli(["-p", String(port), "exists", key]);
    if (!out.includes("MOVED")) return i;
  }
  throw new Error(`No master holds ${key}`);
}
