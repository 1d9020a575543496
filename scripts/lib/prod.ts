/**
 * How production processes pick their PostgreSQL schemas (README, "Production"): each deployment of
 * the indexer writes its own schema, named for the release, and Ponder publishes views of its tables
 * in one stable schema once it has caught up. Readers (SQL users, `npm run serve` replicas) read the
 * stable schema and follow every switch without being restarted.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { ConfigError, MAX_SCHEMA_LENGTH, readEnv, schemaName } from "../../config/env.js";
import { UsageError } from "./cli.js";
import { ROOT } from "./compile.js";

/** The short commit of the source: GIT_SHA (set it in images built without .git), else `git rev-parse`. */
export function sourceCommit(env: NodeJS.ProcessEnv = process.env, root = ROOT): string | undefined {
  const fromEnv = readEnv("GIT_SHA", env);
  if (fromEnv) return fromEnv.slice(0, 7);
  const git = spawnSync("git", ["rev-parse", "--short=7", "HEAD"], { cwd: root, encoding: "utf8" });
  const sha = git.status === 0 ? git.stdout.trim() : "";
  return /^[0-9a-f]{7,}$/.test(sha) ? sha.slice(0, 7) : undefined;
}

/**
 * The deployment schema: DATABASE_SCHEMA when set, else `openledger_v<version>_<commit>` from
 * package.json and the source commit (`openledger_v0_1_0_abc1234`), so that each release backfills
 * into a schema of its own and two releases never share one.
 */
export function deploymentSchema(env: NodeJS.ProcessEnv = process.env, root = ROOT): string {
  const configured = readEnv("DATABASE_SCHEMA", env);
  if (configured) return configured;
  const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
  const commit = sourceCommit(env, root);
  if (!commit) {
    throw new UsageError(
      "cannot name the deployment schema: no git commit here (set GIT_SHA=<commit> or DATABASE_SCHEMA=<schema>)",
    );
  }
  const name = `openledger_v${version.toLowerCase().replace(/[^a-z0-9]+/g, "_")}_${commit}`.slice(0, MAX_SCHEMA_LENGTH);
  if (schemaName.parse(name) === undefined) {
    throw new ConfigError(`cannot name the deployment schema "${name}": set DATABASE_SCHEMA=<schema>`);
  }
  return name;
}

/** The stable views schema: DATABASE_VIEWS_SCHEMA, else `openledger`. */
export function viewsSchema(env: NodeJS.ProcessEnv = process.env): string {
  return readEnv("DATABASE_VIEWS_SCHEMA", env);
}

/** PostgreSQL is required in production: PGlite is one process's file, with no replicas and no views. */
export function requirePostgres(env: NodeJS.ProcessEnv = process.env): string {
  const url = readEnv("DATABASE_URL", env);
  if (!url) {
    throw new ConfigError(
      "DATABASE_URL is not set: production runs on PostgreSQL (DATABASE_URL=postgresql://user:password@host:5432/db)",
    );
  }
  return url;
}

type PgClient = {
  connect: () => Promise<void>;
  query: (text: string, params: unknown[]) => Promise<{ rows: { n: number }[] }>;
  end: () => Promise<void>;
};

/**
 * Refuses a views schema that holds tables (say, one `npm start` indexed into): Ponder would backfill
 * for hours and then fail to replace those tables with views. A database that does not answer is
 * left for Ponder to report.
 */
export async function checkViewsSchemaFree(url: string, views: string): Promise<void> {
  // `pg` is Ponder's dependency, without types here.
  const pg = createRequire(import.meta.url)("pg") as { Client: new (config: object) => PgClient };
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  let tables = 0;
  try {
    await client.connect();
    const { rows } = await client.query(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
      [views],
    );
    tables = rows[0]?.n ?? 0;
  } catch {
    return;
  } finally {
    await client.end().catch(() => {});
  }
  if (tables > 0) {
    throw new UsageError(
      `DATABASE_VIEWS_SCHEMA "${views}" holds ${tables} tables (a deployment's schema, e.g. from \`npm start\`): choose another views schema, or drop that one`,
    );
  }
}

/**
 * Runs a Ponder command as a child that owns the terminal, passes SIGINT, SIGTERM and SIGHUP on to
 * it, and exits with its status: a supervisor that signals this process stops Ponder, and sees
 * Ponder's exit code (75 for a temporary failure such as an unreachable RPC).
 */
export async function runPonder(args: string[], env: NodeJS.ProcessEnv): Promise<never> {
  const { spawn } = await import("node:child_process");
  const child = spawn(path.join(ROOT, "node_modules/.bin/ponder"), args, { cwd: ROOT, env, stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  const code = await new Promise<number>((resolve) => {
    child.once("error", (error) => {
      console.error(`cannot start ponder: ${error.message}`);
      resolve(1);
    });
    child.once("exit", (exitCode, signal) =>
      resolve(exitCode ?? (signal === "SIGTERM" || signal === "SIGINT" ? 0 : 1)),
    );
  });
  process.exit(code);
}
