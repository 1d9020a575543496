/**
 * patches/ponder+0.17.7.patch, part 3 (docs/ponder-patches.md): Ponder starts every RPC at 20
 * requests a second and climbs slowly, which paces a backfill that fetches one block per few events
 * (docs/benchmarks-rpc.md). PONDER_RPC_INITIAL_RPS sets the starting rate. Seen from the RPC (the
 * proxy counts the calls of every second): without it no three seconds go far past 60 calls; with it
 * the backfill's do, and the index still equals the ledger.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPonder } from "../harness/ponder.js";
import { type RpcProxy, rpcProfile, startRpcProxy } from "../harness/rpc-proxy.js";
import { compareWithLedger, readTables } from "./helpers/compare.js";
import { type SimulatedChain, simulatedChain } from "./helpers/indexed-chain.js";

/** Seconds of the proxy's clock that `busiestWindow` sums. */
const WINDOW_SECONDS = 3;

/**
 * The most calls Ponder's default pacing can put in WINDOW_SECONDS of the proxy's clock. It starts at 20
 * a second and raises that by 5 % only after ten seconds near it (23 at most over this backfill; 25
 * here). Ponder counts seconds on its own clock and the proxy on its own, and a test process stalled
 * by a loaded machine takes calls in bunches, so a window can hold one second's more: (3 + 1) × 25.
 * One second alone is no measure: under load one held 42 calls.
 */
const DEFAULT_CEILING = (WINDOW_SECONDS + 1) * 25;

/** The most calls in WINDOW_SECONDS consecutive seconds of `perSecond`. */
function busiestWindow(perSecond: number[]): number {
  let busiest = 0;
  for (let start = 0; start < perSecond.length; start++) {
    const window = perSecond.slice(start, start + WINDOW_SECONDS).reduce((sum, calls) => sum + calls, 0);
    busiest = Math.max(busiest, window);
  }
  return busiest;
}

/** Backfills `chain` through a fresh counting proxy; returns the most calls the RPC got in a window. */
async function busiestCalls(chain: SimulatedChain, name: string, env: Record<string, string>): Promise<number> {
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
    return busiestWindow(proxy.stats.perSecond);
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

  it("without it, Ponder keeps to about 20 requests a second", async () => {
    const busiest = await busiestCalls(chain, "pglite-default", {});
    expect(busiest).toBeGreaterThan(0);
    expect(busiest).toBeLessThanOrEqual(DEFAULT_CEILING);
  });

  it("with PONDER_RPC_INITIAL_RPS=400, the backfill goes past it from the start", async () => {
    const busiest = await busiestCalls(chain, "pglite-fast", { PONDER_RPC_INITIAL_RPS: "400" });
    expect(busiest).toBeGreaterThan(DEFAULT_CEILING);
  });
});
