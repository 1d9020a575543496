import { existsSync } from "node:fs";
import path from "node:path";
import { getAddress } from "viem";
import {
  type ChainDeployment,
  CONTRACT_KEYS,
  type Deployment,
  DeploymentError,
  readDeploymentChains,
  SINGLE_CHAIN_NAME,
} from "./deployment.js";
import { ConfigError, type EnvName, type EnvValue, isEnvSet, readEnv } from "./env.js";

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
export type Ordering = EnvValue<"ORDERING">;

/** Environment variables that override the deployment file, one per contract address. */
export const ADDRESS_ENV = {
  OpenToken: "OPEN_TOKEN_ADDRESS",
  StakeManager: "STAKE_MANAGER_ADDRESS",
  InvoiceRegistry: "INVOICE_REGISTRY_ADDRESS",
  SettlementEngine: "SETTLEMENT_ENGINE_ADDRESS",
} as const satisfies Record<(typeof CONTRACT_KEYS)[number], EnvName>;

/** Settings that describe one chain: with a multi-chain deployment file they belong in the file. */
const SINGLE_CHAIN_ENV: EnvName[] = ["RPC_URL", "CHAIN_ID", "START_BLOCK", ...Object.values(ADDRESS_ENV)];

const LOCAL_CHAIN_IDS = new Set([31337, 1337]);

/** Merges the single-chain deployment (possibly empty) with the environment, which wins. */
function singleChainFromEnv(env: NodeJS.ProcessEnv, deployment: Partial<ChainDeployment>) {
  const rpcUrls = readEnv("RPC_URL", env) ?? deployment.rpcUrls ?? [];
  if (rpcUrls.length === 0) throw new ConfigError("RPC_URL is not set and the deployment file has no rpcUrl");
  const chainId = readEnv("CHAIN_ID", env) ?? deployment.chainId;
  if (chainId === undefined) throw new ConfigError("CHAIN_ID is not set and the deployment file has no chainId");
  const startBlock = readEnv("START_BLOCK", env) ?? deployment.startBlock;
  if (startBlock === undefined)
    throw new ConfigError("START_BLOCK is not set and the deployment file has no startBlock");

  const contracts = {} as Deployment["contracts"];
  for (const key of CONTRACT_KEYS) {
    const name = ADDRESS_ENV[key];
    const value = readEnv(name, env) ?? deployment.contracts?.[key];
    if (!value) throw new ConfigError(`${name} is not set and the deployment file has no contracts.${key}`);
    contracts[key] = getAddress(value);
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
 * (a chain's own `requestsPerSecond` wins). Throws one ConfigError naming the first bad or missing setting.
 */
export function loadIndexerSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): IndexerSettings {
  const deploymentFile = path.resolve(cwd, readEnv("DEPLOYMENT_FILE", env));
  const fileNamed = isEnvSet("DEPLOYMENT_FILE", env);
  const everythingFromEnv = SINGLE_CHAIN_ENV.every((name) => isEnvSet(name, env));
  let fileChains: ChainDeployment[] = [];
  if (existsSync(deploymentFile) || fileNamed) {
    try {
      fileChains = readDeploymentChains(deploymentFile);
    } catch (error) {
      if (error instanceof DeploymentError) throw new ConfigError(`DEPLOYMENT_FILE: ${error.message}`);
      throw error;
    }
  } else if (!everythingFromEnv) {
    throw new ConfigError(
      `DEPLOYMENT_FILE: ${path.relative(cwd, deploymentFile)} not found; run \`npm run devnet\`, or set ${SINGLE_CHAIN_ENV.join(", ")}`,
    );
  }

  const multiChain = fileChains.length > 1 || (fileChains[0] !== undefined && fileChains[0].name !== SINGLE_CHAIN_NAME);
  if (multiChain) {
    const conflicting = SINGLE_CHAIN_ENV.find((name) => isEnvSet(name, env));
    if (conflicting) {
      throw new ConfigError(
        `${conflicting} describes one chain, but DEPLOYMENT_FILE lists chains: set it per chain in the file`,
      );
    }
  }

  const pollingOverride = readEnv("POLLING_INTERVAL_MS", env);
  const ethGetLogsBlockRange = readEnv("ETH_GET_LOGS_BLOCK_RANGE", env);
  const defaultRequestsPerSecond = readEnv("RPC_REQUESTS_PER_SECOND", env);
  // Read by the patched Ponder itself (its RPC's starting rate, its lock's heartbeat): checked here so
  // that a bad value is a clear error at start-up, not Ponder's default taken in silence.
  readEnv("PONDER_RPC_INITIAL_RPS", env);
  readEnv("PONDER_DATABASE_HEARTBEAT_TIMEOUT_MS", env);
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

  const databaseUrl = readEnv("DATABASE_URL", env);
  const database: IndexerSettings["database"] = databaseUrl
    ? { kind: "postgres", connectionString: databaseUrl }
    : { kind: "pglite", directory: path.resolve(cwd, readEnv("PGLITE_DIRECTORY", env)) };

  const first = chains[0]!;
  return {
    chainId: first.chainId,
    rpcUrls: first.rpcUrls,
    startBlock: first.startBlock,
    contracts: first.contracts,
    chains,
    ordering: readEnv("ORDERING", env),
    database,
    pollingIntervalMs: first.pollingIntervalMs,
    ethGetLogsBlockRange,
  };
}
