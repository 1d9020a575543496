/**
 * How `npm run start:prod` and `npm run serve` pick their schemas, and their one-line refusals
 * (no PostgreSQL needed: the scripts stop before starting Ponder).
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/compile.js";
import { deploymentSchema, requirePostgres, sourceCommit, viewsSchema } from "../../scripts/lib/prod.js";

const TSX = path.join(ROOT, "node_modules/.bin/tsx");

function run(script: string, env: Record<string, string | undefined>) {
  const { DATABASE_URL: _url, DATABASE_SCHEMA: _schema, DATABASE_VIEWS_SCHEMA: _views, ...base } = process.env;
  return spawnSync(TSX, [path.join("scripts", script)], {
    cwd: ROOT,
    env: { ...base, ...env } as NodeJS.ProcessEnv,
    encoding: "utf8",
  });
}

describe("production schema names", () => {
  it("names the deployment for the release: package version and commit", () => {
    expect(deploymentSchema({ GIT_SHA: "ABC1234def" })).toBe("openledger_v0_1_0_abc1234");
    const commit = sourceCommit({});
    if (commit) expect(deploymentSchema({})).toBe(`openledger_v0_1_0_${commit}`);
    expect(deploymentSchema({ DATABASE_SCHEMA: "ol_green", GIT_SHA: "abc1234" })).toBe("ol_green");
    expect(viewsSchema({})).toBe("openledger");
    expect(viewsSchema({ DATABASE_VIEWS_SCHEMA: "ledger_live" })).toBe("ledger_live");
  });

  it("refuses names Ponder or PostgreSQL would not take, in one line", () => {
    expect(() => deploymentSchema({ DATABASE_SCHEMA: "Blue-Green" })).toThrow(
      /^DATABASE_SCHEMA="Blue-Green": expected a schema name: lowercase letters/,
    );
    expect(() => deploymentSchema({ DATABASE_SCHEMA: "x".repeat(46) })).toThrow(/at most 45/);
    expect(() => viewsSchema({ DATABASE_VIEWS_SCHEMA: "ponder_sync" })).toThrow(/not ponder_sync or public$/);
    expect(() => requirePostgres({})).toThrow(/DATABASE_URL is not set/);
    expect(() => requirePostgres({ DATABASE_URL: "mysql://x" })).toThrow(/postgres:\/\//);
  });

  it("start:prod and serve stop with one line and status 2 without PostgreSQL", () => {
    for (const script of ["start-prod.ts", "serve.ts"]) {
      const result = run(script, {});
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toMatch(/DATABASE_URL is not set: production runs on PostgreSQL/);
    }
    const same = run("start-prod.ts", {
      DATABASE_URL: "postgresql://127.0.0.1:1/none",
      DATABASE_SCHEMA: "openledger",
    });
    expect(same.status).toBe(1);
    expect(same.stderr).toMatch(/both "openledger": the deployment needs its own/);
  });
});
