/**
 * The webhook system of one isolate: a tracker over the deployment-wide
 * state (channels, members, counts), the per-connection events
 * (`client_event`, `cache_miss`), the store they are queued in and the
 * sender. See docs/pusher.md "Webhooks".
 *
 * State events go to every app's targets (apps share one channel namespace:
 * a channel is the room of the same name, for native clients too);
 * `client_event` and `cache_miss` to the targets of the app whose client
 * caused them.
 *
 * @module
 */

import type { Logger } from "../support/log.ts";
import type { Metrics } from "../support/metrics.ts";
import {
  wants,
  type WebhookEvent,
  type WebhookSigner,
  type WebhookTarget,
} from "./events.ts";
import { type SenderSettings, WebhookSender } from "./sender.ts";
import type { NewEntry, StateChange, WebhookStore } from "./store.ts";
import { WebhookOutbox } from "./outbox.ts";
import { WebhookTracker } from "./tracker.ts";

/** Timings of the tracker and the sender (settings). */
export interface WebhookSettings extends SenderSettings {
  vacateDelayMs: number;
  countDelayMs: number;
}

/** What {@linkcode Webhooks} is built from. */
export interface WebhooksOptions {
  store: Promise<WebhookStore>;
  targets: readonly WebhookTarget[];
  /** Key and secret per app id. */
  signers: ReadonlyMap<string, WebhookSigner>;
  /** This isolate's node id: the sender's lease owner. */
  owner: string;
  settings: WebhookSettings;
  /** Bounds of what waits in this isolate (the store's own bounds). */
  limits: { maxEntries: number; maxBytes: number };
  metrics: Metrics;
  log: Logger;
  now?: () => number;
  fetch?: typeof fetch;
}

/** Decides, queues and sends webhooks. */
export class Webhooks {
  readonly #options: WebhooksOptions;
  readonly #now: () => number;
  readonly #tracker: WebhookTracker;
  readonly #sender: WebhookSender;
  readonly #outbox: WebhookOutbox;
  #closed = false;

  /** Starts the sender; {@linkcode Webhooks.close} stops everything. */
  constructor(options: WebhooksOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const { settings } = options;
    this.#tracker = new WebhookTracker({
      vacateDelayMs: settings.vacateDelayMs,
      countDelayMs: settings.countDelayMs,
      decide: (key, value, event) =>
        this.#queue(this.#entries(undefined, event), { key, value }),
    });
    const { metrics, log } = options;
    this.#outbox = new WebhookOutbox({
      store: options.store,
      maxEntries: options.limits.maxEntries,
      maxBytes: options.limits.maxBytes,
      fullHoldMs: settings.pollMs,
      onQueued: (count) => {
        metrics.inc("webhook_queued_total", count);
        this.#sender.poke();
      },
      onDropped: (count, reason, error) => {
        metrics.inc("webhook_dropped_total", count, reason);
        if (error !== undefined) {
          log.warn("Webhook not queued: store failed", {
            error: String(error),
          });
        }
      },
      ...(options.now ? { now: options.now } : {}),
    });
    this.#sender = new WebhookSender({
      ...settings,
      store: options.store,
      signer: (appId) => options.signers.get(appId),
      owner: options.owner,
      targets: new Set(options.targets.map((t) => `${t.appId}\n${t.url}`))
        .size,
      metrics: options.metrics,
      log: options.log,
      ...(options.now ? { now: options.now } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    options.store.catch((error) => {
      options.log.error("Webhook store could not be opened", {
        error: String(error),
      });
    });
  }

  /** Whether this isolate is the deployment's sender right now. */
  get sending(): boolean {
    return this.#sender.leader;
  }

  /** A channel's deployment-wide occupancy (see {@linkcode WebhookTracker.occupancy}). */
  occupancy(channel: string, occupied: boolean): void {
    this.#tracker.occupancy(channel, occupied);
  }

  /** A member's deployment-wide presence in a channel. */
  member(channel: string, userId: string, present: boolean): void {
    this.#tracker.member(channel, userId, present);
  }

  /** A channel's deployment-wide subscription count. */
  count(channel: string, count: number): void {
    this.#tracker.count(channel, count);
  }

  /** A client of app `appId` sent a client event (it happened on this node only). */
  clientEvent(
    appId: string,
    event: Omit<Extract<WebhookEvent, { name: "client_event" }>, "name">,
  ): void {
    this.#queue(this.#entries(appId, { name: "client_event", ...event }));
  }

  /** A client of app `appId` subscribed to a cache channel with nothing cached. */
  cacheMiss(appId: string, channel: string): void {
    this.#queue(this.#entries(appId, { name: "cache_miss", channel }));
  }

  /** Cancels pending decisions, stops the sender and closes the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#tracker.close();
    await this.#outbox.close();
    await this.#sender.close();
    const store = await this.#options.store.catch(() => undefined);
    await store?.close();
  }

  #entries(appId: string | undefined, event: WebhookEvent): NewEntry[] {
    const at = this.#now();
    return this.#options.targets
      .filter((t) =>
        (appId === undefined || t.appId === appId) && wants(t, event.name)
      )
      .map((t) => ({ appId: t.appId, url: t.url, event, at }));
  }

  #queue(entries: NewEntry[], state?: StateChange): void {
    // No URL wants it (targets are fixed for the process): no store work at all.
    if (this.#closed || entries.length === 0) return;
    if (state === undefined) this.#outbox.add(entries);
    else this.#outbox.decide(entries, state);
  }
}
