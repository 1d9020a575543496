import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockNumber, mineToFinality } from "../../harness/chain.js";
import { type PonderProcess, startPonder } from "../../harness/ponder.js";
import { rpc } from "../../scripts/lib/anvil.js";
import { type Devnet, startDevnet } from "../../scripts/lib/devnet.js";
import { type Ledger, simulate } from "../../scripts/simulator/index.js";
import { ChaosTraffic } from "../helpers/chaos.js";
import { checkInvariants, compareWithContracts, compareWithLedger, readTables } from "../helpers/compare.js";
import { canonicalDump, diffDumps, dumpSize } from "../helpers/dump.js";

/** Depths of the head replacements, 1 to 20 (Ponder keeps 30 blocks of chain 31337 unfinalized). */
const DEPTHS = [1, 3, 20, 2, 8, 13, 5, 17, 1, 11, 4, 20, 7, 15, 10, 6];

describe("reorgs while Ponder follows the chain in real time (PGlite)", () => {
  let devnet: Devnet;
  let workDir: string;
  let deploymentFile: string;
  let live: PonderProcess | undefined;
  let fresh: PonderProcess | undefined;
  let genesisSnapshot: string;
  let ledger: Ledger;
  let chaos: ChaosTraffic;
  const figures = { reorgs: 0, replacedBlocks: 0, mismatches: 0 };

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), "openledger-reorg-"));
    devnet = await startDevnet({ port: 0, genesisTimestamp: 1_767_225_600 });
    deploymentFile = path.join(workDir, "deployment.json");
    writeFileSync(deploymentFile, JSON.stringify(devnet.deployment));
    genesisSnapshot = await rpc<string>(devnet.anvil.rpcUrl, "evm_snapshot");
    live = await startPonder({
      DEPLOYMENT_FILE: deploymentFile,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: path.join(workDir, "pglite-live"),
    });
    await live.waitForBlock(await blockNumber(devnet.anvil.rpcUrl), 120_000);
  });

  afterAll(async () => {
    try {
      await live?.stop();
      await fresh?.stop();
    } finally {
      await devnet?.stop();
      rmSync(workDir, { recursive: true, force: true });
      console.log(`[reorg] figures: ${JSON.stringify(figures)} chaos: ${JSON.stringify(chaos?.stats)}`);
    }
  });

  it("replaces a whole simulator run (another seed, a greater height): the ledger of the new chain holds", async () => {
    const rpcUrl = devnet.anvil.rpcUrl;
    const before = await blockNumber(rpcUrl);
    const dropped = await simulate({
      deployment: devnet.deployment,
      seed: 101,
      invoices: 30,
      mode: "fast",
      days: 1,
      blocksPerDay: 6,
    });
    const droppedHead = await blockNumber(rpcUrl);
    await live!.waitForBlock(droppedHead, 120_000);
    expect(compareWithLedger(await readTables(live!.url), dropped)).toEqual([]);

    await rpc(rpcUrl, "evm_revert", [genesisSnapshot]);
    ledger = await simulate({
      deployment: devnet.deployment,
      seed: 202,
      invoices: 40,
      mode: "fast",
      days: 1,
      blocksPerDay: 8,
    });
    let head = await blockNumber(rpcUrl);
    if (head <= droppedHead) {
      await rpc(rpcUrl, "anvil_mine", [`0x${(droppedHead - head + 1).toString(16)}`]);
      head = await blockNumber(rpcUrl);
    }
    const depth = droppedHead - before;
    console.log(`[reorg] simulator run of ${depth} blocks replaced by one of ${head - before} blocks`);
    expect(depth).toBeLessThanOrEqual(28);
    figures.reorgs += 1;
    figures.replacedBlocks += depth;
    await live!.waitForBlock(head, 120_000);
    const tables = await readTables(live!.url);
    const differences = compareWithLedger(tables, ledger);
    figures.mismatches += differences.length;
    expect(differences).toEqual([]);
    expect(checkInvariants(tables)).toEqual([]);
  });

  it(`replaces the head ${DEPTHS.length} times at depths 1..20 with other transactions; state follows the chain`, async () => {
    const rpcUrl = devnet.anvil.rpcUrl;
    const [owner] = await rpc<Address[]>(rpcUrl, "eth_accounts");
    chaos = new ChaosTraffic(rpcUrl, devnet.deployment, owner, ledger, 7);
    for (const depth of DEPTHS) {
      const snapshot = await rpc<string>(rpcUrl, "evm_snapshot");
      const original = chaos.original(depth);
      await chaos.sendAll(original);
      await live!.waitForBlock(await blockNumber(rpcUrl), 120_000);
      await rpc(rpcUrl, "evm_revert", [snapshot]);
      await chaos.sendAll(chaos.replacement(original));
      const head = await blockNumber(rpcUrl);
      await live!.waitForBlock(head, 120_000);
      figures.reorgs += 1;
      figures.replacedBlocks += depth;
      const tables = await readTables(live!.url);
      const differences = [...(await compareWithContracts(tables, devnet.deployment)), ...checkInvariants(tables)];
      figures.mismatches += differences.length;
      expect(differences, `after the reorg of depth ${depth} (head ${head})`).toEqual([]);
    }
    // Ponder logs one "Reorged block" line (info) per reverted realtime event batch.
    expect(live!.logs().match(/"msg":"Reorged block"/g)?.length ?? 0).toBeGreaterThanOrEqual(DEPTHS.length);
  });

  it("equals a fresh index of the final chain, table by table, once finalized", async () => {
    const rpcUrl = devnet.anvil.rpcUrl;
    const head = await mineToFinality(rpcUrl);
    await live!.waitForBlock(head, 120_000);
    const liveDump = canonicalDump(await readTables(live!.url));
    fresh = await startPonder({
      DEPLOYMENT_FILE: deploymentFile,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: path.join(workDir, "pglite-fresh"),
    });
    await fresh.waitForBlock(head, 180_000);
    const freshDump = canonicalDump(await readTables(fresh.url));
    const differences = diffDumps(freshDump, liveDump);
    figures.mismatches += differences.length;
    console.log(`[reorg] compared ${dumpSize(freshDump)} rows with a fresh index: ${differences.length} differences`);
    expect(dumpSize(freshDump)).toBeGreaterThan(100);
    expect(differences).toEqual([]);
    const reorgLines = live!
      .logs()
      .split("\n")
      .filter((line) => line.includes('"msg":"Reorged block"'));
    console.log(
      `[reorg] Ponder logged ${reorgLines.length} "Reorged block" lines, e.g. ${reorgLines[0]?.slice(0, 300)}`,
    );
  });
});
