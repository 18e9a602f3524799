/**
 * The peers the benchmark installs for itself into `tests/bench/.peers/`
 * (ignored by git): `ws`, `socket.io` and `bun` from npm, plus a description
 * of the machine and of every runtime version for the report.
 *
 * @module
 */

import { capture } from "./processes.ts";

/** npm packages installed with `npm install --prefix .peers`. */
export const PEER_PACKAGES: readonly string[] = [
  "ws@8",
  "socket.io@4",
  "bun@1.4.5",
];

/** Installed peers. */
export interface Peers {
  /** Path of a working Bun binary, if any. */
  bun: string | undefined;
  versions: Record<string, string>;
}

async function packageVersion(
  peersDir: string,
  name: string,
): Promise<string | undefined> {
  try {
    const text = await Deno.readTextFile(
      `${peersDir}node_modules/${name}/package.json`,
    );
    const version: unknown = JSON.parse(text).version;
    return typeof version === "string" ? version : undefined;
  } catch {
    return undefined;
  }
}

/** The npm-installed Bun binary that runs, if any. */
export async function findBun(peersDir: string): Promise<string | undefined> {
  const candidates = [
    "node_modules/bun/bin/bun.exe",
    "node_modules/@oven/bun-linux-x64/bin/bun",
    "node_modules/@oven/bun-linux-x64-baseline/bin/bun",
  ];
  for (const candidate of candidates) {
    const path = `${peersDir}${candidate}`;
    if (await capture(path, ["--version"]) !== undefined) return path;
  }
  return undefined;
}

/** What is installed in `peersDir` now (nothing is installed). */
export async function lookPeers(peersDir: string): Promise<Peers> {
  const versions: Record<string, string> = {};
  for (const name of ["ws", "socket.io"]) {
    const v = await packageVersion(peersDir, name);
    if (v) versions[name] = v;
  }
  const bun = await findBun(peersDir);
  const bunVersion = bun ? await capture(bun, ["--version"]) : undefined;
  if (bunVersion) versions.bun = bunVersion;
  return { bun, versions };
}

/**
 * Installs the peers unless they are already there; never throws (a peer
 * that is missing afterwards is simply left out of the run).
 */
export async function ensurePeers(
  peersDir: string,
  say: (line: string) => void,
): Promise<Peers> {
  let peers = await lookPeers(peersDir);
  if (peers.versions.ws && peers.versions["socket.io"] && peers.bun) {
    return peers;
  }
  say(
    `Installing peers into ${peersDir}: npm install ${PEER_PACKAGES.join(" ")}`,
  );
  await Deno.mkdir(peersDir, { recursive: true });
  const result = await new Deno.Command("npm", {
    args: [
      "install",
      "--prefix",
      peersDir,
      "--no-audit",
      "--no-fund",
      "--save-exact",
      ...PEER_PACKAGES,
    ],
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
  peers = await lookPeers(peersDir);
  return peers;
}

/** The machine and software versions, for the report. */
export interface SystemInfo {
  cpuModel: string;
  cores: number;
  kernel: string;
  os: string;
  memoryGiB: number;
  fdLimit: number;
  versions: Record<string, string>;
}

/** Describes this machine; `peers` adds their versions. */
export async function systemInfo(peers: Peers): Promise<SystemInfo> {
  const lscpu = await capture("lscpu") ?? "";
  const model = lscpu.match(/^Model name:\s*(.+)$/m)?.[1]?.trim() ??
    "unknown CPU";
  const osRelease = await Deno.readTextFile("/etc/os-release").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKb = Number(meminfo.match(/^MemTotal:\s+(\d+)/m)?.[1] ?? 0);
  const node = await capture("node", ["--version"]);
  const cc = (await capture("cc", ["--version"]))?.split("\n")[0];
  const versions: Record<string, string> = {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    ...(node ? { node: node.replace(/^v/, "") } : {}),
    ...peers.versions,
    ...(cc ? { cc } : {}),
  };
  return {
    cpuModel: model,
    cores: navigator.hardwareConcurrency,
    kernel: Deno.osRelease(),
    os: osRelease.match(/^PRETTY_NAME="?([^"\n]+)"?/m)?.[1] ?? Deno.build.os,
    memoryGiB: Math.round(memKb / 1024 / 1024 * 10) / 10,
    fdLimit: await fdLimit(),
    versions,
  };
}

/** The soft limit on open files that child processes inherit. */
export async function fdLimit(): Promise<number> {
  const text = await capture("sh", ["-c", "ulimit -n"]);
  if (text === "unlimited") return 1_048_576;
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? n : 1024;
}
