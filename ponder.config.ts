import { createConfig } from "ponder";
import { fallback, http } from "viem";
import { InvoiceRegistryAbi } from "./abis/InvoiceRegistry";
import { SettlementEngineAbi } from "./abis/SettlementEngine";
import { StakeManagerAbi } from "./abis/StakeManager";
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

// viem caps an HTTP answer at 10 MB; a backfill's eth_getLogs over a busy range is larger.
const transports = settings.rpcUrls.map((url) => http(url, { maxResponseBodySize: false, retryCount: 5 }));

export default createConfig({
  database: settings.database,
  chains: {
    openledger: {
      id: settings.chainId,
      rpc: transports.length === 1 ? transports[0] : fallback(transports),
      pollingInterval: settings.pollingIntervalMs,
      ethGetLogsBlockRange: settings.ethGetLogsBlockRange,
    },
  },
  contracts: {
    StakeManager: {
      chain: "openledger",
      abi: StakeManagerAbi,
      address: settings.contracts.StakeManager,
      startBlock: settings.startBlock,
    },
    InvoiceRegistry: {
      chain: "openledger",
      abi: InvoiceRegistryAbi,
      address: settings.contracts.InvoiceRegistry,
      startBlock: settings.startBlock,
    },
    SettlementEngine: {
      chain: "openledger",
      abi: SettlementEngineAbi,
      address: settings.contracts.SettlementEngine,
      startBlock: settings.startBlock,
    },
  },
});
