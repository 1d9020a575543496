import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The fault-injection and production suites run apart: npm run test:reliability, npm run test:prod.
    exclude: ["**/node_modules/**", "test/reliability/**", "test/prod/**"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Suites start their own anvil, Ponder and PostgreSQL on free ports; two cores run two files.
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
  },
});
