/**
 * The one sender of a deployment. Every isolate and node runs one; only the
 * holder of the store's lease sends (the others keep trying to take it, so
 * a dead holder is replaced within `leaseMs`). It reads what is due, groups
 * it by URL (at most `batchSize` events per request, one request in flight
 * per URL), signs and POSTs each batch with a timeout, removes what a 2xx
 * answered, and reschedules the rest with exponential backoff (full jitter)
 * until `retryMs` after the event, when it is dropped and counted.
 *
 * Nothing here is on the delivery path: a target that never answers holds
 * one request per URL, and the queue it fills is bounded by the store.
 *
 * @module
 */

import type { Logger } from "../support/log.ts";
import type { Metrics } from "../support/metrics.ts";
import type { WebhookSigner } from "./events.ts";
import { webhookHeaders } from "./signing.ts";
import type { QueueEntry, WebhookStore } from "./store.ts";

/** Timings and sizes of the sender (settings). */
export interface SenderSettings {
  /** How often the queue is looked at when nothing else wakes the sender, ms. */
  pollMs: number;
  /** The lease's time to live, renewed at every poll, ms. */
  leaseMs: number;
  /** A request without an answer after this long failed, ms. */
  timeoutMs: number;
  /** An event not delivered this long after it happened is dropped, ms. */
  retryMs: number;
  /** First retry delay (doubled per failure, full jitter), ms. */
  backoffMs: number;
  /** Largest retry delay, ms. */
  backoffMaxMs: number;
  /** Events per request. */
  batchSize: number;
}

/** What a {@linkcode WebhookSender} is built from. */
export interface SenderOptions extends SenderSettings {
  store: Promise<WebhookStore>;
  /** The key and secret of app `appId`, if it is still configured. */
  signer(appId: string): WebhookSigner | undefined;
  /** Who takes the lease (this isolate's node id). */
  owner: string;
  /** Distinct URLs (app id and URL) configured: with all of them in flight the queue is not read. */
  targets: number;
  metrics: Metrics;
  log: Logger;
  now?: () => number;
  random?: () => number;
  fetch?: typeof fetch;
}

/** The retry delay after `attempts` failures: full jitter up to base × 2^(attempts − 1). */
export function backoff(
  attempts: number,
  settings: Pick<SenderSettings, "backoffMs" | "backoffMaxMs">,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(
    settings.backoffMaxMs,
    settings.backoffMs * 2 ** Math.min(30, Math.max(0, attempts - 1)),
  );
  return Math.round(ceiling / 2 + random() * ceiling / 2);
}

/** Sends the queue while this isolate holds the lease. */
export class WebhookSender {
  readonly #options: SenderOptions;
  readonly #now: () => number;
  readonly #fetch: typeof fetch;
  readonly #inFlight = new Map<string, AbortController>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #leader = false;

  /** Starts polling. */
  constructor(options: SenderOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#fetch = options.fetch ?? fetch;
    this.#wait(0);
  }

  /** Whether this isolate held the lease at its last poll. */
  get leader(): boolean {
    return this.#leader;
  }

  /** Something was queued here: look at the queue now rather than at the next poll. */
  poke(): void {
    if (this.#closed) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#wait(0);
  }

  /** Stops polling, aborts requests in flight (their entries stay queued) and gives the lease up. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const controller of this.#inFlight.values()) controller.abort();
    await this.#running;
    const store = await this.#options.store.catch(() => undefined);
    if (this.#leader) await store?.release(this.#options.owner).catch(() => {});
  }

  #wait(ms: number): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#poll().finally(() => {
        this.#running = undefined;
      });
    }, ms);
  }

  async #poll(): Promise<void> {
    let next = this.#options.pollMs;
    try {
      next = await this.#tick();
    } catch (error) {
      this.#options.log.warn("Webhook queue unavailable", {
        error: String(error),
      });
    }
    if (this.#again) {
      this.#again = false;
      next = 0;
    }
    this.#wait(next);
  }

  /** One look at the queue; returns how long to wait before the next. */
  async #tick(): Promise<number> {
    const { leaseMs, pollMs, batchSize, metrics, owner } = this.#options;
    const store = await this.#options.store;
    if (this.#closed) return pollMs;
    this.#leader = await store.lease(owner, leaseMs);
    if (!this.#leader) {
      metrics.set("webhook_queue_depth", 0);
      metrics.set("webhook_queue_bytes", 0);
      return pollMs;
    }
    const now = this.#now();
    const depth = await store.depth();
    metrics.set("webhook_queue_depth", depth.count);
    metrics.set("webhook_queue_bytes", depth.bytes);
    // Every URL has a request in flight: nothing could be sent now.
    if (this.#inFlight.size >= this.#options.targets) return pollMs;
    const { entries, next } = await store.due(now, batchSize * 16);
    const groups = new Map<string, QueueEntry[]>();
    for (const entry of entries) {
      const target = `${entry.appId}\n${entry.url}`;
      if (this.#inFlight.has(target)) continue;
      let group = groups.get(target);
      if (group === undefined) groups.set(target, group = []);
      if (group.length < batchSize) group.push(entry);
    }
    for (const [target, group] of groups) {
      if (this.#closed) break;
      const controller = new AbortController();
      this.#inFlight.set(target, controller);
      this.#send(store, group, controller).catch((error) => {
        this.#options.log.warn("Webhook batch not settled", {
          error: String(error),
        });
      }).finally(() => {
        this.#inFlight.delete(target);
        this.poke();
      });
    }
    return next === undefined
      ? pollMs
      : Math.min(pollMs, Math.max(0, next - now));
  }

  async #send(
    store: WebhookStore,
    group: QueueEntry[],
    controller: AbortController,
  ): Promise<void> {
    const { metrics, log, timeoutMs } = this.#options;
    const first = group[0]!;
    const signer = this.#options.signer(first.appId);
    if (signer === undefined) {
      await store.remove(group);
      metrics.inc("webhook_dropped_total", group.length, "unknown_app");
      return;
    }
    const body = JSON.stringify({
      "time_ms": this.#now(),
      events: group.map((entry) => entry.event),
    });
    const headers = webhookHeaders(signer.key, signer.secret, body);
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let failure: string | undefined;
    try {
      const response = await this.#fetch(first.url, {
        method: "POST",
        headers,
        body,
        signal: controller.signal,
        redirect: "manual",
      });
      await response.body?.cancel();
      if (response.status < 200 || response.status > 299) {
        failure = `status_${response.status}`;
      }
    } catch (error) {
      failure = controller.signal.aborted ? "timeout" : "network";
      if (!controller.signal.aborted) {
        log.debug("Webhook request failed", { error: String(error) });
      }
    } finally {
      clearTimeout(timer);
    }
    if (this.#closed && failure !== undefined) return; // stays queued for the next sender
    if (failure === undefined) {
      await store.remove(group);
      metrics.inc("webhook_sent_total", group.length);
      metrics.inc("webhook_requests_total", 1, "ok");
      return;
    }
    metrics.inc("webhook_requests_total", 1, failure);
    metrics.inc("webhook_failed_total", group.length);
    await this.#retry(store, group);
  }

  async #retry(store: WebhookStore, group: QueueEntry[]): Promise<void> {
    const { metrics, log, retryMs } = this.#options;
    const now = this.#now();
    const keep: QueueEntry[] = [];
    const drop: QueueEntry[] = [];
    for (const entry of group) {
      const attempts = entry.attempts + 1;
      const due = now + backoff(attempts, this.#options, this.#options.random);
      if (due - entry.at > retryMs) drop.push(entry);
      else keep.push({ ...entry, attempts, due });
    }
    if (keep.length > 0) {
      await store.reschedule(keep);
      metrics.inc("webhook_retried_total", keep.length);
    }
    if (drop.length > 0) {
      await store.remove(drop);
      metrics.inc("webhook_dropped_total", drop.length, "expired");
      log.warn("Webhook events dropped after retrying", {
        url: drop[0]!.url,
        events: drop.length,
      });
    }
  }
}
