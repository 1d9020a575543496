import { createConfig } from "ponder";
import { InvoiceRegistryAbi } from "./abis/InvoiceRegistry";
import { SettlementEngineAbi } from "./abis/SettlementEngine";
import { StakeManagerAbi } from "./abis/StakeManager";
import { rpcTransport } from "./config/rpc-transport";
import { type IndexerSettings, loadIndexerSettings, SettingsError } from "./config/settings";

function settingsOrExit(): IndexerSettings {
  try {
    return loadIndexerSettings();
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    // One line that names the setting, instead of a stack trace from inside Ponder's build.
    console.error(`Configuration error: ${error.message}`);
    process.exit(2);
  }
}

const settings = settingsOrExit();

// One Ponder chain per chain of the deployment (one, "openledger", for a single-chain file). Each
// chain's RPC is config/rpc-transport.ts: its URLs in order with failover, and its rate limit.
const chains = Object.fromEntries(
  settings.chains.map((chain) => [
    chain.name,
    {
      id: chain.chainId,
      rpc: rpcTransport({ chainName: chain.name, urls: chain.rpcUrls, requestsPerSecond: chain.requestsPerSecond }),
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
