/**
 * The order in which Vitest starts test files (every config's `sequence.sequencer`): the longest first.
 *
 * Two workers share the files. Without timings of its own (a fresh clone, CI), Vitest starts the
 * largest files first, and the crash files are two-line wrappers around test/helpers/crash-suite.ts:
 * `crash-pglite` (about 220 s) started last and ran alone for its last three minutes while the other
 * worker had nothing left. Starting the longest files first lets both workers end together.
 */
import path from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Files of a minute or more, longest first, named by their path under test/ without `.test.ts`
 * (seconds in CI, 2026-12-03). A file missing here is only started later; docs/testing.md says when
 * to update the list.
 */
export const LONGEST_FIRST = [
  // npm run test:reliability
  "reliability/crash-pglite", // 220
  "reliability/crash-postgres", // 143
  "reliability/config", // 136
  "reliability/rpc-faults", // 128
  "reliability/api-abuse", // 111
  "reliability/reorg", // 107
  // npm test
  "graphql-postgres", // 107
  "streams", // 84
  "rpc-profile", // 66
  "ponder-sync-bulk", // 55
  "indexer-pglite", // 53
  "dashboard", // 51
  "ponder-prefetch", // 45
  "ponder-rpc-rate", // 44
  "ponder-pglite-transactions", // 40
  "webhooks", // 39
  // npm run test:prod
  "prod/blue-green", // 94
  "prod/standby-replicas", // 77
  "prod/failover", // 75
  "prod/rpc-failover", // 62
];

/** A file's place in LONGEST_FIRST, or the list's length for a file that is not in it. */
export function longestFirstRank(file: string): number {
  const name = path.relative(path.resolve("test"), path.resolve(file)).replace(/\.test\.ts$/, "");
  const rank = LONGEST_FIRST.indexOf(name.split(path.sep).join("/"));
  return rank === -1 ? LONGEST_FIRST.length : rank;
}

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // Vitest's order (its own timings when it has them, else size) breaks the ties; Array#sort is stable.
    const ordered = await super.sort(files);
    return ordered.sort((a, b) => longestFirstRank(a.moduleId) - longestFirstRank(b.moduleId));
  }
}
