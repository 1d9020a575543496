import { defineConfig } from "vitest/config";

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
  },
});
