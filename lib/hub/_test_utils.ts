/**
 * Test helpers for the hub's unit tests: a hub on a memory bus and a memory
 * log with small limits, and a connection on a fake socket.
 *
 * @module
 */

import { FakeSocket } from "../../tests/_support/fake_socket.ts";
import { type Bus, createBus } from "../bus/bus.ts";
import type { Connection } from "../rooms/connection.ts";
import { MemoryNetwork } from "../bus/memory.ts";
import { Hub } from "./hub.ts";
import { silentLogger } from "../support/log.ts";
import { Metrics } from "../support/metrics.ts";
import { MemoryLog } from "../room_log/memory.ts";

/** What {@linkcode makeHub} built. */
export interface TestHub {
  hub: Hub;
  bus: Bus;
  metrics: Metrics;
  history: MemoryLog;
  /** Shuts the hub and its bus down. */
  close(): Promise<void>;
}

/** A hub on `net` with small limits. */
export function makeHub(
  net: MemoryNetwork = new MemoryNetwork(),
  now: () => number = () => 1_000,
  history: MemoryLog = new MemoryLog({ maxMessages: 100, ttlMs: 60_000, now }),
): TestHub {
  const metrics = new Metrics();
  const bus = createBus(net.connect());
  const hub = new Hub({
    bus,
    history,
    metrics,
    log: silentLogger,
    limits: {
      maxMessageBytes: 100,
      maxBufferedBytes: 1_000,
      heartbeatMs: 500,
      repairDelayMs: 5,
      presenceIntervalMs: 60_000,
      presenceTimeoutMs: 120_000,
      rateLimitPerS: 1_000,
      rateLimitBurst: 1_000,
      rateLimitStrikes: 3,
      maxRoomsPerConnection: 3,
      coalesceMs: 1,
    },
    now,
  });
  async function close() {
    hub.shutdown();
    await bus.close();
  }
  return { hub, bus, metrics, history, close };
}

/** Connects a fake socket to `hub`. */
export function open(
  hub: Hub,
): { socket: FakeSocket; connection: Connection } {
  const socket = new FakeSocket();
  const connection = hub.connect(socket);
  return { socket, connection };
}
