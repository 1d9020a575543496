/**
 * patches/ponder+0.17.7.patch, part 3 (docs/ponder-patches.md): Ponder starts every RPC at 20
 * requests a second and climbs slowly, which paces a backfill that fetches one block per few events
 * (docs/benchmarks-rpc.md). PONDER_RPC_INITIAL_RPS sets the starting rate. Seen from the RPC (the
 * proxy counts the calls of every second): without it no second goes far past 20 calls; with it the
 * backfill's seconds do, and the index still equals the ledger.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPonder } from "../harness/ponder.js";
import { type RpcProxy, rpcProfile, startRpcProxy } from "../harness/rpc-proxy.js";
import { compareWithLedger, readTables } from "./helpers/compare.js";
import { type SimulatedChain, simulatedChain } from "./helpers/indexed-chain.js";

/**
 * Ponder counts its requests per second of its own clock and the proxy per second of its own: one
 * proxy second can straddle two of Ponder's, so Ponder's 20 shows as at most 40 there.
 */
const DEFAULT_CEILING = 40;

/** Backfills `chain` through a fresh counting proxy; returns the most calls the RPC got in one second. */
async function busiestSecond(chain: SimulatedChain, name: string, env: Record<string, string>): Promise<number> {
  let proxy: RpcProxy | undefined;
  let ponder: Awaited<ReturnType<typeof startPonder>> | undefined;
  try {
    proxy = await startRpcProxy({ target: chain.anvil.rpcUrl, profile: rpcProfile("passthrough") });
    ponder = await startPonder({
      DEPLOYMENT_FILE: chain.deploymentFile,
      RPC_URL: proxy.url,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: path.join(chain.workDir, name),
      ...env,
    });
    await ponder.waitForBlock(chain.head);
    expect(compareWithLedger(await readTables(ponder.url), chain.ledger)).toEqual([]);
    return Math.max(...proxy.stats.perSecond);
  } finally {
    await ponder?.stop();
    await proxy?.stop();
  }
}

describe("the rate each RPC starts at (PONDER_RPC_INITIAL_RPS, the rate patch)", () => {
  let chain: SimulatedChain;
  beforeAll(async () => {
    // ~240 blocks with logs: one eth_getBlockByNumber each, more than 20 seconds' worth at Ponder's start.
    chain = await simulatedChain(29, 300);
  });
  afterAll(async () => {
    await chain?.stop();
  });

  it("without it, Ponder keeps to its 20 requests a second", async () => {
    const busiest = await busiestSecond(chain, "pglite-default", {});
    expect(busiest).toBeGreaterThan(0);
    expect(busiest).toBeLessThanOrEqual(DEFAULT_CEILING);
  });

  it("with PONDER_RPC_INITIAL_RPS=400, the backfill goes past it from the start", async () => {
    const busiest = await busiestSecond(chain, "pglite-fast", { PONDER_RPC_INITIAL_RPS: "400" });
    expect(busiest).toBeGreaterThan(DEFAULT_CEILING);
  });
});
