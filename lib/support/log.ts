/**
 * Structured logging: one JSON object per line on stderr (warn, error) or
 * stdout (debug, info). The only module allowed to use `console`. Never pass
 * tokens or message payloads in `fields`.
 *
 * @module
 */

import type { LogLevel } from "./config.ts";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Fields attached to a log line. Values must be JSON-serializable. */
export type LogFields = Record<string, string | number | boolean | null>;

/** A leveled logger that writes JSON lines. */
export interface Logger {
  /** Verbose diagnostics. */
  debug(msg: string, fields?: LogFields): void;
  /** Normal operation: start, stop, listen. */
  info(msg: string, fields?: LogFields): void;
  /** Something lost or refused that an operator should see. */
  warn(msg: string, fields?: LogFields): void;
  /** A failure inside the server. */
  error(msg: string, fields?: LogFields): void;
}

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. @default {"info"} */
  level?: LogLevel;
  /** Fields added to every line (e.g. the node id). */
  base?: LogFields;
}

/**
 * Creates a JSON-lines logger.
 *
 * @example Usage
 * ```ts
 * import { createLogger } from "./log.ts";
 *
 * const log = createLogger({ level: "warn", base: { node: "a1" } });
 * log.info("not written");
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? "info"];
  const base = options.base ?? {};
  function write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (RANK[level] < min) return;
    const line = JSON.stringify({
      ts: new Date().toISOString(),
      level,
      msg,
      ...base,
      ...fields,
    });
    // deno-lint-ignore no-console
    if (RANK[level] >= RANK.warn) console.error(line);
    // deno-lint-ignore no-console
    else console.log(line);
  }
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
  };
}

/** A logger that writes nothing (tests). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
