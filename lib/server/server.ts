/**
 * Starts one isolate's server: bus, hub, app and `Deno.serve`, plus the
 * graceful shutdown that closes every client with a retryable code before
 * the listener goes away. Used by `main.ts`, the Workers of `--parallel`
 * and the integration tests alike.
 *
 * @module
 */

import { createApp } from "./app.ts";
import { createVerifier, type Verifier } from "../support/auth.ts";
import { broadcastChannelTransport } from "../bus/broadcast_channel.ts";
import { type Bus, type BusTransport, createBus } from "../bus/bus.ts";
import { loneTransport } from "../bus/lone.ts";
import { CLOSE_CODE } from "../protocol/mod.ts";
import { type Config, configGroup } from "../support/config.ts";
import { Hub } from "../hub/hub.ts";
import { createLogger, type Logger } from "../support/log.ts";
import { Metrics } from "../support/metrics.ts";
import { type Engine, openEngine } from "./engine.ts";
import type { RoomLog } from "../room_log/room_log.ts";
import { MemoryLog } from "../room_log/memory.ts";
import { Admin } from "../admin/admin.ts";
import { processLabel } from "../admin/node_stats.ts";

/** Overrides for {@linkcode startServer}; tests inject transports and loggers. */
export interface StartServerOptions {
  /** Where log lines go. @default {a JSON logger at `config.logLevel`} */
  log?: Logger;
  /** Bus transport. @default {BroadcastChannel on `config.busChannel`, or none} */
  transport?: BusTransport;
  /** Room log to use instead of the configured one (tests share one between servers). */
  history?: RoomLog;
  /** Share the port with other isolates (`SO_REUSEPORT`). @default {false} */
  reusePort?: boolean;
  /** Folder served at `/`. */
  staticRoot?: string;
  /** Redis engine: subscribe through the supervisor at this port (`--parallel`). */
  redisSubscriptions?: MessagePort;
}

/** A running server. */
export interface RunningServer {
  /** The bound address (the real port when `config.port` was 0). */
  addr: Deno.NetAddr;
  hub: Hub;
  bus: Bus;
  metrics: Metrics;
  /**
   * Closes every client with `code` (1012 by default), waits up to
   * `config.shutdownTimeoutMs` for their close handshakes, then stops the
   * bus and the listener. Idempotent.
   */
  shutdown(code?: number, reason?: string): Promise<void>;
  /** Resolves when the listener has stopped. */
  finished: Promise<void>;
  /** Whether the server can take traffic: not draining, and its engine connected. */
  ready(): boolean;
}

/**
 * Starts serving `config` on `config.host:config.port`.
 *
 * @example Usage
 * ```ts ignore
 * import { parseConfig } from "../support/config.ts";
 * const server = await startServer(parseConfig(Deno.env));
 * await server.shutdown();
 * ```
 */
export async function startServer(
  config: Config,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const metrics = new Metrics();
  const nodeId = crypto.randomUUID();
  const startedAt = Date.now();
  const log = options.log ??
    createLogger({
      level: config.logLevel,
      base: { node: nodeId.slice(0, 8) },
    });
  // The engine: embedded (KV or memory log, BroadcastChannel), or Redis.
  let engine: Engine | undefined;
  let history: RoomLog;
  if (options.history !== undefined) {
    history = options.history;
  } else {
    const commands = metrics.cell("redis_commands_total");
    const commandMs = metrics.cell("redis_command_ms_total");
    const slow = metrics.cell("redis_slow_commands_total");
    const relayDropped = metrics.cell("redis_relay_dropped_total");
    engine = await openEngine(config, log, {
      ...(options.redisSubscriptions === undefined
        ? {}
        : { subscriptions: options.redisSubscriptions }),
      onRedisCommand(ms) {
        commands.value += 1;
        commandMs.value += ms;
        if (ms >= 10) slow.value += 1;
      },
      onRelayDropped(count) {
        relayDropped.value += count;
      },
      onFlush(stats) {
        metrics.set("history_backlog", stats.backlog);
        metrics.set("history_backlog_bytes", stats.backlogBytes);
        metrics.set("history_lag_ms", stats.lagMs);
        metrics.set("history_flush_commits_total", stats.commits);
        metrics.set("history_flush_failures_total", stats.failures);
      },
      memory: {
        bytesGauge: metrics.cell("history_memory_bytes"),
        onEvict(reason, messages) {
          metrics.inc("history_evicted_messages_total", messages, reason);
        },
      },
    });
    history = engine.history;
  }
  const transport = options.transport ?? engine?.transport ??
    (config.bus === "broadcast-channel"
      ? broadcastChannelTransport(config.busChannel)
      : loneTransport());
  const bus = createBus(transport, {
    nodeId,
    unsubscribeGraceMs: config.busUnsubscribeGraceMs,
    cells: busCells(metrics),
    onGap(node, lost) {
      log.warn("Bus posts lost", { from: node.slice(0, 8), lost });
    },
    onSkipped(count) {
      metrics.inc("bus_skipped_events_total", count);
    },
    onInvalid(reason) {
      log.warn("Invalid bus post ignored", { reason });
    },
  });
  const sweep = history instanceof MemoryLog
    ? setInterval(() => history.sweep(), config.historyTtlMs)
    : undefined;
  // The dashboard (when a login token is set) watches the bus the hub uses.
  const admin = config.adminToken === "" && config.apiKey === ""
    ? undefined
    : new Admin({
      config: configGroup(config, "admin"),
      secret: config.adminToken || config.apiKey,
      identity: {
        node: nodeId,
        label: processLabel(),
        engine: engineLabel(config),
        startedAt,
      },
      metrics,
    });
  const hub = new Hub({
    bus: admin?.wrapBus(bus) ?? bus,
    history,
    metrics,
    log,
    limits: {
      ...configGroup(config, "limits"),
      ...configGroup(config, "delivery"),
    },
  });
  admin?.start(hub, bus);
  const verifier = await verifierFor(config);
  const { fetch, sockets, refusals, sse } = createApp({
    hub,
    bus,
    log,
    metrics,
    config,
    nodeId,
    startedAt,
    ...(admin === undefined ? {} : { admin }),
    ...(verifier === undefined ? {} : { verifier }),
    ready: () => engine?.ready() ?? true,
    ...(options.staticRoot === undefined
      ? {}
      : { staticRoot: options.staticRoot }),
  });

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    const tls = await readTls(config);
    server = Deno.serve({
      port: config.port,
      hostname: config.host,
      reusePort: options.reusePort ?? false,
      onListen() {},
      ...tls,
    }, fetch);
  } catch (error) {
    // Could not listen (address in use, bad certificate): release what we opened.
    admin?.close();
    hub.shutdown();
    sse?.close();
    refusals.close();
    await bus.close();
    clearInterval(sweep);
    await engine?.close();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  async function stop(code: number, reason: string): Promise<void> {
    admin?.close(); // ends the live tails: open responses would hold the listener
    hub.shutdown(code, reason);
    sse?.close();
    if (!await sockets.drained(config.shutdownTimeoutMs)) {
      log.warn("Shutdown timeout: clients did not answer the close", {
        open: sockets.size,
      });
    }
    await bus.close();
    await server.shutdown();
    refusals.close();
    clearInterval(sweep);
    await engine?.close();
  }
  return {
    addr: server.addr,
    hub,
    bus,
    metrics,
    finished: server.finished,
    ready: () => stopping === undefined && (engine?.ready() ?? true),
    shutdown(code = CLOSE_CODE.SERVICE_RESTART, reason = "Server restart") {
      stopping ??= stop(code, reason);
      return stopping;
    },
  };
}

/** The engine as the dashboard shows it: `redis`, `embedded/kv/auto`, `embedded/memory`. */
export function engineLabel(config: Config): string {
  if (config.redisUrl !== "") return "redis";
  return config.history === "kv"
    ? `embedded/kv/${config.historyWrite}`
    : `embedded/${config.history}`;
}

/** The metric cells the bus counts in. */
function busCells(metrics: Metrics) {
  return {
    postsSent: metrics.cell("bus_posts_sent_total"),
    postsReceived: metrics.cell("bus_posts_received_total"),
    bytesSent: metrics.cell("bus_bytes_sent_total"),
    bytesReceived: metrics.cell("bus_bytes_received_total"),
    postsUnwanted: metrics.cell("bus_posts_unwanted_total"),
    presenceReceived: metrics.cell("bus_presence_received_total"),
    messagesReceived: metrics.cell("bus_messages_received_total"),
    gaps: metrics.cell("bus_gaps_total"),
    invalid: metrics.cell("bus_invalid_total"),
    subscriptions: metrics.cell("bus_subscriptions"),
  };
}

/** The token verifier the configuration asks for, if any. */
export async function verifierFor(
  config: Config,
): Promise<Verifier | undefined> {
  const common = {
    leewayS: config.authLeewayS,
    ...(config.authAudience ? { audience: config.authAudience } : {}),
    ...(config.authIssuer ? { issuer: config.authIssuer } : {}),
  };
  if (config.authPublicKey !== "") {
    return await createVerifier({
      algorithm: config.authPublicKeyAlg,
      key: config.authPublicKey,
      ...common,
    });
  }
  if (config.authSecret !== "") {
    return await createVerifier({
      algorithm: "HS256",
      key: config.authSecret,
      ...common,
    });
  }
  return undefined;
}

/** Reads the TLS certificate and key when both are configured. */
async function readTls(
  config: Config,
): Promise<{ cert: string; key: string } | Record<never, never>> {
  const { tlsCertFile, tlsKeyFile } = config;
  if (tlsCertFile === "" && tlsKeyFile === "") return {};
  if (tlsCertFile === "" || tlsKeyFile === "") {
    throw new RangeError(
      "Invalid TLS_CERT_FILE/TLS_KEY_FILE: set both or neither",
    );
  }
  return {
    cert: await Deno.readTextFile(tlsCertFile),
    key: await Deno.readTextFile(tlsKeyFile),
  };
}
