/**
 * Canary for src/api/ponder-internals.ts: what we use of Ponder that Ponder does not publish is
 * still where Ponder (0.16, 0.17) keeps it. Against a real `ponder start` on anvil and PGlite, and against
 * Ponder's own code in node_modules (its checkpoint encoder and finality table). After a Ponder
 * upgrade, a failure here names what moved; fix ponder-internals.ts, nothing else.
 */
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { anvil as anvilChain } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMetrics } from "../harness/metrics.js";
import { PONDER_SCHEMA, type PonderProcess, startPonder } from "../harness/ponder.js";
import { rpc } from "../scripts/lib/anvil.js";
import {
  CHECKPOINT_LENGTH,
  checkpointBlockNumber,
  checkpointChainId,
  checkpointTimestamp,
  PONDER_META_KEYS,
  PRIVATE_TABLES,
  ponderInternalsProblems,
  type ReadQuery,
  readIndexerProgress,
} from "../src/api/ponder-internals.js";
import { type SlashChain, startSlashChain } from "./helpers/bots.js";

const TOKEN = "canary-admin-token-0123456789";
const PONDER_DIST = "../node_modules/ponder/dist/esm/utils";

/** Ponder's own checkpoint encoder and finality table (the package does not export them). */
async function ponderUtils() {
  type Checkpoint = typeof import("../node_modules/ponder/dist/types/utils/checkpoint.js");
  type Finality = typeof import("../node_modules/ponder/dist/types/utils/finality.js");
  const checkpoint = (await import(`${PONDER_DIST}/checkpoint.js`)) as Checkpoint;
  const finality = (await import(`${PONDER_DIST}/finality.js`)) as Finality;
  return { encodeCheckpoint: checkpoint.encodeCheckpoint, getFinalityBlockCount: finality.getFinalityBlockCount };
}

describe("Ponder internals used by src/api/ponder-internals.ts", () => {
  let chain: SlashChain;
  let ponder: PonderProcess;
  let pgliteDir: string;
  let statusBlock: number;

  beforeAll(async () => {
    chain = await startSlashChain();
    await chain.slash(chain.protocol.accounts.provider);
    pgliteDir = path.join(chain.workDir, "pglite");
    ponder = await startPonder({
      DEPLOYMENT_FILE: chain.deploymentFile,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: pgliteDir,
      WEBHOOK_ADMIN_TOKEN: TOKEN,
    });
    const head = Number(BigInt(await rpc<string>(chain.protocol.rpcUrl, "eth_blockNumber")));
    await ponder.waitForBlock(head);
    const status = (await (await fetch(`${ponder.url}/status`)).json()) as Record<
      string,
      { block: { number: number } }
    >;
    statusBlock = Object.values(status)[0].block.number;
  });

  afterAll(async () => {
    await ponder?.stop();
    await chain?.stop();
  });

  it("the checkpoint layout is Ponder's: our decoders read back what Ponder's encoder wrote", async () => {
    const { encodeCheckpoint } = await ponderUtils();
    const fields = {
      blockTimestamp: 1_767_225_600n,
      chainId: 31337n,
      blockNumber: 123_456n,
      transactionIndex: 7n,
      eventType: 5,
      eventIndex: 9n,
    };
    const checkpoint = encodeCheckpoint(fields);
    expect(checkpoint.length, "Ponder's checkpoint length (CHECKPOINT_LENGTH) moved").toBe(CHECKPOINT_LENGTH);
    expect(checkpointTimestamp(checkpoint), "the block timestamp's place in a checkpoint moved").toBe(1_767_225_600);
    expect(checkpointChainId(checkpoint), "the chain id's place in a checkpoint moved").toBe(31337);
    expect(checkpointBlockNumber(checkpoint), "the block number's place in a checkpoint moved").toBe(123_456n);
  });

  it("the start-up check names each global it cannot find (here, outside Ponder, all of them)", () => {
    const problems = ponderInternalsProblems().join("\n");
    for (const name of ["PONDER_COMMON", "PONDER_DATABASE", "PONDER_INDEXING_BUILD", "PONDER_NAMESPACE_BUILD"]) {
      expect(problems).toContain(`globalThis.${name}`);
    }
  });

  it("the globals are there with the shape we read: the API reports no moved internal", () => {
    const moved = ponder
      .logs()
      .split("\n")
      .filter((line) => line.includes("Ponder internals moved"));
    expect(moved, "src/api/index.ts logged missing Ponder internals").toEqual([]);
  });

  it("what the globals feed works: our metrics in Ponder's registry, webhooks in Ponder's PGlite, Ponder's finality", async () => {
    const metrics = parseMetrics(await (await fetch(`${ponder.url}/metrics`)).text());
    expect(
      metrics.find((sample) => sample.name === "openledger_ready")?.value,
      "openledger_ready missing from /metrics: globalThis.PONDER_COMMON.metrics.registry moved?",
    ).toBe(1);
    const webhooks = await fetch(`${ponder.url}/admin/webhooks`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(webhooks.status, "webhooks have no database: globalThis.PONDER_DATABASE.driver.instance moved?").toBe(200);
    const { getFinalityBlockCount } = await ponderUtils();
    const streams = (await (await fetch(`${ponder.url}/streams`)).json()) as { settings: { maxConfirmations: number } };
    expect(
      streams.settings.maxConfirmations,
      "the deepest confirmations differ from Ponder's finality: globalThis.PONDER_INDEXING_BUILD.chains[].finalityBlockCount moved?",
    ).toBe(getFinalityBlockCount({ chain: anvilChain }));
  });

  it("the private tables have the columns we read, and a checkpoint decodes to the block /status reports", async () => {
    // One process owns a PGlite directory: read it once Ponder has stopped.
    await ponder.stop();
    const pglite = new PGlite({ dataDir: pgliteDir });
    try {
      const columns = await pglite.query<{ table_name: string; column_name: string }>(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1",
        [PONDER_SCHEMA],
      );
      for (const [table, wanted] of Object.entries(PRIVATE_TABLES)) {
        const present = columns.rows.filter((row) => row.table_name === table).map((row) => row.column_name);
        const missing = wanted.filter((column) => !present.includes(column));
        expect(missing, `columns of ${PONDER_SCHEMA}.${table} that Ponder no longer has`).toEqual([]);
      }
      const meta = await pglite.query<{ keys: string[] }>(
        `SELECT array(SELECT jsonb_object_keys(value)) AS keys FROM "${PONDER_SCHEMA}"._ponder_meta WHERE key = 'app'`,
      );
      const keys = meta.rows[0]?.keys ?? [];
      expect(
        PONDER_META_KEYS.filter((key) => !keys.includes(key)),
        "keys of _ponder_meta.value (key 'app') that Ponder no longer writes",
      ).toEqual([]);

      await pglite.exec(`SET search_path TO "${PONDER_SCHEMA}"`);
      const read: ReadQuery = async <T>(text: string) => (await pglite.query<T>(text)).rows;
      const progress = await readIndexerProgress(read);
      expect(progress, "readIndexerProgress found no checkpoint row").toBeDefined();
      expect(progress?.ready, "_ponder_meta's is_ready is not 1 after the backfill").toBe(true);
      expect(progress?.buildId, "_ponder_meta's build_id is empty").toMatch(/\w/);
      const [first] = progress?.chains ?? [];
      expect(first?.chainId).toBe(31337);
      expect(
        Number(checkpointBlockNumber(first.latest)),
        "the latest checkpoint does not decode to the block /status reported",
      ).toBe(statusBlock);
      expect(first.finalized <= first.latest, "the finalized checkpoint is after the latest").toBe(true);
    } finally {
      await pglite.close();
    }
  });
});
