import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type Address, parseEther } from "viem";
import { type Deployment, DeploymentError, readDeployment } from "../../config/deployment.js";
import { ENV } from "../../config/env.js";
import { type Anvil, rpc, startAnvil } from "./anvil.js";
import { deployProtocol, fundWithOpen } from "./deploy.js";

export const DEFAULT_DEVNET_PORT = ENV.DEVNET_PORT.default;
export const DEFAULT_NETWORK = "localhost";
/** OPEN minted to each dev account, so that a new user can stake and pay from a wallet at once. */
export const DEV_ACCOUNT_OPEN = parseEther("1000000");

export type DevnetOptions = {
  /** 0: a free port chosen by the OS. Default 8545. */
  port?: number;
  chainId?: number;
  /**
   * Seconds between blocks once deployed (interval mining; the deployment itself is automined, so
   * it does not wait for blocks); undefined: a block per transaction (automine).
   */
  blockTime?: number;
  /**
   * Genesis timestamp. When set, the deployment's blocks are one second apart from it, so that the
   * whole chain (and a fast simulation on it) is reproducible.
   */
  genesisTimestamp?: number;
  /** Writes deployments/<network>.json (the CLI passes "localhost"); without it or `deploymentFile`, no file. */
  network?: string;
  /** Where to write the deployment, overriding deployments/<network>.json. */
  deploymentFile?: string;
  /** Start from a state dumped by `dumpState` (the deployment file of that chain must exist). */
  loadState?: string;
  /** anvil writes its state there when it stops (reload with `loadState`). */
  dumpState?: string;
  /** Dev accounts to generate; default 10. */
  accounts?: number;
  /** anvil's `--prune-history` (see AnvilOptions.pruneHistory). */
  pruneHistory?: boolean | number;
};

export type Devnet = {
  anvil: Anvil;
  deployment: Deployment;
  /** Where the deployment was written, or null. */
  deploymentFile: string | null;
  /** Stops anvil (which writes `dumpState` if asked). */
  stop: () => Promise<void>;
};

export function deploymentFileFor(network: string): string {
  return path.join("deployments", `${network}.json`);
}

export function writeDeployment(file: string, deployment: Deployment) {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, `${JSON.stringify(deployment, null, 2)}\n`);
}

/** Reuses a reloaded chain's deployment file, checking that its contracts are on the chain. */
async function reloadedDeployment(anvil: Anvil, file: string): Promise<Deployment> {
  const deployment = readDeployment(file);
  for (const [name, address] of Object.entries(deployment.contracts)) {
    const code = await rpc<string>(anvil.rpcUrl, "eth_getCode", [address, "latest"]);
    if (code === "0x") {
      throw new DeploymentError(
        `${file}: no ${name} at ${address} in the loaded state: it is not this state's deployment`,
      );
    }
  }
  return { ...deployment, chainId: anvil.chainId, rpcUrl: anvil.rpcUrl };
}

/**
 * A local chain with the protocol deployed: anvil on 127.0.0.1, the four contracts (owner = dev
 * account 0, treasury = dev account 1), OPEN for every dev account, and deployments/<network>.json.
 * Used by `npm run devnet`, the tests, the demo and the benchmark, which all need the same chain.
 */
export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  const deploymentFile = options.deploymentFile ?? (options.network ? deploymentFileFor(options.network) : null);
  if (options.loadState && !deploymentFile) {
    throw new DeploymentError("a reloaded state needs the deployment file written when it was created");
  }
  const anvil = await startAnvil({
    port: options.port ?? DEFAULT_DEVNET_PORT,
    chainId: options.chainId,
    genesisTimestamp: options.genesisTimestamp,
    loadState: options.loadState,
    dumpState: options.dumpState,
    accounts: options.accounts,
    pruneHistory: options.pruneHistory,
  });
  try {
    let deployment: Deployment;
    if (options.loadState) {
      deployment = await reloadedDeployment(anvil, deploymentFile as string);
    } else {
      const accounts = await rpc<Address[]>(anvil.rpcUrl, "eth_accounts");
      const pinned = options.genesisTimestamp !== undefined;
      if (pinned) await rpc(anvil.rpcUrl, "anvil_setBlockTimestampInterval", [1]);
      deployment = await deployProtocol(anvil.rpcUrl, { owner: accounts[0], treasury: accounts[1] });
      await fundWithOpen(deployment, accounts, DEV_ACCOUNT_OPEN);
      if (pinned) await rpc(anvil.rpcUrl, "anvil_removeBlockTimestampInterval", []);
    }
    if (options.blockTime !== undefined) await rpc(anvil.rpcUrl, "evm_setIntervalMining", [options.blockTime]);
    if (deploymentFile) writeDeployment(deploymentFile, deployment);
    return { anvil, deployment, deploymentFile, stop: anvil.stop };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}
