import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../scripts/lib/anvil.js";

export type PostgresCluster = { url: string; stop: () => Promise<void> };

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

/**
 * A PostgreSQL for one test file: DATABASE_URL when set (a fresh database is created in it), else a
 * throwaway cluster of its own on 127.0.0.1 and a free port, removed by `stop`. PostgreSQL refuses
 * to run as root, so as root the cluster runs as the `postgres` user.
 */
export async function startPostgres(): Promise<PostgresCluster> {
  if (process.env.DATABASE_URL) {
    const name = `test_${process.pid}_${Date.now()}`;
    const admin = new URL(process.env.DATABASE_URL);
    const psql = (sql: string) => execFileSync("psql", [admin.toString(), "-v", "ON_ERROR_STOP=1", "-c", sql]);
    psql(`CREATE DATABASE ${name}`);
    const url = new URL(admin);
    url.pathname = `/${name}`;
    return { url: url.toString(), stop: async () => void psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
  }
  const bin = findPostgresBin();
  if (!bin) throw new Error(postgresUnavailableReason());
  const dir = mkdtempSync(path.join(tmpdir(), "openledger-pg-"));
  chmodSync(dir, 0o777);
  const dataDir = path.join(dir, "data");
  const run = postgresCommandRunner(bin);
  run("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  run("pg_ctl", [
    "-D",
    dataDir,
    "-l",
    path.join(dir, "server.log"),
    "-o",
    `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
    "-w",
    "start",
  ]);
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      try {
        run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
