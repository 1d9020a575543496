/**
 * PostgreSQL for the tests and the benchmark: a throwaway cluster of its own (initdb in a temporary
 * directory, the server on 127.0.0.1 and a free port, as the `postgres` user when we are root), or,
 * for the tests, a fresh database in the server of DATABASE_URL.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./ports.js";

/** A connection of node-postgres, what the tests use of it. */
export type PgClient = {
  query: <T = Record<string, unknown>>(text: string, params?: unknown[]) => Promise<{ rows: T[] }>;
  end: () => Promise<void>;
};

/**
 * A connection of the test's own to `url`, connected (node-postgres is Ponder's dependency and has no
 * types here, so it is loaded through createRequire with the small interface above). An error of the
 * connection after it is open (the server stopped by the test) is the test's to see on its next query.
 */
export async function connectPostgres(url: string): Promise<PgClient> {
  const pg = createRequire(import.meta.url)("pg") as {
    Client: new (config: {
      connectionString: string;
    }) => PgClient & {
      connect: () => Promise<void>;
      on: (event: "error", listener: (error: Error) => void) => void;
    };
  };
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  return client;
}

export type PostgresCluster = { url: string; stop: () => Promise<void> };

export type PostgresServer = PostgresCluster & {
  version: string;
  flags: Record<string, string>;
  /** The postmaster's pid (its children are the server's processes). */
  pid: () => number;
  /** Runs one statement through psql and returns its unaligned output. */
  query: (sql: string, database?: string) => string;
};

/** A throwaway cluster needs no durability: these flags make it fast. */
export const THROWAWAY_FLAGS: Record<string, string> = {
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off",
};

/** Where PostgreSQL's server binaries are: on PATH, or Debian's /usr/lib/postgresql/<v>/bin. */
export function findPostgresBin(): string | undefined {
  const onPath = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" }).stdout.trim();
  if (onPath) return path.dirname(onPath);
  const debian = "/usr/lib/postgresql";
  if (!existsSync(debian)) return undefined;
  const versions = readdirSync(debian).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = path.join(debian, version, "bin");
    if (existsSync(path.join(bin, "initdb"))) return bin;
  }
  return undefined;
}

/**
 * Runs one of PostgreSQL's server programs (initdb, pg_ctl) from `bin`, synchronously, throwing its
 * output on failure. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 */
export function postgresCommandRunner(bin: string): (command: string, args: string[]) => void {
  const asRoot = process.getuid?.() === 0;
  return (command, args) => {
    const [file, argv] = asRoot
      ? ["runuser", ["-u", "postgres", "--", path.join(bin, command), ...args]]
      : [path.join(bin, command), args];
    const result = spawnSync(file, argv as string[], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout}`);
  };
}

/** Why the PostgreSQL suites cannot run here, or undefined when they can (DATABASE_URL or binaries). */
export function postgresUnavailableReason(): string | undefined {
  if (process.env.DATABASE_URL) return undefined;
  if (findPostgresBin()) return undefined;
  // CI sets REQUIRE_POSTGRES: there a missing server is a failure, not a skip.
  if (process.env.REQUIRE_POSTGRES)
    throw new Error("REQUIRE_POSTGRES is set but no PostgreSQL binaries or DATABASE_URL");
  return "PostgreSQL suite skipped: set DATABASE_URL or install PostgreSQL (initdb, pg_ctl)";
}

/** Runs `sql` through psql against `url` and returns its unaligned output (NOTICEs left out). */
export function psql(url: string, sql: string): string {
  return execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], {
    encoding: "utf8",
    env: { ...process.env, PGOPTIONS: "-c client_min_messages=warning" },
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

/**
 * A throwaway cluster: initdb, then the server on 127.0.0.1 and a free port with THROWAWAY_FLAGS
 * and `extraFlags`; `stop` stops it (immediate) and removes its directory.
 */
export async function startPostgresCluster(extraFlags: Record<string, string> = {}): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(postgresUnavailableReason() ?? "PostgreSQL binaries (initdb, pg_ctl) not found");
  const flags = { ...THROWAWAY_FLAGS, ...extraFlags };
  const dir = mkdtempSync(path.join(tmpdir(), "openledger-pg-"));
  chmodSync(dir, 0o777);
  const dataDir = path.join(dir, "data");
  const run = postgresCommandRunner(bin);
  let started = false;
  const stop = async () => {
    try {
      if (started) run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
      started = false;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const port = await freePort();
  const options = [`-h 127.0.0.1 -p ${port} -k ${dir}`, ...Object.entries(flags).map(([k, v]) => `-c ${k}=${v}`)];
  try {
    run("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
    run("pg_ctl", ["-D", dataDir, "-l", path.join(dir, "server.log"), "-o", options.join(" "), "-w", "start"]);
    started = true;
  } catch (error) {
    await stop();
    throw error;
  }
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const query = (sql: string, database = "postgres") => {
    const target = new URL(url);
    target.pathname = `/${database}`;
    return psql(target.toString(), sql);
  };
  const pid = () => Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  return { url, version: query("SHOW server_version"), flags, pid, query, stop };
}

/**
 * A PostgreSQL for one test file: DATABASE_URL when set (a fresh database is created in it, dropped
 * by `stop`), else a throwaway cluster of its own.
 */
export async function startPostgres(): Promise<PostgresCluster> {
  if (!process.env.DATABASE_URL) return startPostgresCluster();
  const name = `test_${process.pid}_${Date.now()}`;
  const admin = new URL(process.env.DATABASE_URL).toString();
  psql(admin, `CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), stop: async () => void psql(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
