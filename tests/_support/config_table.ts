/**
 * The README's configuration table and the settings table in code: reading
 * the README's rows, and (run as a script, `deno task docs:config`) writing
 * them from {@linkcode renderConfigTable}.
 *
 * @module
 */

import { renderConfigTable } from "../../lib/support/config.ts";

/** The README, next to `deno.json`. */
export const README = new URL("../../README.md", import.meta.url);

const START = "<!-- config:start -->";
const END = "<!-- config:end -->";

/** The cells of a markdown table's rows (separator rows skipped, cells trimmed). */
export function tableCells(markdown: string): string[][] {
  return markdown.split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("|") && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) => line.slice(1, -1).split("|").map((cell) => cell.trim()));
}

/** The configuration table of `readme`, between its config markers. */
export function readmeTable(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) {
    throw new RangeError(`README.md has no ${START} ... ${END} section`);
  }
  return readme.slice(start + START.length, end);
}

/** `readme` with its configuration table replaced by the one from code. */
export function withTable(readme: string): string {
  const start = readme.indexOf(START) + START.length;
  return `${readme.slice(0, start)}\n\n${renderConfigTable()}\n\n${
    readme.slice(readme.indexOf(END))
  }`;
}

if (import.meta.main) {
  await Deno.writeTextFile(README, withTable(await Deno.readTextFile(README)));
}
