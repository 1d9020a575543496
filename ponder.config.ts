import { createConfig } from "ponder";
import { InvoiceRegistryAbi } from "./abis/InvoiceRegistry";
import { SettlementEngineAbi } from "./abis/SettlementEngine";
import { StakeManagerAbi } from "./abis/StakeManager";
import { ConfigError, checkEnv, isEnvSet } from "./config/env";
import { rpcTransport, type WrongChain } from "./config/rpc-transport";
import { type ChainSettings, type IndexerSettings, loadIndexerSettings } from "./config/settings";

/** Stops start-up with one line that names the setting, instead of a stack trace from inside Ponder's build. */
function exitWithConfigurationError(message: string): never {
  console.error(`Configuration error: ${message}`);
  process.exit(2);
}

function settingsOrExit(): IndexerSettings {
  try {
    // Every variable this process reads (the API's too), so that a bad one stops start-up here.
    checkEnv(["chain", "database", "graphql", "standby", "streams", "webhooks", "metrics"]);
    return loadIndexerSettings();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    exitWithConfigurationError(error.message);
  }
}

const settings = settingsOrExit();

/**
 * An RPC of another chain would be indexed under the configured chain id (every row is keyed by
 * it): Ponder only warns, so start-up stops here, when a provider first answers `eth_chainId`.
 */
function wrongChain(chain: ChainSettings, problem: WrongChain): never {
  const setting =
    settings.chains.length > 1
      ? `the chainId of chain "${chain.name}" in DEPLOYMENT_FILE`
      : isEnvSet("CHAIN_ID")
        ? "CHAIN_ID"
        : "the chainId in DEPLOYMENT_FILE";
  exitWithConfigurationError(
    `${setting} is ${problem.expected} but the RPC ${problem.url} serves chain ${problem.served}: point the RPC at chain ${problem.expected}, or set the chain id to ${problem.served}`,
  );
}

// One Ponder chain per chain of the deployment (one, "openledger", for a single-chain file). Each
// chain's RPC is config/rpc-transport.ts: its URLs in order with failover, and its rate limit.
const chains = Object.fromEntries(
  settings.chains.map((chain) => [
    chain.name,
    {
      id: chain.chainId,
      rpc: rpcTransport({
        chainName: chain.name,
        urls: chain.rpcUrls,
        requestsPerSecond: chain.requestsPerSecond,
        chainId: chain.chainId,
        onWrongChain: (problem) => wrongChain(chain, problem),
      }),
      pollingInterval: chain.pollingIntervalMs,
      ethGetLogsBlockRange: chain.ethGetLogsBlockRange,
    },
  ]),
);

/** Each contract on every chain, at that chain's address and start block. */
function onEveryChain(contract: "StakeManager" | "InvoiceRegistry" | "SettlementEngine") {
  return Object.fromEntries(
    settings.chains.map((chain) => [chain.name, { address: chain.contracts[contract], startBlock: chain.startBlock }]),
  );
}

export default createConfig({
  database: settings.database,
  // Every table is keyed by chainId, so no row is shared between chains: by default each chain is
  // indexed in its own order as fast as its RPC allows (README, "Several chains").
  ordering: settings.ordering,
  chains,
  contracts: {
    StakeManager: { abi: StakeManagerAbi, chain: onEveryChain("StakeManager") },
    InvoiceRegistry: { abi: InvoiceRegistryAbi, chain: onEveryChain("InvoiceRegistry") },
    SettlementEngine: { abi: SettlementEngineAbi, chain: onEveryChain("SettlementEngine") },
  },
});
