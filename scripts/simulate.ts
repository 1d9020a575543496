/**
 * `npm run simulate`: realistic, deterministic traffic against a deployment, and the ledger that
 * the indexer's tests compare with. Ctrl-C stops between rounds and still writes the ledger.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { readDeployment } from "../config/deployment.js";
import { integerFlag, positiveFlag, runCli, UsageError } from "./lib/cli.js";
import { DEFAULT_NETWORK, deploymentFileFor } from "./lib/devnet.js";
import {
  DEFAULT_DAYS,
  defaultLedgerPath,
  runSimulation,
  type SimulationMode,
  type SimulationProgress,
} from "./simulator/index.js";
import { autoFastBlocks } from "./simulator/traffic.js";

const DEFAULT_SEED = 1;
const DEFAULT_INVOICES = 1_000;

const HELP = `usage: npm run simulate -- [options]

Sends realistic traffic (stakes, models, invoices, settlements, sales, bundles, claims, unstakes,
slashes, tax and terms changes) to a fresh deployment, then writes the ledger: what the indexer
must show, computed by the simulator's own model of the contracts and checked against their views.

options:
  --seed S              seed of every choice (default ${DEFAULT_SEED}); same seed + same fresh chain
                        (same genesis timestamp) + --fast = the same transactions and ledger
  --invoices N          invoices to issue (default ${DEFAULT_INVOICES})
  --fast                mine blocks as fast as anvil goes (default)
  --rate R              instead, ~R invoices per second of wall time, on a chain that mines by itself
  --days D              simulated span in days of block time (default ${DEFAULT_DAYS})
  --blocks-per-day B    --fast: blocks per simulated day (default 8 up to 1000 invoices, 4 up to
                        3000, then max(1 a day, sqrt(invoices / 25) blocks): anvil hashes the
                        whole state at every block, so big runs go faster in few, full blocks)
  --deployment FILE     deployment file (default ${deploymentFileFor(DEFAULT_NETWORK)})
  --rpc URL             RPC of the chain (default: the deployment's rpcUrl)
  --ledger PATH         where to write the ledger (default ledgers/<network>-seed<S>.json,
                        <network> being the deployment file's name)
  --no-ledger           do not write the ledger
  --quiet               no progress line
  --help                this text`;

function parse() {
  try {
    return parseArgs({
      options: {
        seed: { type: "string" },
        invoices: { type: "string" },
        fast: { type: "boolean" },
        rate: { type: "string" },
        days: { type: "string" },
        "blocks-per-day": { type: "string" },
        deployment: { type: "string" },
        rpc: { type: "string" },
        ledger: { type: "string" },
        "no-ledger": { type: "boolean" },
        quiet: { type: "boolean" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split("\n")[0]} (see npm run simulate -- --help)`);
  }
}

const compact = (n: number) => (n >= 10_000 ? `${(n / 1_000).toFixed(1)}k` : String(Math.round(n)));

async function main() {
  const values = parse();
  if (values.help) {
    console.log(HELP);
    return;
  }
  const seed = integerFlag("seed", values.seed, DEFAULT_SEED, 0, 0xffffffff);
  const invoices = integerFlag("invoices", values.invoices, DEFAULT_INVOICES, 1, Number.MAX_SAFE_INTEGER);
  if (values.fast && values.rate !== undefined) throw new UsageError("--fast and --rate exclude each other");
  const rate = positiveFlag("rate", values.rate, undefined);
  const mode: SimulationMode = rate === undefined ? "fast" : { rate };
  const days = positiveFlag("days", values.days, DEFAULT_DAYS) as number;
  const blocksPerDay = positiveFlag("blocks-per-day", values["blocks-per-day"], undefined);
  if (blocksPerDay !== undefined && rate !== undefined) throw new UsageError("--blocks-per-day applies to --fast only");
  if (values.rpc !== undefined && !/^https?:\/\//.test(values.rpc))
    throw new UsageError(`--rpc ${values.rpc} must be an http(s) URL`);
  if (values.ledger !== undefined && values["no-ledger"])
    throw new UsageError("--ledger and --no-ledger exclude each other");
  const deploymentFile = values.deployment ?? deploymentFileFor(DEFAULT_NETWORK);
  const deployment = readDeployment(deploymentFile);
  const ledgerPath = values["no-ledger"] ? null : (values.ledger ?? defaultLedgerPath(deploymentFile, seed));

  const abort = new AbortController();
  process.on("SIGINT", () => {
    if (abort.signal.aborted) process.exit(130);
    console.error("\nstopping after this round (Ctrl-C again to quit at once)...");
    abort.abort();
  });
  process.on("SIGTERM", () => abort.abort());

  const interactive = process.stderr.isTTY && !values.quiet;
  let lastPrint = 0;
  const blocks = mode === "fast" ? Math.round(days * (blocksPerDay ?? autoFastBlocks(invoices, days) / days)) : 0;
  let started = false;
  const onProgress = (progress: SimulationProgress) => {
    if (!started) {
      started = true;
      console.log(
        `simulating ${invoices} invoices (seed ${seed}, ${days} days${blocks ? ` in ${Math.min(blocks, invoices) + 1} blocks` : ""}, ` +
          `${mode === "fast" ? "fast" : `${rate} invoices/s`}) on ${values.rpc ?? deployment.rpcUrl}`,
      );
    }
    if (values.quiet) return;
    const now = Date.now();
    if (now - lastPrint < (interactive ? 200 : 5_000) && progress.round < progress.rounds) return;
    lastPrint = now;
    const line = `round ${progress.round}/${progress.rounds}: ${progress.invoices} invoices, ${progress.transactions} transactions, ${progress.events} events`;
    process.stderr.write(interactive ? `\r${line}` : `${line}\n`);
  };

  const { ledger, stats } = await runSimulation({
    deployment,
    seed,
    invoices,
    mode,
    days,
    blocksPerDay,
    rpcUrl: values.rpc,
    ledgerPath,
    signal: abort.signal,
    onProgress,
  });
  if (interactive) process.stderr.write("\n");
  const { meta } = ledger;
  console.log(
    [
      `${stats.aborted ? "stopped after" : "done:"} ${stats.invoices} invoices, ${stats.transactions} transactions, ` +
        `${stats.events} events in ${stats.blocks} blocks (${meta.firstSimulatedBlock}..${meta.endBlock}) in ${stats.trafficSeconds.toFixed(2)} s`,
      `speed: ${compact(stats.invoicesPerSecond)} invoices/s, ${compact(stats.eventsPerSecond)} events/s ` +
        "(events: logs of StakeManager, InvoiceRegistry and SettlementEngine)",
      `verified: ${stats.checks} contract views agree with the simulator's mirror (${stats.verifySeconds.toFixed(2)} s)`,
      ledgerPath
        ? `ledger: ${path.relative(process.cwd(), path.resolve(ledgerPath))}`
        : "ledger: not written (--no-ledger)",
    ].join("\n"),
  );
}

runCli("simulate", main);
