import { defineConfig } from "vitest/config";
import { LongestFirstSequencer } from "./harness/vitest-sequencer.js";

/** Files named *.unit.test.ts start no anvil, Ponder or PostgreSQL: `npm run test:unit`, in seconds. */
const UNIT = "test/**/*.unit.test.ts";

/**
 * `npm test`: both projects. `npm run test:unit`: the pure tests alone; `npm run test:integration`:
 * the suites against real anvil, Ponder and PostgreSQL. The fault-injection and production suites
 * run apart: npm run test:reliability, npm run test:prod.
 */
export default defineConfig({
  test: {
    // Suites start their own anvil, Ponder and PostgreSQL on free ports; two cores run two files.
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
    // The longest files first, so that both workers end together (harness/vitest-sequencer.ts).
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
          setupFiles: ["harness/vitest-setup.ts"],
          // Deadlines with room for a loaded CI machine (docs/testing.md, "Testing under load"): a passing test
          // takes no longer for them, a hanging one fails later.
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
