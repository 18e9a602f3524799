/**
 * Builds an isolate's webhook system from the configuration: the targets of
 * every app, and the store the engine implies (Redis with `REDIS_URL`, the
 * Deno KV database with `HISTORY=kv`, memory with `HISTORY=memory`).
 * Nothing is built when no app has a webhook.
 *
 * @module
 */

import { type Config, configGroup } from "../support/config.ts";
import type { Logger } from "../support/log.ts";
import type { Metrics } from "../support/metrics.ts";
import type { PusherApp } from "../support/pusher_apps.ts";
import { openRedis } from "../redis/client.ts";
import { openRedisCluster } from "../redis/cluster.ts";
import { DEFAULT_PREFIX } from "../redis/keys.ts";
import {
  isEventName,
  type WebhookSigner,
  type WebhookTarget,
} from "./events.ts";
import { KvStore } from "./kv_store.ts";
import { RedisStore } from "./redis_store.ts";
import { MemoryStore, type StoreLimits, type WebhookStore } from "./store.ts";
import { Webhooks, type WebhookSettings } from "./webhooks.ts";

/** The webhook targets of `apps`, in order. */
export function webhookTargets(apps: readonly PusherApp[]): WebhookTarget[] {
  const targets: WebhookTarget[] = [];
  for (const app of apps) {
    for (const hook of app.webhooks) {
      const target: WebhookTarget = { appId: app.id, url: hook.url };
      if (hook.eventTypes !== undefined) {
        target.events = hook.eventTypes.filter(isEventName);
      }
      targets.push(target);
    }
  }
  return targets;
}

/** The settings of the webhook group, as the tracker and sender take them. */
export function webhookSettings(config: Config): WebhookSettings {
  const c = configGroup(config, "webhooks");
  return {
    vacateDelayMs: c.webhookVacateDelayMs,
    countDelayMs: c.webhookCountDelayMs,
    pollMs: c.webhookPollMs,
    leaseMs: c.webhookLeaseMs,
    timeoutMs: c.webhookTimeoutMs,
    retryMs: c.webhookRetryMs,
    backoffMs: c.webhookBackoffMs,
    backoffMaxMs: Math.max(c.webhookBackoffMs, c.webhookBackoffMaxMs),
    batchSize: c.webhookBatchSize,
  };
}

/**
 * The Deno KV database of the webhook queue: a file beside the history's
 * (`./data/roomcast.kv` → `./data/roomcast-webhooks.kv`), so that its
 * writes never hold SQLite's lock against the history's flush; the
 * platform's KV on Deno Deploy (an empty path).
 *
 * @example Usage
 * ```ts
 * import { webhookKvPath } from "./open.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(webhookKvPath("data/roomcast.kv"), "data/roomcast-webhooks.kv");
 * assert.equal(webhookKvPath(""), undefined);
 * ```
 */
export function webhookKvPath(kvPath: string): string | undefined {
  if (kvPath === "") return undefined;
  if (kvPath === ":memory:") return kvPath;
  return /\.kv$/.test(kvPath)
    ? kvPath.replace(/\.kv$/, "-webhooks.kv")
    : `${kvPath}-webhooks`;
}

/** Opens the store the engine implies (its own connection or database handle). */
export async function openWebhookStore(
  config: Config,
  log: Logger,
): Promise<WebhookStore> {
  const limits: StoreLimits = {
    maxEntries: config.webhookQueueMax,
    maxBytes: config.webhookQueueBytes,
    stateTtlMs: config.webhookStateTtlMs,
  };
  if (config.redisUrl !== "") {
    const open = config.redisCluster ? openRedisCluster : openRedis;
    const redis = await open(config.redisUrl, { log });
    return new RedisStore(redis, limits, config.redisPrefix || DEFAULT_PREFIX);
  }
  if (config.history === "kv") {
    const kv = await Deno.openKv(webhookKvPath(config.kvPath));
    return new KvStore(kv, limits);
  }
  return new MemoryStore(limits);
}

/** What {@linkcode createWebhooks} needs besides the configuration. */
export interface CreateWebhooksDeps {
  /** This isolate's node id (the sender's lease owner). */
  owner: string;
  metrics: Metrics;
  log: Logger;
}

/** The isolate's webhook system, or undefined when no app has a webhook. */
export function createWebhooks(
  config: Config,
  deps: CreateWebhooksDeps,
): Webhooks | undefined {
  const targets = webhookTargets(config.pusherApps);
  if (targets.length === 0) return undefined;
  const signers = new Map<string, WebhookSigner>();
  for (const app of config.pusherApps) {
    signers.set(app.id, { key: app.key, secret: app.secret });
  }
  return new Webhooks({
    store: openWebhookStore(config, deps.log),
    targets,
    signers,
    owner: deps.owner,
    settings: webhookSettings(config),
    limits: {
      maxEntries: config.webhookQueueMax,
      maxBytes: config.webhookQueueBytes,
    },
    metrics: deps.metrics,
    log: deps.log,
  });
}
