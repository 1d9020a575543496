import { defineConfig } from "vitest/config";
import { LongestFirstSequencer } from "./harness/vitest-sequencer.js";

/** `npm run test:prod`: production setups on real PostgreSQL (README, "Production"). */
export default defineConfig({
  test: {
    include: ["test/prod/**/*.test.ts"],
    setupFiles: ["harness/vitest-setup.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    // Each file runs anvil, PostgreSQL and two or three Ponder processes: two files at a time on two cores.
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
    // The longest files first, so that both workers end together (harness/vitest-sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
  },
});
