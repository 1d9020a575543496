/**
 * `npm run devnet`: a local chain with the protocol deployed, for the simulator, the indexer and
 * wallets. Runs until Ctrl-C or SIGTERM, which stop anvil (and write --dump-state if given).
 */
import { createServer } from "node:net";
import { parseArgs } from "node:util";
import { readEnv } from "../config/env.js";
import { integerFlag, positiveFlag, runCli, UsageError } from "./lib/cli.js";
import {
  DEFAULT_DEVNET_PORT,
  DEFAULT_NETWORK,
  DEV_ACCOUNT_OPEN,
  deploymentFileFor,
  startDevnet,
} from "./lib/devnet.js";

const HELP = `usage: npm run devnet [-- options]

Starts anvil on 127.0.0.1, deploys OpenToken, StakeManager, InvoiceRegistry and SettlementEngine
(owner = dev account 0, treasury = dev account 1; tax 5%, unstake cooldown 7 days, min provider
stake 1000 OPEN), mints ${DEV_ACCOUNT_OPEN / 10n ** 18n} OPEN to each dev account and writes
deployments/<network>.json. Stays up until Ctrl-C.

options:
  --port P               RPC port (default: $DEVNET_PORT or ${DEFAULT_DEVNET_PORT})
  --network NAME         names the deployment file (default ${DEFAULT_NETWORK})
  --chain-id N           chain id (default 31337)
  --block-time S         a block every S seconds (default: a block per transaction)
  --genesis-timestamp T  genesis unix time; the deployment's blocks then follow it 1 s apart,
                         so that a chain (and a fast simulation on it) is reproducible
  --dump-state FILE      write the chain's state to FILE when stopped
  --load-state FILE      start from a dumped state (reuses deployments/<network>.json)
  --help                 this text`;

/** Fails early, with a hint, when the port is taken (anvil's own error would be a stack of text). */
async function ensurePortFree(port: number) {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once("error", () =>
      reject(new UsageError(`port ${port} is in use (another devnet?): stop it, or pass --port P or DEVNET_PORT`)),
    );
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}

async function main() {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: "string" },
        network: { type: "string" },
        "chain-id": { type: "string" },
        "block-time": { type: "string" },
        "genesis-timestamp": { type: "string" },
        "dump-state": { type: "string" },
        "load-state": { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split("\n")[0]} (see npm run devnet -- --help)`);
  }
  if (values.help) {
    console.log(HELP);
    return;
  }
  const str = (name: string) => values[name] as string | undefined;
  const port = integerFlag("port", str("port"), readEnv("DEVNET_PORT"), 1, 65_535);
  const network = str("network") ?? DEFAULT_NETWORK;
  if (!/^[A-Za-z0-9._-]+$/.test(network)) throw new UsageError(`--network ${network} must be a plain file name`);
  const chainId = integerFlag("chain-id", str("chain-id"), 31337, 1, 2 ** 32);
  const blockTime = positiveFlag("block-time", str("block-time"), undefined);
  const genesis = str("genesis-timestamp");
  const genesisTimestamp = genesis === undefined ? undefined : integerFlag("genesis-timestamp", genesis, 0, 1, 2 ** 40);

  await ensurePortFree(port);
  const devnet = await startDevnet({
    port,
    chainId,
    blockTime,
    genesisTimestamp,
    network,
    dumpState: str("dump-state"),
    loadState: str("load-state"),
  });
  const { deployment } = devnet;
  const mining = blockTime === undefined ? "a block per transaction" : `a block every ${blockTime} s`;
  const lines = [
    `devnet ready at ${devnet.anvil.rpcUrl} (chain id ${deployment.chainId}, ${mining})`,
    ...Object.entries(deployment.contracts).map(([name, address]) => `  ${name.padEnd(17)} ${address}`),
    `  ${"owner".padEnd(17)} ${deployment.owner} (dev account 0)`,
    `  ${"treasury".padEnd(17)} ${deployment.treasury} (dev account 1)`,
    `  ${"deployment".padEnd(17)} ${devnet.deploymentFile ?? deploymentFileFor(network)}`,
    str("load-state")
      ? `  state loaded from ${str("load-state")}`
      : `  dev accounts hold ${DEV_ACCOUNT_OPEN / 10n ** 18n} OPEN each`,
    `next: npm run simulate -- --seed 1 --invoices 1000${network === DEFAULT_NETWORK ? "" : ` --deployment ${devnet.deploymentFile}`}`,
    "Ctrl-C stops the chain.",
  ];
  console.log(lines.join("\n"));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await devnet.stop();
    if (str("dump-state")) console.log(`state written to ${str("dump-state")}`);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  devnet.anvil.process.once("exit", (code) => {
    if (stopping) return;
    console.error(`devnet: anvil exited unexpectedly (code ${code})`);
    process.exit(1);
  });
}

runCli("devnet", main);
