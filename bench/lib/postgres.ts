/**
 * A throwaway PostgreSQL cluster for one benchmark run (the harness's, with the tests' flags plus
 * the ones the benchmark passes; all are reported with the results), registered for cleanup.
 */
import { type PostgresServer, startPostgresCluster } from "../../harness/postgres.js";
import { track } from "./cleanup.js";

export async function startBenchPostgres(extraFlags: Record<string, string> = {}): Promise<PostgresServer> {
  const server = await startPostgresCluster(extraFlags);
  // The cluster's stop is synchronous underneath (pg_ctl), so it also serves as the exit handler's kill.
  const stop = track({ name: `postgres ${server.url}`, stop: server.stop, kill: () => void server.stop() });
  return { ...server, stop };
}
