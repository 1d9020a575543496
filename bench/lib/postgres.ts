/**
 * A throwaway PostgreSQL cluster for one benchmark run: initdb in a temporary directory, the
 * server on 127.0.0.1 and a free port (as the `postgres` user when we are root), removed by `stop`.
 * The server flags are the tests' (durability off: fsync, synchronous_commit, full_page_writes)
 * plus the ones the benchmark passes; all are reported with the results.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../scripts/lib/anvil.js";
import { findPostgresBin, postgresCommandRunner } from "../../test/helpers/postgres.js";
import { track } from "./cleanup.js";

/** The tests' settings (test/helpers/postgres.ts): a throwaway cluster needs no durability. */
export const BASE_FLAGS: Record<string, string> = {
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off",
};

export type PostgresServer = {
  url: string;
  version: string;
  flags: Record<string, string>;
  /** The postmaster's pid (its children are the server's processes). */
  pid: () => number;
  /** Runs one statement through psql and returns its unaligned output. */
  query: (sql: string, database?: string) => string;
  stop: () => Promise<void>;
};

export async function startBenchPostgres(extraFlags: Record<string, string> = {}): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (!bin)
    throw new Error("PostgreSQL binaries (initdb, pg_ctl) not found: install PostgreSQL or skip with --no-postgres");
  const flags = { ...BASE_FLAGS, ...extraFlags };
  const dir = mkdtempSync(path.join(tmpdir(), "openledger-bench-pg-"));
  chmodSync(dir, 0o777);
  const dataDir = path.join(dir, "data");
  const run = postgresCommandRunner(bin);
  run("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  const options = [`-h 127.0.0.1 -p ${port} -k ${dir}`, ...Object.entries(flags).map(([k, v]) => `-c ${k}=${v}`)];
  let started = false;
  const stopSync = () => {
    if (started) {
      try {
        run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
      } catch {
        // already stopped
      }
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const stop = track({ name: `postgres ${port}`, stop: async () => stopSync(), kill: stopSync });
  try {
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
    return execFileSync("psql", [target.toString(), "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], {
      encoding: "utf8",
      // NOTICEs (e.g. what DROP SCHEMA ... CASCADE drops) stay out of the benchmark's output.
      env: { ...process.env, PGOPTIONS: "-c client_min_messages=warning" },
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
  };
  const version = query("SHOW server_version");
  const pid = () => Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  return { url, version, flags, pid, query, stop };
}
