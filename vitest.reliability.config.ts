import { defineConfig } from "vitest/config";
import { LongestFirstSequencer } from "./harness/vitest-sequencer.js";

/** `npm run test:reliability`: faults injected into real anvil, Ponder and HTTP (see RELIABILITY.md). */
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.test.ts"],
    setupFiles: ["harness/vitest-setup.ts"],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    // Each file runs anvil and one or two Ponder processes: two files at a time on two cores.
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
    // The longest files first, so that both workers end together (harness/vitest-sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
  },
});
