import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PonderProcess, startPonder } from "../../harness/ponder.js";
import { type PostgresCluster, startPostgres } from "../../harness/postgres.js";
import { ROOT } from "../../scripts/lib/compile.js";
import { checkInvariants, compareWithContracts, compareWithLedger, readTables, type Tables } from "./compare.js";
import { documentedBlock, documentedQueries } from "./documented-queries.js";
import { type SimulatedChain, simulatedChain } from "./indexed-chain.js";

export const SUITE_SEED = 42;
/** The documented example queries were run on this chain (seed 42, 2,000 invoices, the fixed genesis). */
export const EXAMPLE_CHAIN_INVOICES = 2_000;
export const SUITE_INVOICES = Number(process.env.TEST_INVOICES ?? EXAMPLE_CHAIN_INVOICES);
/** How long the late-start indexer may take to reach the head (a second backfill of the chain). */
const LATE_START_TIMEOUT_MS = 540_000;

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
        `{ ${Array.from({ length: 25 }, (_, i) => `a${i}: invoice(chainId: 31337, invoiceId: "1") { invoiceId }`).join(" ")} }`,
      );
      expect(aliases.errors?.[0]?.message).toMatch(/aliases limit of 20/i);
      const huge = await ponder.graphql(`{ invoices(limit: 5000) { items { invoiceId } } }`);
      expect(huge.errors?.[0]?.message).toMatch(/limit.*1000/i);
      const badFilter = await ponder.graphql(`{ invoices(where: { nosuchfield: 1 }) { items { invoiceId } } }`);
      expect(badFilter.errors?.[0]?.message).toMatch(/nosuchfield/);
    });

    it.runIf(SUITE_INVOICES === EXAMPLE_CHAIN_INVOICES)(
      "gives the answers the README and docs/queries.md show for their example queries",
      async () => {
        const queries = documentedQueries();
        expect(queries.filter(({ file }) => file === "README.md").length).toBeGreaterThanOrEqual(3);
        expect(queries.length).toBeGreaterThanOrEqual(10);
        for (const { name, file, query, variables, answer } of queries) {
          const result = await ponder.graphql(query, variables);
          expect(result.errors, `${file}: ${name}`).toBeUndefined();
          expect(result.data, `${file}: ${name}`).toEqual(answer);
        }
        const example = readFileSync(path.join(ROOT, "examples/analyst-sql.ts"), "utf8");
        expect(documentedBlock("example:analyst-sql")).toBe(example);
        const printed = execFileSync(path.join(ROOT, "node_modules/.bin/tsx"), ["examples/analyst-sql.ts", "20454"], {
          cwd: ROOT,
          env: { ...process.env, INDEXER_URL: ponder.url },
        }).toString();
        expect(JSON.parse(printed)).toEqual(JSON.parse(documentedBlock("answer:analyst-sql")));
      },
    );

    it.runIf(database === "pglite")(
      "indexes from a start block after the first invoices with anomaly rows, not a crash",
      async () => {
        const startBlock = (chain.ledger.meta.firstSimulatedBlock ?? chain.ledger.meta.startBlock) + 5;
        const late = await startPonder({
          DEPLOYMENT_FILE: chain.deploymentFile,
          START_BLOCK: String(startBlock),
          DATABASE_URL: "",
          PGLITE_DIRECTORY: path.join(chain.workDir, "pglite-late-start"),
        });
        try {
          await late.waitForBlock(chain.head, LATE_START_TIMEOUT_MS);
          expect((await fetch(`${late.url}/health`)).status).toBe(200);
          const answer = await late.graphql<{ anomalys: { totalCount: number; items: { code: string }[] } }>(
            `{ anomalys(limit: 1000) { totalCount items { code } } }`,
          );
          expect(answer.errors).toBeUndefined();
          expect(answer.data?.anomalys.totalCount).toBeGreaterThan(0);
          const codes = new Set(answer.data?.anomalys.items.map((row) => row.code));
          // Invoices issued before the start block are unknown when they settle or move.
          expect(codes.has("unknown_invoice")).toBe(true);
        } finally {
          await late.stop();
        }
      },
      // A second backfill of the whole chain: on a loaded machine it takes minutes.
      LATE_START_TIMEOUT_MS + 60_000,
    );

    it("refuses SQL writes, multiple statements and malformed requests over /sql with a 400", async () => {
      const sqlOverHttp = (sql: string) =>
        fetch(
          `${ponder.url}/sql/db?sql=${encodeURIComponent(JSON.stringify({ json: { sql, params: [], typings: [] } }))}`,
        );
      for (const [statement, reason] of [
        ["DELETE FROM invoice", /DeleteStmt not supported/],
        ["SELECT 1; DROP TABLE invoice", /Multiple statements not supported/],
        ["UPDATE account SET spent = 0", /UpdateStmt not supported/],
        ["SELECT * FROM openledger.invoice", /Schema name not supported/],
      ] as const) {
        const response = await sqlOverHttp(statement);
        expect(response.status, statement).toBe(400);
        expect(((await response.json()) as { error: string }).error, statement).toMatch(reason);
      }
      for (const malformed of ["not json", JSON.stringify({ sql: "SELECT 1" })]) {
        const response = await fetch(`${ponder.url}/sql/db?sql=${encodeURIComponent(malformed)}`);
        expect(response.status, malformed).toBe(400);
      }
      const counted = await sqlOverHttp("SELECT count(*) AS n FROM invoice");
      expect(counted.status).toBe(200);
      expect(String(((await counted.json()) as { rows: { n: string | number }[] }).rows[0].n)).toBe(
        String(SUITE_INVOICES),
      );
      expect((await fetch(`${ponder.url}/health`)).status).toBe(200);
    });
  });
}
