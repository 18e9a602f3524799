/**
 * Time series of the dashboard: a fixed-size ring of samples per node, and
 * the pure function that turns every node's ring into the cluster's series
 * (counters as rates per second, gauges as values, summed over nodes in
 * buckets of the sampling interval).
 *
 * @module
 */

import { STAT_FIGURES, STAT_GAUGES, type StatFigure } from "../protocol/mod.ts";

/** One node's figures at one moment (the receiver's clock). */
export interface Sample {
  /** ms since the Unix epoch. */
  at: number;
  figures: Readonly<Record<StatFigure, number>>;
}

/** A ring of at most `capacity` items; the oldest is overwritten. */
export class Ring<T> {
  readonly #items: (T | undefined)[];
  #start = 0;
  #length = 0;

  /** An empty ring of `capacity` (at least 1) items. */
  constructor(capacity: number) {
    this.#items = new Array(Math.max(1, Math.floor(capacity)));
  }

  /** Most items kept. */
  get capacity(): number {
    return this.#items.length;
  }

  /** Items held. */
  get length(): number {
    return this.#length;
  }

  /** Adds an item, dropping the oldest when full. */
  push(item: T): void {
    const capacity = this.#items.length;
    if (this.#length < capacity) {
      this.#items[(this.#start + this.#length) % capacity] = item;
      this.#length += 1;
    } else {
      this.#items[this.#start] = item;
      this.#start = (this.#start + 1) % capacity;
    }
  }

  /** The newest item. */
  last(): T | undefined {
    if (this.#length === 0) return undefined;
    return this.#items[(this.#start + this.#length - 1) % this.#items.length];
  }

  /** Items, oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.#length; i++) {
      const item = this.#items[(this.#start + i) % this.#items.length];
      if (item !== undefined) out.push(item);
    }
    return out;
  }
}

/** The cluster's series, column-wise (the shape uPlot takes). */
export interface ClusterSeries {
  /** Bucket starts, seconds since the Unix epoch. */
  t: number[];
  /** Per figure: counters in units per second, gauges as values; null where no node reported. */
  figures: Record<StatFigure, (number | null)[]>;
  /** Nodes that reported in each bucket. */
  nodes: number[];
}

/**
 * Sums every node's samples into buckets of `resolutionMs` covering the
 * last `windowMs` before `now`, from the first bucket any node reported
 * in. A counter's value in a bucket is its rate
 * since the node's previous sample (a counter that went down, i.e. a
 * restarted node, counts as 0); a node with two samples in one bucket
 * counts once, with its latest.
 *
 * @example Usage
 * ```ts
 * import { clusterSeries } from "./series.ts";
 * import { zeroFigures } from "../protocol/mod.ts";
 * import assert from "node:assert/strict";
 *
 * const at = (ms: number, publishes: number, connections: number) => ({
 *   at: ms,
 *   figures: { ...zeroFigures(), publishes, connections },
 * });
 * const a = [at(0, 0, 1), at(1000, 10, 2)];
 * const b = [at(0, 5, 3), at(1000, 25, 4)];
 * const series = clusterSeries([a, b], 1000, 1500, 1500);
 * assert.deepEqual(series.t, [0, 1]);
 * assert.deepEqual(series.figures.publishes, [null, 30]);
 * assert.deepEqual(series.figures.connections, [4, 6]);
 * ```
 */
export function clusterSeries(
  nodes: readonly (readonly Sample[])[],
  resolutionMs: number,
  now: number,
  windowMs: number,
): ClusterSeries {
  const first = Math.floor((now - windowMs) / resolutionMs);
  const last = Math.floor(now / resolutionMs);
  const count = Math.max(0, last - first + 1);
  const t: number[] = [];
  for (let b = first; b <= last; b++) t.push((b * resolutionMs) / 1000);
  const figures = {} as Record<StatFigure, (number | null)[]>; // filled below, every key
  for (const figure of STAT_FIGURES) {
    figures[figure] = new Array(count).fill(null);
  }
  const reported = new Array<number>(count).fill(0);
  for (const samples of nodes) {
    // The node's latest sample (and its predecessor) per bucket.
    const perBucket = new Map<number, [Sample | undefined, Sample]>();
    for (let i = 0; i < samples.length; i++) {
      const sample = samples[i]!;
      const index = Math.floor(sample.at / resolutionMs) - first;
      if (index < 0 || index >= count) continue;
      perBucket.set(index, [samples[i - 1], sample]);
    }
    for (const [index, [previous, sample]] of perBucket) {
      reported[index]! += 1;
      for (const figure of STAT_FIGURES) {
        const value = valueOf(figure, previous, sample);
        if (value === undefined) continue;
        const column = figures[figure];
        column[index] = (column[index] ?? 0) + value;
      }
    }
  }
  // Start at the first bucket any node reported in (a young cluster's
  // charts are not squeezed into the end of an empty window).
  const start = Math.max(0, reported.findIndex((n) => n > 0));
  if (start > 0) {
    for (const figure of STAT_FIGURES) {
      figures[figure] = figures[figure].slice(start);
    }
  }
  return { t: t.slice(start), figures, nodes: reported.slice(start) };
}

function valueOf(
  figure: StatFigure,
  previous: Sample | undefined,
  sample: Sample,
): number | undefined {
  if (STAT_GAUGES.has(figure)) return sample.figures[figure];
  if (previous === undefined || sample.at <= previous.at) return undefined;
  const delta = sample.figures[figure] - previous.figures[figure];
  return Math.max(0, delta) / ((sample.at - previous.at) / 1000);
}
