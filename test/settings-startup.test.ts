/** A bad setting stops the real `ponder start` at once, with one line that names it. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../scripts/lib/compile.js";
import { writeSampleDeployment } from "./helpers/sample-deployment.js";

const dir = mkdtempSync(path.join(tmpdir(), "openledger-settings-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const deploymentFile = writeSampleDeployment(dir);

describe("indexer settings at start-up", () => {
  it("stops `ponder start` with one line that names the setting, the API's included", () => {
    const cases: [Record<string, string>, string][] = [
      [{ CHAIN_ID: "zero" }, 'CHAIN_ID="zero": expected an integer >= 1'],
      // Read by the HTTP API (src/api), which used to fall back to its default with a warning.
      [{ STREAM_POLL_MS: "fast" }, 'STREAM_POLL_MS="fast": expected an integer >= 10'],
    ];
    for (const [env, message] of cases) {
      const result = spawnSync(path.join(ROOT, "node_modules/.bin/ponder"), ["start", "--schema", "settings_test"], {
        cwd: ROOT,
        env: { ...process.env, PONDER_TELEMETRY_DISABLED: "true", DEPLOYMENT_FILE: deploymentFile, ...env },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(result.stderr + result.stdout).toContain(`Configuration error: ${message}\n`);
      expect(result.status).toBe(2);
    }
  }, 180_000);
});
