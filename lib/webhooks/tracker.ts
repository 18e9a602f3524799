/**
 * Turns this isolate's view of the deployment-wide state into decisions:
 * a channel became occupied or vacant, a member came or went, a count
 * settled. `channel_vacated` and `member_removed` wait `vacateDelayMs` and
 * are cancelled by a return within it (a page reload fires nothing);
 * `subscription_count` waits `countDelayMs` for the count to settle.
 *
 * Every isolate and node runs one over the same state, so each decision is
 * handed to the store as a change of the announced state
 * (`decide(key, value, event)`): only the change that alters the stored
 * value queues its event. Pure apart from its timers.
 *
 * @module
 */

import type { WebhookEvent } from "./events.ts";

/** What a {@linkcode WebhookTracker} is built from. */
export interface TrackerOptions {
  /** How long `channel_vacated` and `member_removed` wait for a return, ms. */
  vacateDelayMs: number;
  /** How long a changed subscription count waits to settle, ms. */
  countDelayMs: number;
  /** Announces `event` if the state `key` is not `value` yet (null: absent). */
  decide(key: string, value: string | null, event: WebhookEvent): void;
}

/** Occupancy, members and counts as this isolate sees them. */
export class WebhookTracker {
  readonly #options: TrackerOptions;
  readonly #occupied = new Set<string>();
  readonly #members = new Set<string>();
  readonly #counts = new Map<string, number>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #closed = false;

  /** Starts with nothing occupied. */
  constructor(options: TrackerOptions) {
    this.#options = options;
  }

  /** Whether `channel` has subscribers or members anywhere in the deployment. */
  occupancy(channel: string, occupied: boolean): void {
    const key = `occupied:${channel}`;
    if (occupied === this.#occupied.has(channel)) return;
    if (occupied) {
      this.#occupied.add(channel);
      this.#cancel(key);
      this.#options.decide(key, "1", { name: "channel_occupied", channel });
      return;
    }
    this.#occupied.delete(channel);
    this.#later(key, this.#options.vacateDelayMs, () => {
      if (this.#occupied.has(channel)) return;
      this.#options.decide(key, null, { name: "channel_vacated", channel });
    });
  }

  /** Whether user `userId` is a member of `channel` anywhere in the deployment. */
  member(channel: string, userId: string, present: boolean): void {
    const id = `${channel}\n${userId}`;
    const key = `member:${id}`;
    if (present === this.#members.has(id)) return;
    const user = { channel, "user_id": userId };
    if (present) {
      this.#members.add(id);
      this.#cancel(key);
      this.#options.decide(key, "1", { name: "member_added", ...user });
      return;
    }
    this.#members.delete(id);
    this.#later(key, this.#options.vacateDelayMs, () => {
      if (this.#members.has(id)) return;
      this.#options.decide(key, null, { name: "member_removed", ...user });
    });
  }

  /** The deployment-wide subscription count of `channel`. */
  count(channel: string, count: number): void {
    const key = `count:${channel}`;
    if ((this.#counts.get(channel) ?? 0) === count) return;
    if (count === 0) this.#counts.delete(channel);
    else this.#counts.set(channel, count);
    this.#cancel(key);
    this.#later(key, this.#options.countDelayMs, () => {
      const settled = this.#counts.get(channel) ?? 0;
      this.#options.decide(key, settled === 0 ? null : String(settled), {
        name: "subscription_count",
        channel,
        "subscription_count": settled,
      });
    });
  }

  /** Channels, members and timers held (each bounded by the tables that feed it). */
  get size(): number {
    return this.#occupied.size + this.#members.size + this.#counts.size +
      this.#timers.size;
  }

  /** Cancels every pending decision. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #cancel(key: string): void {
    const timer = this.#timers.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(key);
  }

  #later(key: string, ms: number, fn: () => void): void {
    if (this.#closed) return;
    this.#cancel(key);
    this.#timers.set(
      key,
      setTimeout(() => {
        this.#timers.delete(key);
        fn();
      }, ms),
    );
  }
}
