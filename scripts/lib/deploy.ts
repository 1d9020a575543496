import { readFileSync } from "node:fs";
import path from "node:path";
import {
  type Abi,
  type Address,
  createPublicClient,
  createWalletClient,
  getAddress,
  type Hex,
  http,
  parseEther,
} from "viem";
import { foundry } from "viem/chains";
import { OpenTokenAbi } from "../../abis/OpenToken.js";
import type { Deployment } from "../../config/deployment.js";
import { type ContractName, ROOT } from "./compile.js";

/** Protocol parameters of a fresh deployment. */
export type DeployOptions = {
  /** Owner of every contract (governance); must be an unlocked account of the node. */
  owner: Address;
  treasury: Address;
  taxRateBps?: number;
  cooldownSeconds?: bigint;
  minProviderStake?: bigint;
};

export const DEFAULT_TAX_RATE_BPS = 500;
export const DEFAULT_COOLDOWN_SECONDS = 7n * 24n * 3600n;
export const DEFAULT_MIN_PROVIDER_STAKE = parseEther("1000");

export function readArtifact(name: ContractName): { abi: Abi; bytecode: Hex } {
  return JSON.parse(readFileSync(path.join(ROOT, "artifacts", `${name}.json`), "utf8"));
}

/**
 * Deploys OpenToken, StakeManager, InvoiceRegistry and SettlementEngine, and wires the engine
 * into the other two. Sends through the node's unlocked `owner` account (anvil's dev accounts).
 */
export async function deployProtocol(rpcUrl: string, options: DeployOptions): Promise<Deployment> {
  const transport = http(rpcUrl);
  const publicClient = createPublicClient({ transport });
  const chainId = await publicClient.getChainId();
  const wallet = createWalletClient({ account: options.owner, transport, chain: { ...foundry, id: chainId } });

  const deploy = async (name: ContractName, args: unknown[]) => {
    const artifact = readArtifact(name);
    const hash = await wallet.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`deploying ${name} failed`);
    return { address: getAddress(receipt.contractAddress), blockNumber: receipt.blockNumber };
  };
  const send = async (address: Address, abi: Abi, functionName: string, args: unknown[]) => {
    const hash = await wallet.writeContract({ address, abi, functionName, args });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    if (receipt.status !== "success") throw new Error(`${functionName} failed during deployment`);
  };

  const token = await deploy("OpenToken", [options.owner]);
  const stakeManager = await deploy("StakeManager", [
    options.owner,
    token.address,
    options.cooldownSeconds ?? DEFAULT_COOLDOWN_SECONDS,
  ]);
  const registry = await deploy("InvoiceRegistry", [
    options.owner,
    stakeManager.address,
    options.minProviderStake ?? DEFAULT_MIN_PROVIDER_STAKE,
  ]);
  const engine = await deploy("SettlementEngine", [
    options.owner,
    token.address,
    registry.address,
    stakeManager.address,
    options.treasury,
    options.taxRateBps ?? DEFAULT_TAX_RATE_BPS,
  ]);
  await send(registry.address, readArtifact("InvoiceRegistry").abi, "setSettlementEngine", [engine.address]);
  await send(stakeManager.address, readArtifact("StakeManager").abi, "setSettlementEngine", [engine.address]);

  return {
    chainId,
    rpcUrl,
    startBlock: Number(token.blockNumber),
    contracts: {
      OpenToken: token.address,
      StakeManager: stakeManager.address,
      InvoiceRegistry: registry.address,
      SettlementEngine: engine.address,
    },
    owner: getAddress(options.owner),
    treasury: getAddress(options.treasury),
  };
}

/** Mints `amount` OPEN to each account (owner only: local chains and tests). */
export async function fundWithOpen(deployment: Deployment, accounts: readonly Address[], amount: bigint) {
  const transport = http(deployment.rpcUrl);
  const publicClient = createPublicClient({ transport });
  const wallet = createWalletClient({
    account: deployment.owner as Address,
    transport,
    chain: { ...foundry, id: deployment.chainId },
  });
  let last: Hex | undefined;
  for (const account of accounts) {
    last = await wallet.writeContract({
      address: deployment.contracts.OpenToken,
      abi: OpenTokenAbi,
      functionName: "mint",
      args: [account, amount],
    });
  }
  if (last) await publicClient.waitForTransactionReceipt({ hash: last, pollingInterval: 50 });
}
