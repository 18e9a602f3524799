/**
 * Every contestant of `deno task bench`: the main ones (contestants.ts)
 * followed by those of issues #12–#14 (contestants_issues.ts).
 *
 * @module
 */

import { type Contestant, CONTESTANTS } from "./contestants.ts";
import { ISSUE_CONTESTANTS } from "./contestants_issues.ts";

/** Every contestant, in run order within a repetition. */
export const ALL_CONTESTANTS: readonly Contestant[] = [
  ...CONTESTANTS,
  ...ISSUE_CONTESTANTS,
];

/** The contestant with `id`; throws for an unknown id. */
export function findContestant(id: string): Contestant {
  const found = ALL_CONTESTANTS.find((c) => c.id === id);
  if (!found) throw new Error(`Unknown contestant "${id}"`);
  return found;
}
