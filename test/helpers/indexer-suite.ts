import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkInvariants, compareWithContracts, compareWithLedger, readTables, type Tables } from "./compare.js";
import { type SimulatedChain, simulatedChain } from "./indexed-chain.js";
import { type PonderProcess, startPonder } from "./ponder.js";
import { type PostgresCluster, startPostgres } from "./postgres.js";

export const SUITE_SEED = 42;
export const SUITE_INVOICES = Number(process.env.TEST_INVOICES ?? 2_000);

/**
 * The end-to-end suite, the same on both databases: a simulator run with a fixed seed, indexed by
 * a real Ponder from the deployment block, then every row compared with the ledger and with the
 * contracts' views, and the API's limits tried over real HTTP.
 */
export function indexerSuite(database: "pglite" | "postgres") {
  describe(`indexer on ${database === "pglite" ? "PGlite" : "PostgreSQL"}`, () => {
    let chain: SimulatedChain;
    let postgres: PostgresCluster | undefined;
    let ponder: PonderProcess;
    let tables: Tables;

    beforeAll(async () => {
      chain = await simulatedChain(SUITE_SEED, SUITE_INVOICES);
      if (database === "postgres") postgres = await startPostgres();
      const started = Date.now();
      ponder = await startPonder({
        DEPLOYMENT_FILE: chain.deploymentFile,
        ...(postgres
          ? { DATABASE_URL: postgres.url }
          : { DATABASE_URL: "", PGLITE_DIRECTORY: path.join(chain.workDir, "pglite") }),
      });
      await ponder.waitForBlock(chain.head);
      const seconds = (Date.now() - started) / 1000;
      const events = Object.values(chain.ledger.eventCounts).reduce((sum, n) => sum + n, 0);
      console.log(
        `[${database}] indexed ${events} events (${SUITE_INVOICES} invoices) in ${seconds.toFixed(1)} s from start: ${(events / seconds).toFixed(0)} events/s`,
      );
      tables = await readTables(ponder.url);
    });

    afterAll(async () => {
      await ponder?.stop();
      await postgres?.stop();
      await chain?.stop();
    });

    it("matches the simulator's ledger, row by row", () => {
      expect(tables.invoice.length).toBe(SUITE_INVOICES);
      expect(compareWithLedger(tables, chain.ledger)).toEqual([]);
    });

    it("matches the contracts' own views (stakeOf, claimable, ownerOf)", async () => {
      expect(await compareWithContracts(tables, chain.deployment)).toEqual([]);
    });

    it("keeps the SPEC's invariants for every settled invoice and account", () => {
      expect(tables.invoice.filter((invoice) => invoice.status === "settled").length).toBeGreaterThan(0);
      expect(checkInvariants(tables)).toEqual([]);
    });

    it("refuses GraphQL queries over the limits, naming the limit", async () => {
      const deep = await ponder.graphql(
        `{ invoices(limit: 1) { items { model { invoices { items { model { invoices { items { model { invoices { items { model { invoices { items { invoiceId } } } } } } } } } } } } } } }`,
      );
      expect(deep.errors?.[0]?.message).toMatch(/depth limit of 12/i);
      const aliases = await ponder.graphql(
        `{ ${Array.from({ length: 25 }, (_, i) => `a${i}: invoice(invoiceId: "1") { invoiceId }`).join(" ")} }`,
      );
      expect(aliases.errors?.[0]?.message).toMatch(/aliases limit of 20/i);
      const huge = await ponder.graphql(`{ invoices(limit: 5000) { items { invoiceId } } }`);
      expect(huge.errors?.[0]?.message).toMatch(/limit.*1000/i);
      const badFilter = await ponder.graphql(`{ invoices(where: { nosuchfield: 1 }) { items { invoiceId } } }`);
      expect(badFilter.errors?.[0]?.message).toMatch(/nosuchfield/);
    });

    it("refuses SQL writes and multiple statements over /sql", async () => {
      for (const statement of ["DELETE FROM invoice", "SELECT 1; DROP TABLE invoice", "UPDATE account SET spent = 0"]) {
        const response = await fetch(
          `${ponder.url}/sql/db?sql=${encodeURIComponent(JSON.stringify({ sql: statement, params: [] }))}`,
        );
        expect(response.status, statement).toBeGreaterThanOrEqual(400);
        expect(response.status, statement).toBeLessThan(500);
      }
      const after = await ponder.graphql<{ invoices: { totalCount: number } }>(`{ invoices { totalCount } }`);
      expect(after.data?.invoices.totalCount).toBe(SUITE_INVOICES);
    });
  });
}
