/**
 * patches/ponder+0.17.7.patch, part 4 (docs/ponder-patches.md): on PGlite, Ponder 0.16 and 0.17 ran
 * their "transactions" as plain statements (`createQB` in database/queryBuilder.js), so each `COPY`
 * and `UPDATE` of a batch committed on its own, before the checkpoint that closes the batch. A SIGKILL
 * in the middle of a batch then left its rows on disk with the previous checkpoint, and the restart
 * failed on `Primary key conflict` (RELIABILITY.md, bug 1). The patch makes them real transactions,
 * and lets a statement issued from inside one join it (PGlite is one session) instead of waiting for it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, describe, expect, it } from "vitest";
import { startPonder } from "../harness/ponder.js";
import { type SimulatedChain, simulatedChain } from "./helpers/indexed-chain.js";

/** Tables whose rows are only ever inserted: a row's xmin is the transaction of the batch that wrote it. */
const INSERT_ONLY_TABLES = ["activity", "invoice_transfer", "stake_change", "payout", "claim", "slash"];

type Batch = { xmin: string; first: number; last: number };

/** The rows of the insert-only tables grouped by the transaction that wrote them, in block order. */
async function rowsByTransaction(pglite: PGlite, schema: string): Promise<Batch[]> {
  const union = INSERT_ONLY_TABLES.map(
    (table) => `SELECT xmin::text AS xmin, block_number FROM "${schema}"."${table}"`,
  ).join(" UNION ALL ");
  const { rows } = await pglite.query<{ xmin: string; first: string; last: string }>(
    `SELECT xmin, min(block_number)::text AS first, max(block_number)::text AS last
     FROM (${union}) AS event_rows GROUP BY xmin ORDER BY min(block_number), max(block_number)`,
  );
  return rows.map((row) => ({ xmin: row.xmin, first: Number(row.first), last: Number(row.last) }));
}

/** Pairs of transactions whose block ranges overlap: the rows of one batch written by several transactions. */
function overlapping(batches: Batch[]): string[] {
  const overlaps: string[] = [];
  for (let i = 1; i < batches.length; i++) {
    const [previous, next] = [batches[i - 1], batches[i]];
    if (next.first <= previous.last)
      overlaps.push(
        `xmin ${previous.xmin} [${previous.first},${previous.last}] and ${next.xmin} [${next.first},${next.last}]`,
      );
  }
  return overlaps;
}

/** The patched module, loaded from Ponder's files (the package exports no path to it). */
async function joinOpenTransactions(): Promise<(pglite: PGlite) => PGlite> {
  const file = path.resolve("node_modules/ponder/dist/esm/utils/pglite.js");
  const module = (await import(pathToFileURL(file).href)) as { joinOpenTransactions?: (pglite: PGlite) => PGlite };
  if (!module.joinOpenTransactions)
    throw new Error(`${file} has no joinOpenTransactions: is the Ponder patch applied?`);
  return module.joinOpenTransactions;
}

describe("Ponder's batches on PGlite are transactions (the PGlite transaction patch)", () => {
  let chain: SimulatedChain | undefined;
  const scratch = mkdtempSync(path.join(tmpdir(), "openledger-pglite-tx-"));
  afterAll(async () => {
    await chain?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("each batch of the backfill is written by one transaction", async () => {
    // 600 invoices: Ponder indexes the backfill in several batches of a few dozen blocks.
    chain = await simulatedChain(11, 600);
    const dataDir = path.join(chain.workDir, "pglite");
    const ponder = await startPonder({
      DEPLOYMENT_FILE: chain.deploymentFile,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: dataDir,
    });
    let batches: number;
    try {
      await ponder.waitForBlock(chain.head);
      batches = ponder.logs().match(/"msg":"Indexed block range"/g)?.length ?? 0;
    } finally {
      await ponder.stop();
    }
    // One process owns a PGlite directory: read it once Ponder has stopped.
    const pglite = new PGlite({ dataDir });
    try {
      const written = await rowsByTransaction(pglite, "openledger");
      expect(batches, "batches Ponder logged").toBeGreaterThan(2);
      expect(written.length, "transactions that wrote event rows").toBeGreaterThan(2);
      // Unpatched, each table's COPY of a batch is a transaction of its own, so these ranges overlap.
      expect(overlapping(written)).toEqual([]);
    } finally {
      await pglite.close();
    }
  });

  it("a statement from inside a transaction joins it; one from elsewhere waits for its COMMIT", async () => {
    const join = await joinOpenTransactions();
    const pglite = join(new PGlite({ dataDir: path.join(scratch, "join") }));
    try {
      await pglite.exec("CREATE TABLE t (id int PRIMARY KEY)");
      // Another caller (the sync pipeline, the HTTP API), set up outside the transaction: a promise
      // reaction keeps the async context it was registered in, not the one that resolves it.
      let startOutside = () => {};
      const outside = new Promise<void>((resolve) => {
        startOutside = resolve;
      }).then(async () => (await pglite.query<{ n: number }>("SELECT count(*)::int AS n FROM t")).rows[0].n);
      const seenInside = await pglite.transaction(async (tx) => {
        await tx.query("INSERT INTO t VALUES (1)");
        startOutside();
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
        // A statement through the instance from inside (Ponder's sync store, read by a handler's
        // context.client): unpatched it waits for the COMMIT of its own transaction, for ever.
        const inside = await Promise.race([
          pglite.query<{ n: number }>("SELECT count(*)::int AS n FROM t"),
          new Promise<never>((_, reject) =>
            setTimeout(
              () => reject(new Error("a statement inside the transaction waited for its COMMIT")),
              30_000,
            ).unref(),
          ),
        ]);
        await pglite.exec("INSERT INTO t VALUES (2)");
        return inside.rows[0].n;
      });
      // Inside, the uncommitted row is there: the statement ran in the transaction.
      expect(seenInside).toBe(1);
      // Started in the middle of the transaction, the outside read ran after its COMMIT: it sees both rows.
      expect(await outside).toBe(2);
      expect((await pglite.query<{ n: number }>("SELECT count(*)::int AS n FROM t")).rows[0].n).toBe(2);
    } finally {
      await pglite.close();
    }
  });
});
