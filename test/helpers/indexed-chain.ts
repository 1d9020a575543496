import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Deployment } from "../../config/deployment.js";
import { mineToFinality } from "../../harness/chain.js";
import type { Anvil } from "../../scripts/lib/anvil.js";
import { startDevnet } from "../../scripts/lib/devnet.js";
import { simulate } from "../../scripts/simulator/index.js";
import type { Ledger } from "../../scripts/simulator/ledger.js";

export type SimulatedChain = {
  anvil: Anvil;
  deployment: Deployment;
  deploymentFile: string;
  ledger: Ledger;
  /** The chain head after the simulation and the empty blocks. */
  head: number;
  workDir: string;
  stop: () => Promise<void>;
};

/**
 * A fresh anvil with the contracts, a deterministic simulator run on it, and 32 empty blocks on top;
 * `chainId` (default anvil's 31337) gives a second chain an id of its own.
 */
export async function simulatedChain(
  seed: number,
  invoices: number,
  options: { chainId?: number } = {},
): Promise<SimulatedChain> {
  const workDir = mkdtempSync(path.join(tmpdir(), "openledger-test-"));
  const { anvil, deployment } = await startDevnet({
    port: 0,
    genesisTimestamp: 1_767_225_600,
    chainId: options.chainId,
  });
  try {
    const ledger = await simulate({ deployment, seed, invoices, mode: "fast" });
    const head = await mineToFinality(anvil.rpcUrl);
    const deploymentFile = path.join(workDir, "deployment.json");
    writeFileSync(deploymentFile, JSON.stringify(deployment));
    return {
      anvil,
      deployment,
      deploymentFile,
      ledger,
      head,
      workDir,
      stop: async () => {
        await anvil.stop();
        rmSync(workDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}
