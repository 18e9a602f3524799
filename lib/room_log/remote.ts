/**
 * A room log served across isolates over MessagePorts: `main.ts --parallel`
 * keeps one write-behind log in the supervisor thread ({@linkcode serveLog})
 * and each Worker uses it through a {@linkcode RemoteLog}. One sequencer for
 * every isolate, without a database commit per publish. Unlike a
 * BroadcastChannel, a MessagePort delivers every message, in order. A
 * refusal of the overloaded log reaches the Worker as the same
 * {@linkcode LogOverloadedError}, and `committed` asks the supervisor's log
 * when a Worker's appends are committed (durable publishes).
 *
 * Message data crosses as JSON text, not by structured clone: a string
 * always clones, so data this isolate accepted is accepted there too (the
 * clone throws on deep nesting), and a message never fails another's append.
 *
 * @module
 */

import { isJson } from "../protocol/mod.ts";
import type { StreamPosition } from "../protocol/mod.ts";
import {
  isOverloadReason,
  LogOverloadedError,
  type NewMessage,
  type RoomLog,
  type SinceResult,
  type StoredMessage,
} from "./room_log.ts";

/** A message on the wire: its data as JSON text. */
interface WireItem {
  json: string;
  ts: number;
  from: string;
}

type Call =
  | { op: "append"; room: string; items: WireItem[] }
  | { op: "head"; room: string }
  | { op: "since"; room: string; position: StreamPosition }
  | { op: "dropHistory"; room: string }
  | { op: "committed" };

/** A call as the serving side reads it: the data parsed again. */
type Request =
  & (
    | Exclude<Call, { op: "append" }>
    | { op: "append"; room: string; items: NewMessage[] }
  )
  & { id: number };

/**
 * Answers the requests of one {@linkcode RemoteLog} from `log`, in arrival
 * order (so one isolate's appends keep their order).
 */
export function serveLog(log: RoomLog, port: MessagePort): void {
  port.onmessage = (event: MessageEvent<unknown>) => {
    const request = parseRequest(event.data);
    if (request === undefined) {
      // Answer what can be answered, so the caller's call does not wait for ever.
      const id = field(event.data, "id");
      if (typeof id === "number") {
        port.postMessage({ id, ok: false, error: "Invalid room log request" });
      }
      return;
    }
    const answer = (result: unknown) =>
      port.postMessage({ id: request.id, ok: true, result });
    const fail = (error: unknown) =>
      port.postMessage({
        id: request.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
        ...(error instanceof LogOverloadedError
          ? { reason: error.reason, retryAfterMs: error.retryAfterMs }
          : {}),
      });
    switch (request.op) {
      case "append":
        log.append(request.room, request.items).then(answer, fail);
        return;
      case "head":
        log.head(request.room).then(answer, fail);
        return;
      case "since":
        log.since(request.room, request.position).then(answer, fail);
        return;
      case "dropHistory":
        if (log.dropHistory === undefined) {
          fail(new Error(NO_DROP));
          return;
        }
        log.dropHistory(request.room).then(answer, fail);
        return;
      case "committed":
        // Sent after the Worker's appends were answered: they are counted.
        (log.committed?.() ?? Promise.resolve()).then(answer, fail);
        return;
    }
  };
}

/** Why a drop fails when the served log cannot drop. */
const NO_DROP = "This room log cannot drop a room's history";

interface Waiting {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** A {@linkcode RoomLog} whose calls are answered by {@linkcode serveLog} on the other end of `port`. */
export class RemoteLog implements RoomLog {
  #port: MessagePort;
  #waiting = new Map<number, Waiting>();
  #next = 0;

  /** Talks over `port` (the supervisor keeps the other end). */
  constructor(port: MessagePort) {
    this.#port = port;
    port.onmessage = (event: MessageEvent<unknown>) => this.#reply(event.data);
  }

  async append(
    room: string,
    items: readonly NewMessage[],
  ): Promise<StoredMessage[]> {
    const wire = items.map(({ data, ts, from }) => ({
      json: JSON.stringify(data),
      ts,
      from,
    }));
    const result = await this.#call({ op: "append", room, items: wire });
    const stored = Array.isArray(result) ? result.map(parseStored) : undefined;
    if (stored === undefined || stored.includes(undefined)) {
      throw new Error("Invalid append reply from the room log");
    }
    return stored.filter((m) => m !== undefined);
  }

  async head(room: string): Promise<StreamPosition> {
    const head = parsePosition(await this.#call({ op: "head", room }));
    if (head === undefined) throw new Error("Invalid head reply");
    return head;
  }

  async since(room: string, position: StreamPosition): Promise<SinceResult> {
    const result = await this.#call({ op: "since", room, position });
    const head = parsePosition(field(result, "head"));
    const recovered = field(result, "recovered");
    if (head === undefined) throw new Error("Invalid since reply");
    if (recovered !== true) return { recovered: false, head };
    const raw = field(result, "messages");
    const messages = Array.isArray(raw) ? raw.map(parseStored) : [undefined];
    if (messages.includes(undefined)) throw new Error("Invalid since reply");
    return {
      recovered: true,
      head,
      messages: messages.filter((m) => m !== undefined),
    };
  }

  /** Drops the room's history in the supervisor's log: how many messages went. */
  async dropHistory(room: string): Promise<number> {
    const dropped = await this.#call({ op: "dropHistory", room });
    if (typeof dropped !== "number" || !Number.isSafeInteger(dropped)) {
      throw new Error("Invalid drop reply from the room log");
    }
    return dropped;
  }

  /** Resolves once the supervisor's log committed every append answered so far. */
  async committed(): Promise<void> {
    await this.#call({ op: "committed" });
  }

  /** Fails what is still waiting; the supervisor closes the log itself. */
  close(): Promise<void> {
    this.#port.close();
    for (const waiting of this.#waiting.values()) {
      waiting.reject(new Error("The room log is closed"));
    }
    this.#waiting.clear();
    return Promise.resolve();
  }

  /** Calls sent and not yet answered (tests: nothing may leak). */
  get waiting(): number {
    return this.#waiting.size;
  }

  #call(request: Call): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      try {
        this.#port.postMessage({ ...request, id });
      } catch (error) {
        // Not sent (a closed port): nothing will answer it.
        this.#waiting.delete(id);
        reject(error);
      }
    });
  }

  #reply(data: unknown): void {
    const id = field(data, "id");
    if (typeof id !== "number") return;
    const waiting = this.#waiting.get(id);
    if (waiting === undefined) return;
    this.#waiting.delete(id);
    if (field(data, "ok") === true) {
      waiting.resolve(field(data, "result"));
      return;
    }
    const message = String(field(data, "error"));
    const reason = field(data, "reason");
    const retryAfterMs = field(data, "retryAfterMs");
    waiting.reject(
      isOverloadReason(reason) && typeof retryAfterMs === "number"
        ? new LogOverloadedError(reason, message, retryAfterMs)
        : new Error(message),
    );
  }
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null
    ? Reflect.get(value, name)
    : undefined;
}

function parsePosition(value: unknown): StreamPosition | undefined {
  const epoch = field(value, "epoch");
  const offset = field(value, "offset");
  return typeof epoch === "string" && typeof offset === "number"
    ? { epoch, offset }
    : undefined;
}

function parseStored(value: unknown): StoredMessage | undefined {
  const position = parsePosition(value);
  const ts = field(value, "ts");
  const frame = field(value, "frame");
  if (position === undefined || typeof ts !== "number") return undefined;
  if (typeof frame !== "string") return undefined;
  return { ...position, ts, frame };
}

function parseItem(value: unknown): NewMessage | undefined {
  const ts = field(value, "ts");
  const from = field(value, "from");
  const json = field(value, "json");
  if (typeof ts !== "number" || typeof from !== "string") return undefined;
  if (typeof json !== "string") return undefined;
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    return undefined;
  }
  return isJson(data) ? { data, ts, from } : undefined;
}

function parseRequest(data: unknown): Request | undefined {
  const id = field(data, "id");
  const op = field(data, "op");
  const room = field(data, "room");
  if (typeof id !== "number") return undefined;
  if (op === "committed") return { id, op };
  if (typeof room !== "string") return undefined;
  if (op === "head" || op === "dropHistory") return { id, op, room };
  if (op === "since") {
    const position = parsePosition(field(data, "position"));
    return position ? { id, op, room, position } : undefined;
  }
  if (op === "append") {
    const raw = field(data, "items");
    const items = Array.isArray(raw) ? raw.map(parseItem) : [undefined];
    if (items.includes(undefined)) return undefined;
    return { id, op, room, items: items.filter((m) => m !== undefined) };
  }
  return undefined;
}
