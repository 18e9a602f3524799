/**
 * A coalesced flush (internal): the walk of a room's members that sends each
 * the run of queued messages it holds, one frame per distinct run built once,
 * paced by the turn's {@linkcode SendBudget} and resumable in a later turn.
 *
 * @module
 */

import type { Connection } from "./connection.ts";
import type { Metrics } from "../support/metrics.ts";
import type { StreamMessage } from "./room_stream.ts";
import { type Member, sendOnce } from "./_member.ts";
import type { SendBudget } from "./_send_budget.ts";

/**
 * A flush under way: its walk over the room's members, which the turn's
 * send budget may stop and a later turn resume. Members hold *absolute*
 * queue positions (`base` + index), so messages may keep arriving during a
 * flush: a member reached later gets them in the same frame, one reached
 * earlier holds them for the next flush.
 */
export interface Pass {
  members: Map<Connection, Member>;
  cursor: MapIterator<[Connection, Member]>;
  /** A member the budget stopped at, visited first on resumption. */
  stuck: [Connection, Member] | undefined;
  /** Absolute end of the queue when the flush started: what it takes. */
  end: number;
  /** Runs described so far, by absolute start (each valid for `Run.end`). */
  runs: Map<number, Run>;
  /** When the first message that arrived during the flush was queued, if any. */
  laterSince: number | undefined;
}

/** Per-room coalescing state. */
export interface BatchState {
  /** Members that accept batch frames. */
  batchers: number;
  /** Messages held for batch members until the flush. */
  queue: StreamMessage[];
  /** Absolute position of `queue[0]` (positions only grow). */
  base: number;
  /** When the oldest message in `queue` was queued (clock ms). */
  since: number;
  /** The flush under way, if the send budget stopped it. */
  pass: Pass | undefined;
  /** Idle; held until this turn ends (it found the room idle); or corked. */
  phase: "idle" | "first" | "turn";
  /** Messages were queued during the current turn (more may be on the way). */
  arrived: boolean;
  /** A batch went out during the current turn (the room is busy). */
  flushed: boolean;
  /** When something was last sent (clock ms); -Infinity before. */
  sentAt: number;
}

/** What a flush works with: the coalescer's parts. */
export interface FlushParts {
  /** The frames this turn may still handle. */
  budget: SendBudget;
  metrics: Metrics | undefined;
  /** Most messages in one batch frame. */
  maxMessages: number;
  /** Milliseconds on the coalescer's clock. */
  now(): number;
}

/**
 * Sends `state`'s members their held runs while the turn's budget lasts (the
 * connections spend it; `unbounded`: whatever it is); true when the flush
 * is complete (its messages are then dropped from the queue).
 */
export function walkFlush(
  state: BatchState,
  pass: Pass,
  unbounded: boolean,
  parts: FlushParts,
): boolean {
  const { budget, metrics } = parts;
  let batched = 0, frames = 0;
  let next: [Connection, Member] | undefined = pass.stuck;
  pass.stuck = undefined;
  if (next !== undefined && pass.members.get(next[0]) !== next[1]) {
    next = undefined; // it left meanwhile
  }
  for (;;) {
    if (next === undefined) {
      const step = pass.cursor.next();
      if (step.done === true) break;
      next = step.value;
    }
    const [connection, member] = next;
    next = undefined;
    const start = member.hold;
    if (start < 0) continue;
    if (!unbounded && budget.left <= 0) {
      pass.stuck = [connection, member];
      break;
    }
    member.hold = -1;
    const end = state.base + state.queue.length;
    if (start === end - 1) {
      sendOnce(connection, member, state.queue[start - state.base]!);
      continue;
    }
    let run = pass.runs.get(start);
    if (run === undefined || run.end !== end) {
      run = describeRun(state.queue, start - state.base, state.base);
      pass.runs.set(start, run);
    }
    if (
      !run.ordered || run.epoch !== member.epoch ||
      member.last >= run.first || run.except?.has(connection.id) === true
    ) {
      for (let i = start; i < end; i++) {
        sendOnce(connection, member, state.queue[i - state.base]!);
      }
      continue;
    }
    run.frames ??= framesOf(
      state.queue,
      start - state.base,
      parts.maxMessages,
    );
    member.last = run.last;
    let ok = false;
    for (const frame of run.frames) ok = connection.send(frame) || ok;
    if (ok) {
      frames += run.frames.length;
      batched += run.count;
    }
  }
  if (frames > 0) {
    metrics?.inc("batch_frames_total", frames);
    metrics?.inc("batched_messages_total", batched);
  }
  if (pass.stuck !== undefined) return false;
  // Done: drop what it took; what arrived meanwhile waits for the next.
  state.pass = undefined;
  state.queue = state.queue.slice(pass.end - state.base);
  state.base = pass.end;
  if (pass.laterSince !== undefined) state.since = pass.laterSince;
  // From the end of the sends: a flush to many members takes a while.
  state.sentAt = parts.now();
  return true;
}

/** A suffix of a flushed queue, as every member holding it sees it. */
interface Run {
  /** Offsets of its first and last message. */
  first: number;
  last: number;
  count: number;
  /** Absolute end of the queue it was described at. */
  end: number;
  /** The epoch of all its messages, or undefined when they differ. */
  epoch: string | undefined;
  /** Offsets strictly increase (a message queued twice breaks it). */
  ordered: boolean;
  /** Connections one of its messages excludes. */
  except: Set<string> | undefined;
  /** `[m1,m2,…]` frames of at most `maxMessages`, built when a member first needs them. */
  frames?: string[];
}

function describeRun(
  queue: readonly StreamMessage[],
  start: number,
  base: number,
): Run {
  const head = queue[start]!;
  const run: Run = {
    first: head.offset,
    last: queue[queue.length - 1]!.offset,
    count: queue.length - start,
    end: base + queue.length,
    epoch: head.epoch,
    ordered: true,
    except: undefined,
  };
  let previous = -Infinity;
  for (let i = start; i < queue.length; i++) {
    const m = queue[i]!;
    if (m.epoch !== run.epoch) run.epoch = undefined;
    if (m.offset <= previous) run.ordered = false;
    previous = m.offset;
    if (m.except !== undefined) (run.except ??= new Set()).add(m.except);
  }
  return run;
}

/** The batch frames of `queue[start..]`, at most `max` messages each (a lone one is sent as is). */
function framesOf(
  queue: readonly StreamMessage[],
  start: number,
  max: number,
): string[] {
  const frames: string[] = [];
  for (let i = start; i < queue.length; i += max) {
    const part = queue.slice(i, Math.min(queue.length, i + max));
    frames.push(
      part.length === 1
        ? part[0]!.frame
        : `[${part.map((m) => m.frame).join(",")}]`,
    );
  }
  return frames;
}
