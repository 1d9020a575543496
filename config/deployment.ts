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

/** The parsed JSON of a deployment file, or a DeploymentError saying it is missing or not JSON. */
function readDeploymentJson(file: string): unknown {
  if (!existsSync(file)) {
    throw new DeploymentError(`deployment file ${file} not found: start a chain with \`npm run devnet\` first`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new DeploymentError(`deployment file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return raw;
}

/** Reads and validates a deployment file; every problem is one DeploymentError naming the field. */
export function readDeployment(file: string): Deployment {
  return parseDeployment(readDeploymentJson(file), file);
}

/**
 * Validates one chain's deployment. `prefix` names where it sits in the file ("" for a single-chain
 * file, "chains[1]." for an entry of a multi-chain one), so that errors name the exact field.
 */
export function parseDeployment(raw: unknown, source: string, prefix = ""): Deployment {
  const bad = (field: string, why: string) => new DeploymentError(`${source}: ${prefix}${field} ${why}`);
  if (typeof raw !== "object" || raw === null) throw bad(prefix ? "" : "(root)", "must be an object");
  const value = raw as Record<string, unknown>;
  if (!prefix && "chains" in value) {
    throw bad("chains", "lists several chains: this reads a single chain's file (the indexer reads both shapes)");
  }
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

/**
 * One chain of a deployment file. A single-chain file (the shape above, which `npm run devnet`
 * writes) is one of these named "openledger"; a multi-chain file lists them:
 * `{ "chains": [{ "name": "home", "chainId": 1, "rpcUrls": ["https://a", "https://b"], "startBlock": 0,
 * "contracts": {...}, "requestsPerSecond": 25 }, ...] }`.
 */
export type ChainDeployment = Deployment & {
  /** Ponder's name for the chain: letters, digits and `_`, unique in the file. */
  name: string;
  /** Tried in order: the first that answers serves (config/rpc-transport.ts). */
  rpcUrls: string[];
  /** Request-rate limit of this chain's RPC; unlimited when absent. */
  requestsPerSecond?: number;
};

/** The Ponder chain name of a single-chain deployment file. */
export const SINGLE_CHAIN_NAME = "openledger";

const CHAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const RPC_URL = /^(https?|wss?):\/\/\S+$/;

/** Reads a deployment file of either shape as a list of chains (one entry for a single-chain file). */
export function readDeploymentChains(file: string): ChainDeployment[] {
  return parseDeploymentChains(readDeploymentJson(file), file);
}

/** Validates a deployment file of either shape; every problem is one DeploymentError naming the field. */
export function parseDeploymentChains(raw: unknown, source: string): ChainDeployment[] {
  if (typeof raw !== "object" || raw === null || !("chains" in raw)) {
    const single = parseDeployment(raw, source);
    return [{ ...single, name: SINGLE_CHAIN_NAME, rpcUrls: [single.rpcUrl] }];
  }
  const list = (raw as { chains: unknown }).chains;
  if (!Array.isArray(list) || list.length === 0) {
    throw new DeploymentError(`${source}: chains must be a non-empty array`);
  }
  const names = new Set<string>();
  const chainIds = new Set<number>();
  return list.map((entry, index) => {
    const prefix = `chains[${index}].`;
    const bad = (field: string, why: string) => new DeploymentError(`${source}: ${prefix}${field} ${why}`);
    if (typeof entry !== "object" || entry === null)
      throw new DeploymentError(`${source}: chains[${index}] must be an object`);
    const value = entry as Record<string, unknown>;
    if (typeof value.name !== "string" || !CHAIN_NAME.test(value.name)) {
      throw bad("name", "must be letters, digits and _ (a Ponder chain name)");
    }
    if (names.has(value.name)) throw bad("name", `${JSON.stringify(value.name)} is used twice`);
    names.add(value.name);
    const rawUrls = value.rpcUrls ?? (value.rpcUrl === undefined ? undefined : [value.rpcUrl]);
    if (!Array.isArray(rawUrls) || rawUrls.length === 0) throw bad("rpcUrls", "must be a non-empty array of URLs");
    rawUrls.forEach((url, i) => {
      if (typeof url !== "string" || !RPC_URL.test(url)) throw bad(`rpcUrls[${i}]`, "must be an http(s) or ws(s) URL");
    });
    const rpcUrls = rawUrls as string[];
    const deployment = parseDeployment({ ...value, rpcUrl: rpcUrls[0] }, source, prefix);
    if (chainIds.has(deployment.chainId)) throw bad("chainId", `${deployment.chainId} is used twice`);
    chainIds.add(deployment.chainId);
    const rps = value.requestsPerSecond;
    if (rps !== undefined && (typeof rps !== "number" || !Number.isFinite(rps) || rps <= 0)) {
      throw bad("requestsPerSecond", "must be a positive number");
    }
    return { ...deployment, name: value.name, rpcUrls, requestsPerSecond: rps as number | undefined };
  });
}
