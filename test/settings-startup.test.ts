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
  it("stops `ponder start` with one line that names the setting", () => {
    const result = spawnSync(path.join(ROOT, "node_modules/.bin/ponder"), ["start", "--schema", "settings_test"], {
      cwd: ROOT,
      env: { ...process.env, PONDER_TELEMETRY_DISABLED: "true", DEPLOYMENT_FILE: deploymentFile, CHAIN_ID: "zero" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.stderr + result.stdout).toContain('Configuration error: CHAIN_ID="zero" is not an integer >= 1');
    expect(result.status).not.toBe(0);
  });
});
