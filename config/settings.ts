import { existsSync } from "node:fs";
import path from "node:path";
import { type Address, getAddress, isAddress } from "viem";
import { CONTRACT_KEYS, type Deployment, DeploymentError, readDeployment } from "../scripts/lib/deployment.js";

/** Everything the indexer needs to start, after the deployment file and environment are merged. */
export type IndexerSettings = {
  chainId: number;
  rpcUrls: string[];
  startBlock: number;
  contracts: Deployment["contracts"];
  database: { kind: "pglite"; directory: string } | { kind: "postgres"; connectionString: string };
  pollingIntervalMs: number;
  ethGetLogsBlockRange?: number;
};

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

/**
 * Merges `deployments/<network>.json` (or DEPLOYMENT_FILE) with the environment, which wins:
 * RPC_URL (comma-separated for fallbacks), CHAIN_ID, START_BLOCK, the contract addresses, and
 * DATABASE_URL (PostgreSQL; PGlite under PGLITE_DIRECTORY or .ponder/pglite otherwise).
 * Throws one SettingsError naming the first bad or missing setting.
 */
export function loadIndexerSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): IndexerSettings {
  const deploymentFile = path.resolve(cwd, env.DEPLOYMENT_FILE || DEFAULT_DEPLOYMENT_FILE);
  const everythingFromEnv =
    env.RPC_URL && env.CHAIN_ID && env.START_BLOCK && Object.values(ADDRESS_ENV).every((name) => env[name]);
  let deployment: Partial<Deployment> = {};
  if (existsSync(deploymentFile) || env.DEPLOYMENT_FILE) {
    try {
      deployment = readDeployment(deploymentFile);
    } catch (error) {
      if (error instanceof DeploymentError) throw new SettingsError(`DEPLOYMENT_FILE: ${error.message}`);
      throw error;
    }
  } else if (!everythingFromEnv) {
    throw new SettingsError(
      `DEPLOYMENT_FILE: ${path.relative(cwd, deploymentFile)} not found; run \`npm run devnet\`, or set RPC_URL, CHAIN_ID, START_BLOCK and ${Object.values(ADDRESS_ENV).join(", ")}`,
    );
  }

  const rpcUrls = (env.RPC_URL ? env.RPC_URL.split(",") : deployment.rpcUrl ? [deployment.rpcUrl] : [])
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

  let database: IndexerSettings["database"];
  if (env.DATABASE_URL) {
    if (!/^postgres(ql)?:\/\//.test(env.DATABASE_URL)) {
      throw new SettingsError("DATABASE_URL must be a postgres:// or postgresql:// connection string");
    }
    database = { kind: "postgres", connectionString: env.DATABASE_URL };
  } else {
    database = { kind: "pglite", directory: path.resolve(cwd, env.PGLITE_DIRECTORY || ".ponder/pglite") };
  }

  return {
    chainId,
    rpcUrls,
    startBlock,
    contracts,
    database,
    pollingIntervalMs: integerSetting(env, "POLLING_INTERVAL_MS", 10) ?? (LOCAL_CHAIN_IDS.has(chainId) ? 200 : 1_000),
    ethGetLogsBlockRange: integerSetting(env, "ETH_GET_LOGS_BLOCK_RANGE", 1),
  };
}
