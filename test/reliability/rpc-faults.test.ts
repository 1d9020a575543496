import path from "node:path";
import type { Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mineToFinality } from "../../harness/chain.js";
import { type PonderProcess, startPonder } from "../../harness/ponder.js";
import { type FaultProxy, faultCount, startFaultProxy } from "../../harness/rpc-proxy.js";
import { rpc } from "../../scripts/lib/anvil.js";
import { ChaosTraffic } from "../helpers/chaos.js";
import { checkInvariants, compareWithLedger, readTables } from "../helpers/compare.js";
import { canonicalDump, diffDumps, dumpSize } from "../helpers/dump.js";
import { type SimulatedChain, simulatedChain } from "../helpers/indexed-chain.js";

describe("JSON-RPC faults between Ponder and anvil (a fault-injecting proxy)", () => {
  let chain: SimulatedChain;
  let proxy: FaultProxy;
  let ponder: PonderProcess | undefined;
  let reference: PonderProcess | undefined;

  beforeAll(async () => {
    chain = await simulatedChain(13, 300);
    proxy = await startFaultProxy({ target: chain.anvil.rpcUrl, seed: 77, rate: 0.2 });
  });

  afterAll(async () => {
    try {
      await ponder?.stop();
      await reference?.stop();
      await proxy?.stop();
    } finally {
      await chain?.stop();
      if (proxy) console.log(`[rpc] proxy: ${JSON.stringify(proxy.stats)} (${faultCount(proxy)} faults)`);
    }
  });

  it("backfills through 20% faulty answers and ends on the ledger", async () => {
    ponder = await startPonder({
      DEPLOYMENT_FILE: chain.deploymentFile,
      RPC_URL: proxy.url,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: path.join(chain.workDir, "pglite-faults"),
    });
    await ponder.waitForBlock(chain.head, 300_000);
    const tables = await readTables(ponder.url);
    expect(compareWithLedger(tables, chain.ledger)).toEqual([]);
    expect(faultCount(proxy)).toBeGreaterThan(5);
  });

  it("follows new blocks in real time through the faults, and equals a fresh index made without them", async () => {
    const rpcUrl = chain.anvil.rpcUrl;
    const [owner] = await rpc<Address[]>(rpcUrl, "eth_accounts");
    const chaos = new ChaosTraffic(rpcUrl, chain.deployment, owner, chain.ledger, 31);
    for (let i = 0; i < 40; i++) {
      await chaos.send(chaos.randomAction());
      await new Promise((r) => setTimeout(r, 100));
    }
    const head = await mineToFinality(rpcUrl);
    await ponder!.waitForBlock(head, 240_000);
    const faulty = await readTables(ponder!.url);
    expect(checkInvariants(faulty)).toEqual([]);
    const logs = ponder!.logs();
    await ponder!.stop();

    reference = await startPonder({
      DEPLOYMENT_FILE: chain.deploymentFile,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: path.join(chain.workDir, "pglite-reference"),
    });
    await reference.waitForBlock(head, 240_000);
    const expected = canonicalDump(await readTables(reference.url));
    const differences = diffDumps(expected, canonicalDump(faulty));
    console.log(`[rpc] compared ${dumpSize(expected)} rows with a fault-free index: ${differences.length} differences`);
    expect(differences).toEqual([]);

    // What the logs say: Ponder warns about each failed request in its own retry loop; the config's
    // transport (config/rpc-transport.ts) no longer retries silently first (RELIABILITY.md, bug 5).
    const warnings = logs
      .split("\n")
      .filter((line) => line.startsWith('{"level":40') || line.startsWith('{"level":50'));
    const messages = new Map<string, number>();
    for (const line of warnings) {
      const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? "?";
      messages.set(msg, (messages.get(msg) ?? 0) + 1);
    }
    console.log(`[rpc] Ponder warnings by message: ${JSON.stringify(Object.fromEntries(messages))}`);
    console.log(`[rpc] example: ${warnings[0]?.slice(0, 400)}`);
    console.log(`[rpc] ${warnings.length} Ponder warnings for ${faultCount(proxy)} injected faults`);
  });
});
