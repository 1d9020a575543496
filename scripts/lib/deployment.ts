import { existsSync, readFileSync } from "node:fs";
import { type Address, getAddress, isAddress } from "viem";

/** `deployments/<network>.json`: where the contracts live, read by the simulator and the indexer. */
export type Deployment = {
  chainId: number;
  rpcUrl: string;
  /** The block of the first contract's deployment: where indexing starts. */
  startBlock: number;
  contracts: {
    OpenToken: Address;
    StakeManager: Address;
    InvoiceRegistry: Address;
    SettlementEngine: Address;
  };
  /** Governance (contracts' owner) and treasury, for the simulator. Optional in hand-written files. */
  owner?: Address;
  treasury?: Address;
};

export const CONTRACT_KEYS = ["OpenToken", "StakeManager", "InvoiceRegistry", "SettlementEngine"] as const;

/** Thrown for a missing or malformed deployment file: the message names the file and the field. */
export class DeploymentError extends Error {
  override name = "DeploymentError";
}

/** Reads and validates a deployment file; every problem is one DeploymentError naming the field. */
export function readDeployment(file: string): Deployment {
  if (!existsSync(file)) {
    throw new DeploymentError(`deployment file ${file} not found: start a chain with \`npm run devnet\` first`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new DeploymentError(`deployment file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return parseDeployment(raw, file);
}

export function parseDeployment(raw: unknown, source: string): Deployment {
  const bad = (field: string, why: string) => new DeploymentError(`${source}: ${field} ${why}`);
  if (typeof raw !== "object" || raw === null) throw bad("(root)", "must be an object");
  const value = raw as Record<string, unknown>;
  if (!Number.isSafeInteger(value.chainId) || (value.chainId as number) <= 0) {
    throw bad("chainId", "must be a positive integer");
  }
  if (typeof value.rpcUrl !== "string" || !/^(https?|wss?):\/\//.test(value.rpcUrl)) {
    throw bad("rpcUrl", "must be an http(s) or ws(s) URL");
  }
  if (!Number.isSafeInteger(value.startBlock) || (value.startBlock as number) < 0) {
    throw bad("startBlock", "must be a non-negative integer");
  }
  if (typeof value.contracts !== "object" || value.contracts === null) throw bad("contracts", "must be an object");
  const contracts = value.contracts as Record<string, unknown>;
  const parsed = {} as Deployment["contracts"];
  for (const key of CONTRACT_KEYS) {
    const address = contracts[key];
    if (typeof address !== "string" || !isAddress(address, { strict: false })) {
      throw bad(`contracts.${key}`, "must be a 0x-prefixed 20-byte address");
    }
    parsed[key] = getAddress(address);
  }
  const optionalAddress = (field: "owner" | "treasury") => {
    const address = value[field];
    if (address === undefined) return undefined;
    if (typeof address !== "string" || !isAddress(address, { strict: false })) throw bad(field, "must be an address");
    return getAddress(address);
  };
  return {
    chainId: value.chainId as number,
    rpcUrl: value.rpcUrl,
    startBlock: value.startBlock as number,
    contracts: parsed,
    owner: optionalAddress("owner"),
    treasury: optionalAddress("treasury"),
  };
}
