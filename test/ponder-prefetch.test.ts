/**
 * patches/ponder+0.17.7.patch, part 2 (docs/ponder-patches.md): when Ponder's indexing cache is full
 * it loads the rows it predicts the next batch will read, and for a composite primary key it asked
 * with one `(chain_id = $ AND id = $)` per row, ORed: without table statistics (PGlite never
 * analyzes) PostgreSQL factors `chain_id` out and tests the whole OR on every row of the chain. The
 * patch sends the keys as one json parameter joined to the primary key. What must not change: the
 * rows loaded, so the indexed data still equals the ledger when the cache is prefetching all along.
 */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { scrape } from "../harness/metrics.js";
import { startPonder } from "../harness/ponder.js";
import { type PostgresServer, postgresUnavailableReason, startPostgresCluster } from "../harness/postgres.js";
import { checkInvariants, compareWithLedger, readTables } from "./helpers/compare.js";
import { type SimulatedChain, simulatedChain } from "./helpers/indexed-chain.js";

/** A one-byte cache is always over its limit: every batch after the first prefetches what it predicts. */
const PREFETCHING = { PONDER_CACHE_BYTES: "1" };

/** Rows Ponder prefetched (its own metric), summed over our tables. */
async function prefetchedRows(url: string): Promise<number> {
  const samples = await scrape(url, "ponder_indexing_cache_requests_total");
  return samples.filter((sample) => sample.labels.type === "prefetch").reduce((sum, sample) => sum + sample.value, 0);
}

/**
 * Backfills `chain` into the database `database` names with the prefetching cache, then checks that
 * Ponder prefetched and that the tables equal the ledger and keep the invariants.
 */
async function backfillPrefetching(chain: SimulatedChain, database: Record<string, string>): Promise<void> {
  const ponder = await startPonder({ DEPLOYMENT_FILE: chain.deploymentFile, ...database, ...PREFETCHING });
  try {
    await ponder.waitForBlock(chain.head);
    expect(await prefetchedRows(ponder.url), "Ponder prefetched rows").toBeGreaterThan(0);
    const tables = await readTables(ponder.url);
    expect(compareWithLedger(tables, chain.ledger)).toEqual([]);
    expect(checkInvariants(tables)).toEqual([]);
  } finally {
    await ponder.stop();
  }
}

const postgresUnavailable = postgresUnavailableReason();

describe("Ponder's prefetch of composite keys as a semi-join (the prefetch patch)", () => {
  let chain: SimulatedChain | undefined;
  let postgres: PostgresServer | undefined;
  afterAll(async () => {
    await postgres?.stop();
    await chain?.stop();
  });
  // Enough blocks for Ponder to index in many batches, so that prefetching starts early.
  const simulated = async () => (chain ??= await simulatedChain(23, 120));

  it("PGlite: a backfill that prefetches all along ends on the ledger", async () => {
    const chain = await simulated();
    await backfillPrefetching(chain, {
      DATABASE_URL: "",
      PGLITE_DIRECTORY: path.join(chain.workDir, "pglite-prefetch"),
    });
  });

  it.skipIf(postgresUnavailable)(
    "PostgreSQL: the prefetches of composite keys are semi-joins, and the backfill ends on the ledger",
    async () => {
      const chain = await simulated();
      // pg_stat_statements shows the statements Ponder sent, whatever the driver did with them.
      postgres ??= await startPostgresCluster({ shared_preload_libraries: "pg_stat_statements" });
      postgres.query("CREATE EXTENSION pg_stat_statements");
      await backfillPrefetching(chain, { DATABASE_URL: postgres.url });
      const selects = (where: string) =>
        Number(
          postgres?.query(
            `SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query ILIKE 'select %from "openledger".%' AND ${where}`,
          ),
        );
      // Every table of ours has (chain_id, ...) as its key: a prefetch of several keys is the semi-join...
      expect(selects(`query LIKE '%IN (SELECT % FROM json_to_recordset(%'`), "semi-join prefetches").toBeGreaterThan(0);
      // ...and never the OR of one conjunction per key that the patch replaces.
      expect(selects(`query ~ '\\) or \\('`), "OR-of-keys prefetches").toBe(0);
    },
  );
});
