/**
 * The cases of issues #12 (Pusher fan-out against Soketi), #13 (Redis
 * engine: 2 nodes against BroadcastChannel and one process; the 1 → 2 → 4
 * node scaling curve) and #14 (the SSE fallback against WebSocket). Every
 * case is bounded like the others (message count, time limit, self-exit).
 *
 * @module
 */

import type { GenParams } from "./loadgen.ts";
import type { BenchCase } from "./scenarios.ts";

/** Fixed load of the Redis and SSE latency cases: messages/s to 1→1000. */
export const ISSUE_FIXED_RATE = 20;

/** The cases of issues #12–#14; `quick` shrinks the counts. */
export function issueCases(quick: boolean): BenchCase[] {
  const q = <T>(full: T, small: T): T => quick ? small : full;
  const n = q(1000, 500);
  const fanout = (msgs: number): GenParams => ({
    mode: "window",
    subs: n,
    msgs,
    warmup: Math.ceil(msgs / 10),
    window: 4,
    timeLimit: q(60, 20),
    connectLimit: q(20, 10),
  });
  const fixed = (): GenParams => ({
    mode: "rate",
    subs: n,
    rate: ISSUE_FIXED_RATE,
    msgs: ISSUE_FIXED_RATE * q(5, 2),
    warmup: ISSUE_FIXED_RATE,
    timeLimit: q(30, 15),
    connectLimit: q(20, 10),
  });
  const perNodeRooms = 10, members = 10, perNodeRate = q(100, 50);
  return [
    {
      id: `pusher-fanout-${n}`,
      scenario: "pusher",
      title: `Pusher fan-out 1→${n}, HTTP API publishes (4 in flight)`,
      kind: "throughput",
      contestants: [
        "roomcast-pusher",
        "soketi",
        "deno-bare-pusher",
        "roomcast-http",
        "roomcast",
      ],
      baseline: "soketi",
      params: fanout(q(1000, 100)),
      pairs: [
        {
          a: "roomcast-pusher",
          b: "soketi",
          metric: "deliveriesPerS",
          target: "≥ 1.5",
        },
        {
          a: "roomcast-pusher",
          b: "deno-bare-pusher",
          metric: "deliveriesPerS",
        },
        { a: "deno-bare-pusher", b: "soketi", metric: "deliveriesPerS" },
        {
          a: "roomcast-pusher",
          b: "roomcast-http",
          metric: "deliveriesPerS",
          target: "≥ 0.9",
        },
        { a: "roomcast-http", b: "roomcast", metric: "deliveriesPerS" },
      ],
    },
    {
      id: `redis-fanout-${n}`,
      scenario: "redis",
      title:
        `Redis engine, fan-out 1→${n}, W = 4: 2 processes, subscribers on both`,
      kind: "throughput",
      contestants: ["roomcast-redis", "roomcast-par", "roomcast"],
      baseline: "roomcast-par",
      params: fanout(q(1000, 100)),
      pairs: [
        { a: "roomcast-redis", b: "roomcast-par", metric: "deliveriesPerS" },
        { a: "roomcast-redis", b: "roomcast", metric: "deliveriesPerS" },
      ],
    },
    {
      id: `redis-fixed-${n}`,
      scenario: "redis",
      title: `Redis engine, fixed load ${ISSUE_FIXED_RATE} msg/s to 1→${n}`,
      kind: "latency",
      contestants: ["roomcast-redis", "roomcast-par", "roomcast"],
      baseline: "roomcast-par",
      params: fixed(),
      pairs: [
        { a: "roomcast-redis", b: "roomcast-par", metric: "p99Ms" },
        { a: "roomcast-redis", b: "roomcast", metric: "p99Ms" },
      ],
    },
    {
      id: "scale-rooms",
      scenario: "scale",
      title:
        `Redis scaling, disjoint rooms: ${perNodeRooms} rooms × ${members} per node at ${perNodeRate} msg/s per node`,
      kind: "throughput",
      unsaturated: true,
      perNode: true,
      contestants: ["redis-scale-1", "redis-scale-2", "redis-scale-4"],
      baseline: "redis-scale-1",
      params: {
        mode: "rooms",
        rooms: perNodeRooms,
        members,
        rate: perNodeRate,
        msgs: perNodeRate * q(6, 3),
        warmup: perNodeRate,
        window: 1,
        timeLimit: q(30, 15),
        connectLimit: q(20, 10),
      },
    },
    {
      id: `sse-fanout-${n}`,
      scenario: "sse",
      title: `SSE fallback, fan-out 1→${n}, W = 4 (publisher on a WebSocket)`,
      kind: "throughput",
      contestants: ["roomcast-sse", "roomcast"],
      baseline: "roomcast",
      params: fanout(q(1000, 100)),
      pairs: [
        {
          a: "roomcast-sse",
          b: "roomcast",
          metric: "deliveriesPerS",
          target: "≥ 0.7",
        },
        {
          a: "roomcast-sse",
          b: "roomcast",
          metric: "p99Ms",
          target: "≤ 1.5",
        },
      ],
    },
    {
      id: `sse-fixed-${n}`,
      scenario: "sse",
      title: `SSE fallback, fixed load ${ISSUE_FIXED_RATE} msg/s to 1→${n}`,
      kind: "latency",
      contestants: ["roomcast-sse", "roomcast"],
      baseline: "roomcast",
      params: fixed(),
      pairs: [{
        a: "roomcast-sse",
        b: "roomcast",
        metric: "p99Ms",
        target: "≤ 1.5",
      }],
    },
  ];
}
