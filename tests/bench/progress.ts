/**
 * Progress output of the benchmark: plain lines on stderr, so stdout stays
 * free for whoever wraps the run.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Writes one progress line to stderr. */
export function say(line: string): void {
  Deno.stderr.writeSync(encoder.encode(`${line}\n`));
}

/** Formats a number with thousands separators and `digits` decimals. */
export function fmt(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return "–";
  }
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Formats seconds as `1m 05s` or `42s`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60
    ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`
    : `${s}s`;
}
