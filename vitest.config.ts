import { defineConfig } from "vitest/config";
import { LongestFirstSequencer } from "./harness/vitest-sequencer.js";

/** Files named *.unit.test.ts start no anvil, Ponder or PostgreSQL: `npm run test:unit`, in seconds. */
const UNIT = "test/**/*.unit.test.ts";
/** The setup of every project whose files start real processes (anvil, Ponder, PostgreSQL, Chromium). */
const PROCESS_SUITE_SETUP = ["harness/vitest-setup.ts"];

/**
 * One project per tier (docs/testing.md):
 * - `npm test`: unit and integration; `npm run test:unit`: the pure tests alone;
 * - `npm run test:reliability`: faults injected into real anvil, Ponder and HTTP (RELIABILITY.md);
 * - `npm run test:prod`: production setups on real PostgreSQL (docs/production.md);
 * - `npm run test:system`: those two in one run, three files at a time (what CI runs).
 * A file path alone (`npx vitest run test/reliability/reorg.test.ts`) finds its project.
 */
export default defineConfig({
  test: {
    // Suites start their own anvil, Ponder and PostgreSQL on free ports; two cores run two files.
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
    // The longest files first, so that the workers end together (harness/vitest-sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      {
        test: {
          name: "unit",
          include: [UNIT],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: ["**/node_modules/**", UNIT, "test/reliability/**", "test/prod/**"],
          setupFiles: PROCESS_SUITE_SETUP,
          // Deadlines with room for a loaded CI machine (docs/testing.md, "Testing under load"): a passing test
          // takes no longer for them, a hanging one fails later.
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
      {
        test: {
          name: "reliability",
          include: ["test/reliability/**/*.test.ts"],
          setupFiles: PROCESS_SUITE_SETUP,
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: "prod",
          include: ["test/prod/**/*.test.ts"],
          setupFiles: PROCESS_SUITE_SETUP,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
