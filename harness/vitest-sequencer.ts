/**
 * The order in which Vitest starts test files (vitest.config.ts, `sequence.sequencer`): the longest first.
 *
 * The workers (two; three for `npm run test:system`) share the files. Without timings of its own (a
 * fresh clone, CI), Vitest starts the largest files first, and the crash files are two-line wrappers
 * around test/helpers/crash-suite.ts: `crash-pglite` (then about 220 s) started last and ran alone for
 * its last three minutes while the other worker had nothing left. Starting the longest files first lets
 * the workers end together.
 */
import path from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Files of half a minute or more, longest first, named by their path under test/ without `.test.ts`
 * (seconds in a quiet `.ci/run`, 2026-12-03, with Ponder patch 5). A file missing here is only started
 * later; docs/testing.md says when to update the list.
 */
export const LONGEST_FIRST = [
  // npm run test:system (test:reliability and test:prod in one run)
  "reliability/crash-pglite", // 152
  "reliability/config", // 137
  "reliability/rpc-faults", // 131
  "reliability/api-abuse", // 105
  "reliability/crash-postgres", // 99
  "reliability/reorg", // 90
  "prod/blue-green", // 77
  "prod/rpc-failover", // 63
  "prod/failover", // 59
  "prod/standby-replicas", // 55
  "prod/replicas", // 40
  "prod/multichain", // 37
  // npm test
  "graphql-postgres", // 105
  "indexer-pglite", // 71
  "streams", // 68
  "rpc-profile", // 63
  "dashboard", // 61
  "ponder-rpc-rate", // 53
  "ponder-sync-bulk", // 51
  "ponder-prefetch", // 48
  "ponder-heartbeat", // 43
  "ponder-pglite-transactions", // 38
  "statements", // 32
  "graphql-pglite", // 31
  "webhooks", // 30
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
