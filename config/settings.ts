import { existsSync } from "node:fs";
import path from "node:path";
import { type Address, getAddress, isAddress } from "viem";
import {
  type ChainDeployment,
  CONTRACT_KEYS,
  type Deployment,
  DeploymentError,
  readDeploymentChains,
  SINGLE_CHAIN_NAME,
} from "../scripts/lib/deployment.js";

/** One chain to index: where its RPC is, where its contracts are, how hard to poll it. */
export type ChainSettings = {
  /** Ponder's chain name ("openledger" for a single-chain deployment file). */
  name: string;
  chainId: number;
  /** Tried in order, failing over to the next (config/rpc-transport.ts). */
  rpcUrls: string[];
  startBlock: number;
  contracts: Deployment["contracts"];
  /** Request-rate limit of the chain's RPC; undefined means unlimited. */
  requestsPerSecond?: number;
  pollingIntervalMs: number;
  ethGetLogsBlockRange?: number;
};

/**
 * Everything the indexer needs to start, after the deployment file and environment are merged.
 * `chainId`, `rpcUrls`, `startBlock` and `contracts` are those of the first chain (the only one of
 * a single-chain deployment); `chains` lists them all.
 */
export type IndexerSettings = {
  chainId: number;
  rpcUrls: string[];
  startBlock: number;
  contracts: Deployment["contracts"];
  chains: ChainSettings[];
  /** Ponder's `ordering` of events across chains: "multichain" unless ORDERING says otherwise. */
  ordering: Ordering;
  database: { kind: "pglite"; directory: string } | { kind: "postgres"; connectionString: string };
  pollingIntervalMs: number;
  ethGetLogsBlockRange?: number;
};

/** Ponder's event orderings across chains (README, "Several chains"). */
export const ORDERINGS = ["multichain", "omnichain", "experimental_isolated"] as const;
export type Ordering = (typeof ORDERINGS)[number];

/** A missing or malformed setting; the message names it and says what to do. */
export class SettingsError extends Error {
  override name = "SettingsError";
}

/** Environment variables that override the deployment file, one per contract address. */
export const ADDRESS_ENV = {
  OpenToken: "OPEN_TOKEN_ADDRESS",
  StakeManager: "STAKE_MANAGER_ADDRESS",
  InvoiceRegistry: "INVOICE_REGISTRY_ADDRESS",
  SettlementEngine: "SETTLEMENT_ENGINE_ADDRESS",
} as const;

/** Settings that describe one chain: with a multi-chain deployment file they belong in the file. */
const SINGLE_CHAIN_ENV = ["RPC_URL", "CHAIN_ID", "START_BLOCK", ...Object.values(ADDRESS_ENV)];

const DEFAULT_DEPLOYMENT_FILE = "deployments/localhost.json";
const LOCAL_CHAIN_IDS = new Set([31337, 1337]);

function integerSetting(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
    throw new SettingsError(`${name}=${JSON.stringify(raw)} is not an integer >= ${min}`);
  }
  return Number(raw);
}

function positiveNumberSetting(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(raw) || !Number.isFinite(value) || value <= 0) {
    throw new SettingsError(`${name}=${JSON.stringify(raw)} is not a number > 0`);
  }
  return value;
}

/** Merges the single-chain deployment (possibly empty) with the environment, which wins. */
function singleChainFromEnv(env: NodeJS.ProcessEnv, deployment: Partial<ChainDeployment>) {
  const rpcUrls = (env.RPC_URL ? env.RPC_URL.split(",") : (deployment.rpcUrls ?? []))
    .map((url) => url.trim())
    .filter(Boolean);
  if (rpcUrls.length === 0) throw new SettingsError("RPC_URL is not set and the deployment file has no rpcUrl");
  for (const url of rpcUrls) {
    if (!/^(https?|wss?):\/\/\S+$/.test(url))
      throw new SettingsError(`RPC_URL: ${JSON.stringify(url)} is not an http(s) or ws(s) URL`);
  }

  const chainId = integerSetting(env, "CHAIN_ID", 1) ?? deployment.chainId;
  if (chainId === undefined) throw new SettingsError("CHAIN_ID is not set and the deployment file has no chainId");
  const startBlock = integerSetting(env, "START_BLOCK", 0) ?? deployment.startBlock;
  if (startBlock === undefined)
    throw new SettingsError("START_BLOCK is not set and the deployment file has no startBlock");

  const contracts = {} as Deployment["contracts"];
  for (const key of CONTRACT_KEYS) {
    const name = ADDRESS_ENV[key];
    const raw = env[name] || deployment.contracts?.[key];
    if (!raw) throw new SettingsError(`${name} is not set and the deployment file has no contracts.${key}`);
    if (!isAddress(raw, { strict: false }))
      throw new SettingsError(`${name}: ${JSON.stringify(raw)} is not an address`);
    contracts[key] = getAddress(raw) as Address;
  }
  return { name: SINGLE_CHAIN_NAME, chainId, rpcUrls, startBlock, contracts };
}

/**
 * Merges `deployments/<network>.json` (or DEPLOYMENT_FILE) with the environment, which wins:
 * RPC_URL (comma-separated for fallbacks), CHAIN_ID, START_BLOCK, the contract addresses, and
 * DATABASE_URL (PostgreSQL; PGlite under PGLITE_DIRECTORY or .ponder/pglite otherwise).
 * A deployment file that lists `chains` indexes each of them; the single-chain variables then do
 * not apply (each chain's RPC URLs, start block and addresses are in the file), while
 * RPC_REQUESTS_PER_SECOND, POLLING_INTERVAL_MS and ETH_GET_LOGS_BLOCK_RANGE apply to every chain
 * (a chain's own `requestsPerSecond` wins). Throws one SettingsError naming the first bad or missing setting.
 */
export function loadIndexerSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): IndexerSettings {
  const deploymentFile = path.resolve(cwd, env.DEPLOYMENT_FILE || DEFAULT_DEPLOYMENT_FILE);
  const everythingFromEnv =
    env.RPC_URL && env.CHAIN_ID && env.START_BLOCK && Object.values(ADDRESS_ENV).every((name) => env[name]);
  let fileChains: ChainDeployment[] = [];
  if (existsSync(deploymentFile) || env.DEPLOYMENT_FILE) {
    try {
      fileChains = readDeploymentChains(deploymentFile);
    } catch (error) {
      if (error instanceof DeploymentError) throw new SettingsError(`DEPLOYMENT_FILE: ${error.message}`);
      throw error;
    }
  } else if (!everythingFromEnv) {
    throw new SettingsError(
      `DEPLOYMENT_FILE: ${path.relative(cwd, deploymentFile)} not found; run \`npm run devnet\`, or set RPC_URL, CHAIN_ID, START_BLOCK and ${Object.values(ADDRESS_ENV).join(", ")}`,
    );
  }

  const multiChain = fileChains.length > 1 || (fileChains[0] !== undefined && fileChains[0].name !== SINGLE_CHAIN_NAME);
  if (multiChain) {
    const conflicting = SINGLE_CHAIN_ENV.find((name) => env[name]);
    if (conflicting) {
      throw new SettingsError(
        `${conflicting} describes one chain, but DEPLOYMENT_FILE lists chains: set it per chain in the file`,
      );
    }
  }

  const pollingOverride = integerSetting(env, "POLLING_INTERVAL_MS", 10);
  const ethGetLogsBlockRange = integerSetting(env, "ETH_GET_LOGS_BLOCK_RANGE", 1);
  const defaultRequestsPerSecond = positiveNumberSetting(env, "RPC_REQUESTS_PER_SECOND");
  const merged = multiChain
    ? fileChains
    : [{ ...singleChainFromEnv(env, fileChains[0] ?? {}), requestsPerSecond: fileChains[0]?.requestsPerSecond }];
  const chains: ChainSettings[] = merged.map((chain) => ({
    name: chain.name,
    chainId: chain.chainId,
    rpcUrls: chain.rpcUrls,
    startBlock: chain.startBlock,
    contracts: chain.contracts,
    requestsPerSecond: chain.requestsPerSecond ?? defaultRequestsPerSecond,
    pollingIntervalMs: pollingOverride ?? (LOCAL_CHAIN_IDS.has(chain.chainId) ? 200 : 1_000),
    ethGetLogsBlockRange,
  }));

  let database: IndexerSettings["database"];
  if (env.DATABASE_URL) {
    if (!/^postgres(ql)?:\/\//.test(env.DATABASE_URL)) {
      throw new SettingsError("DATABASE_URL must be a postgres:// or postgresql:// connection string");
    }
    database = { kind: "postgres", connectionString: env.DATABASE_URL };
  } else {
    database = { kind: "pglite", directory: path.resolve(cwd, env.PGLITE_DIRECTORY || ".ponder/pglite") };
  }

  const ordering = (env.ORDERING || "multichain") as Ordering;
  if (!ORDERINGS.includes(ordering)) {
    throw new SettingsError(`ORDERING=${JSON.stringify(env.ORDERING)} is not one of ${ORDERINGS.join(", ")}`);
  }

  const first = chains[0]!;
  return {
    chainId: first.chainId,
    rpcUrls: first.rpcUrls,
    startBlock: first.startBlock,
    contracts: first.contracts,
    chains,
    ordering,
    database,
    pollingIntervalMs: first.pollingIntervalMs,
    ethGetLogsBlockRange,
  };
}
