/**
 * One Redis subscriber per process under `--parallel`: the supervisor holds
 * the subscriber connection (one per shard in a cluster) and each Worker's
 * bus subscribes through a `MessagePort` to it. The supervisor subscribes a
 * channel once, when the first Worker asks for it, and unsubscribes after the
 * last one let go; each message Redis delivers is forwarded to the Workers
 * that asked for its channel only (one structured clone of a string each, on
 * the supervisor's thread). A Worker's subscribe resolves once Redis
 * confirmed it, as with its own connection, so the bus's join race stays
 * closed. Commands and publishes stay on each Worker's own connection.
 *
 * Bounded: a Worker that has not confirmed `maxPending` forwarded messages
 * gets no more until it catches up; what it misses it counts as bus gaps and
 * its room streams fill from the room log; it is told how many it missed
 * (`["dropped", n]`, sent with the next message it gets or when it confirms)
 * and counts them on its `/metrics`. Wire between the two sides:
 * `["sub", id, channels]`, `["unsub", channels]`, `["ack", n]` from the
 * Worker; `["subbed", id, error]`, `["msg", channel, text]` and `["resumed"]`
 * (the subscriptions were renewed after an interruption:
 * {@linkcode RedisClient.onResubscribed}) back.
 *
 * @module
 */

import type { ChannelListener, RedisClient } from "./client.ts";

/** The supervisor's side: the Workers' ports and what each listens to. */
export interface SharedSubscriber {
  /** Serves the Worker at the other end of `port`. */
  attach(port: MessagePort): void;
  /** Forgets a Worker (it was terminated); unsubscribes what only it held. */
  detach(port: MessagePort): void;
  /** Redis channels subscribed now. */
  channels(): number;
  /** Messages not forwarded because a Worker lagged `maxPending` behind. */
  dropped(): number;
}

/** Worker → supervisor after this many messages, confirming them. */
const ACK_EVERY = 64;

/**
 * Shares `redis`'s subscriber connection among the Workers attached; a
 * Worker more than `maxPending` forwarded messages behind misses the next.
 */
export function shareSubscriber(
  redis: RedisClient,
  maxPending: number,
): SharedSubscriber {
  /** Channel → the ports listening to it. */
  const listeners = new Map<string, Set<MessagePort>>();
  /** Channel → its Redis subscription (pending or confirmed). */
  const subscribed = new Map<string, Promise<void>>();
  /** Port → messages forwarded and not yet confirmed. */
  const pending = new Map<MessagePort, number>();
  /** Port → messages dropped and not yet told. */
  const untold = new Map<MessagePort, number>();
  let dropped = 0;
  redis.onResubscribed?.(() => {
    for (const port of pending.keys()) port.postMessage(["resumed"]);
  });

  const onMessage: ChannelListener = (text, channel) => {
    for (const port of listeners.get(channel) ?? []) {
      const behind = pending.get(port) ?? 0;
      if (behind >= maxPending) {
        dropped += 1; // the Worker's bus counts it as a gap
        untold.set(port, (untold.get(port) ?? 0) + 1);
        continue;
      }
      tell(port);
      pending.set(port, behind + 1);
      port.postMessage(["msg", channel, text]);
    }
  };

  /** Tells the Worker at `port` how many messages it missed since last told. */
  function tell(port: MessagePort): void {
    const n = untold.get(port);
    if (n === undefined) return;
    untold.delete(port);
    port.postMessage(["dropped", n]);
  }

  function release(port: MessagePort, channels: readonly string[]): void {
    const gone: string[] = [];
    for (const channel of channels) {
      const ports = listeners.get(channel);
      if (ports === undefined || !ports.delete(port)) continue;
      if (ports.size > 0) continue;
      listeners.delete(channel);
      subscribed.delete(channel);
      gone.push(channel);
    }
    if (gone.length > 0) redis.unsubscribe(gone).catch(() => {});
  }

  async function subscribe(
    port: MessagePort,
    channels: readonly string[],
  ): Promise<void> {
    const fresh: string[] = [];
    for (const channel of channels) {
      let ports = listeners.get(channel);
      if (ports === undefined) listeners.set(channel, ports = new Set());
      ports.add(port);
      if (!subscribed.has(channel)) fresh.push(channel);
    }
    if (fresh.length > 0) {
      const done = redis.subscribe(fresh, onMessage);
      for (const channel of fresh) subscribed.set(channel, done);
      done.catch(() => {
        for (const channel of fresh) {
          if (subscribed.get(channel) === done) subscribed.delete(channel);
        }
      });
    }
    try {
      await Promise.all(channels.map((c) => subscribed.get(c)));
    } catch (error) {
      release(port, channels);
      throw error;
    }
  }

  return {
    attach(port) {
      pending.set(port, 0);
      port.onmessage = (event: MessageEvent<unknown>) => {
        const data = event.data;
        if (!Array.isArray(data)) return;
        const [kind, a, b] = data;
        if (kind === "ack" && typeof a === "number") {
          pending.set(port, Math.max(0, (pending.get(port) ?? 0) - a));
          tell(port);
        } else if (kind === "sub" && typeof a === "number" && isList(b)) {
          subscribe(port, b).then(
            () => port.postMessage(["subbed", a, ""]),
            (error: unknown) =>
              port.postMessage(["subbed", a, String(error) || "failed"]),
          );
        } else if (kind === "unsub" && isList(a)) {
          release(port, a);
        }
      };
    },
    detach(port) {
      port.onmessage = null;
      pending.delete(port);
      untold.delete(port);
      const held: string[] = [];
      for (const [channel, ports] of listeners) {
        if (ports.has(port)) held.push(channel);
      }
      release(port, held);
      port.close();
    },
    channels: () => subscribed.size,
    dropped: () => dropped,
  };
}

function isList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

/**
 * The Worker's side: `redis` (its own command connection) with its
 * subscriptions made through the supervisor at the other end of `port`;
 * `onDropped` hears how many messages the supervisor did not forward.
 */
export function subscribeThrough(
  redis: RedisClient,
  port: MessagePort,
  onDropped?: (count: number) => void,
): RedisClient {
  const listeners = new Map<string, ChannelListener>();
  const waiting = new Map<number, PromiseWithResolvers<void>>();
  const resubscribed = new Set<() => void>();
  let next = 0;
  let received = 0;
  port.onmessage = (event: MessageEvent<unknown>) => {
    const data = event.data;
    if (!Array.isArray(data)) return;
    const [kind, a, b] = data;
    if (kind === "msg" && typeof a === "string") {
      if (++received % ACK_EVERY === 0) port.postMessage(["ack", ACK_EVERY]);
      listeners.get(a)?.(typeof b === "string" ? b : "", a);
    } else if (kind === "subbed" && typeof a === "number") {
      const wait = waiting.get(a);
      waiting.delete(a);
      if (typeof b === "string" && b !== "") wait?.reject(new Error(b));
      else wait?.resolve();
    } else if (kind === "dropped" && typeof a === "number") {
      onDropped?.(a);
    } else if (kind === "resumed") {
      for (const fn of resubscribed) fn();
    }
  };
  return {
    ...redis,
    async subscribe(channels, listener) {
      for (const channel of channels) listeners.set(channel, listener);
      const id = next++;
      const wait = Promise.withResolvers<void>();
      waiting.set(id, wait);
      port.postMessage(["sub", id, [...channels]]);
      await wait.promise;
    },
    onResubscribed(fn) {
      resubscribed.add(fn);
    },
    unsubscribe(channels) {
      for (const channel of channels) listeners.delete(channel);
      port.postMessage(["unsub", [...channels]]);
      return Promise.resolve();
    },
    async close() {
      port.onmessage = null;
      port.close();
      for (const wait of waiting.values()) {
        wait.reject(new Error("Redis subscriptions closed"));
      }
      waiting.clear();
      await redis.close();
    },
  };
}
