/**
 * The realistic RPC profile between Ponder and anvil (harness/rpc-proxy.ts, what `npm run bench --
 * --rpc-profile realistic` measures), with limits small enough for a small chain: every eth_getLogs
 * range Ponder first asks is refused and it must split, and its requests go over the rate limit.
 * The index must still equal the simulator's ledger.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PonderProcess, startPonder } from "../harness/ponder.js";
import { type RpcProxy, refusalCount, rpcProfile, startRpcProxy } from "../harness/rpc-proxy.js";
import { compareWithLedger, readTables } from "./helpers/compare.js";
import { type SimulatedChain, simulatedChain } from "./helpers/indexed-chain.js";

/**
 * 300 invoices: ~240 blocks of ~13 logs. Ponder's first range is always 26 blocks (runtime/historical.js
 * starts at 25 + 1, whatever the machine's speed), over the 20 allowed: each of its first eth_getLogs
 * (one per event kind) is refused. Its own rate limit starts at 20 requests a second, over the 10 allowed.
 */
const LIMITS = { latencyMs: 30, requestsPerSecond: 10, getLogsMaxBlocks: 20, getLogsMaxLogs: 100 };

describe("indexing through a rate-limited provider that caps eth_getLogs (the realistic RPC profile)", () => {
  let chain: SimulatedChain;
  let proxy: RpcProxy;
  let ponder: PonderProcess | undefined;

  beforeAll(async () => {
    chain = await simulatedChain(21, 300);
    proxy = await startRpcProxy({ target: chain.anvil.rpcUrl, profile: rpcProfile("realistic", LIMITS) });
  });

  afterAll(async () => {
    try {
      await ponder?.stop();
      await proxy?.stop();
    } finally {
      await chain?.stop();
      if (proxy) console.log(`[rpc-profile] proxy: ${JSON.stringify(proxy.stats)}`);
    }
  });

  it("backfills to the head through 429s and refused ranges, and equals the ledger", async () => {
    ponder = await startPonder({
      DEPLOYMENT_FILE: chain.deploymentFile,
      RPC_URL: proxy.url,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: path.join(chain.workDir, "pglite"),
    });
    // ~100 s on a quiet 2-core machine: the 10 requests a second pace it.
    await ponder.waitForBlock(chain.head, 480_000);
    const tables = await readTables(ponder.url);
    expect(tables.invoice.length).toBe(300);
    expect(compareWithLedger(tables, chain.ledger)).toEqual([]);

    const { stats } = proxy;
    // The limits were hit: ranges refused and split, requests refused and retried.
    expect(refusalCount(proxy)).toBeGreaterThan(0);
    expect(stats.rateLimited).toBeGreaterThan(0);
    // Ponder split its ranges: the eth_getLogs it got answered stayed within the limits.
    expect(stats.getLogs.answered).toBeGreaterThan(stats.rangeRefusals.blocks + stats.rangeRefusals.logs);
    expect(stats.getLogs.blocks / stats.getLogs.answered).toBeLessThanOrEqual(LIMITS.getLogsMaxBlocks);
  });
});
