import path from "node:path";
import type { Deployment } from "../../config/deployment.js";
import { ChainSession, type MinedRound, type SentTx } from "./chain.js";
import { SimulatorInputError } from "./errors.js";
import { EVENT_NAMES, EventEncoder } from "./events.js";
import type { Hex, Ledger } from "./ledger.js";
import { writeLedger } from "./ledger-file.js";
import { ProtocolMirror } from "./mirror.js";
import { buildPopulation } from "./population.js";
import { toQuantity } from "./rpc.js";
import { type Contracts, planFastRun, planRealtimeRun, type RunPlan, Traffic } from "./traffic.js";
import { ContractViews, verifyMirror } from "./verify.js";

export type SimulationMode = "fast" | { rate: number };

export type SimulateOptions = {
  deployment: Deployment;
  seed: number;
  invoices: number;
  /** "fast": the simulator mines blocks itself as fast as anvil goes; {rate}: ~rate invoices per second of wall time. */
  mode: SimulationMode;
  /** Where to write the ledger; undefined or null: not written. */
  ledgerPath?: string | null;
  /** Stops the run between rounds; the ledger then covers what was done. */
  signal?: AbortSignal;
  /** Simulated span of the run, in days of block time (default 30). */
  days?: number;
  /** Fast mode: blocks per simulated day (default: autoFastBlocks, few and full for big runs). */
  blocksPerDay?: number;
  /** Overrides the deployment's rpcUrl. */
  rpcUrl?: string;
  /** Called after each round. */
  onProgress?: (progress: SimulationProgress) => void;
};

export type SimulationProgress = {
  round: number;
  rounds: number;
  invoices: number;
  transactions: number;
  events: number;
};

export type SimulationStats = {
  invoices: number;
  transactions: number;
  /** Logs of the three indexed contracts emitted by the run. */
  events: number;
  blocks: number;
  /** Wall time of the traffic (setup included), without the final verification. */
  trafficSeconds: number;
  verifySeconds: number;
  /** Views compared at the end. */
  checks: number;
  invoicesPerSecond: number;
  eventsPerSecond: number;
  aborted: boolean;
};

export const DEFAULT_DAYS = 30;

/** Names of the events a deployment emits before any traffic (constructors). */
const DEPLOYMENT_EVENTS = new Set(["OwnershipTransferred", "CooldownUpdated", "TaxRateUpdated", "TreasuryUpdated"]);

/** Seconds allowed between a real-time round's first and last block when planning time-bound actions. */
const REALTIME_SLACK_SECONDS = 3_600;

/** `ledgers/<network>-seed<seed>.json`, the network being the deployment file's base name. */
export function defaultLedgerPath(deploymentFile: string, seed: number): string {
  const network = path.basename(deploymentFile, ".json");
  return path.join("ledgers", `${network}-seed${seed}.json`);
}

function checkOptions(options: SimulateOptions) {
  const { seed, invoices, mode, days = DEFAULT_DAYS } = options;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new SimulatorInputError(`seed ${seed} must be an integer in 0..4294967295`);
  }
  if (!Number.isSafeInteger(invoices) || invoices < 1)
    throw new SimulatorInputError(`invoices ${invoices} must be a positive integer`);
  if (mode !== "fast" && !(mode.rate > 0 && Number.isFinite(mode.rate))) {
    throw new SimulatorInputError(`rate ${mode.rate} must be a positive number of invoices per second`);
  }
  if (!(days > 0 && days <= 3_650)) throw new SimulatorInputError(`days ${days} must be in (0, 3650]`);
}

/** Chain id and code at every address: a deployment file from another chain is bad input. */
async function checkChain(session: ChainSession, deployment: Deployment) {
  const chainId = Number(await session.rpc.call<string>("eth_chainId"));
  if (chainId !== deployment.chainId) {
    throw new SimulatorInputError(
      `the chain at ${session.rpc.url} has id ${chainId}, the deployment says ${deployment.chainId}: pass the matching --deployment or --rpc`,
    );
  }
  const names = Object.keys(deployment.contracts) as (keyof Deployment["contracts"])[];
  const codes = await session.rpc.batch<string>(
    names.map((name) => ["eth_getCode", [deployment.contracts[name], "latest"]]),
  );
  names.forEach((name, index) => {
    if (codes[index] === "0x") {
      throw new SimulatorInputError(
        `no ${name} at ${deployment.contracts[name]} on ${session.rpc.url}: the deployment file is from another chain; restart \`npm run devnet\``,
      );
    }
  });
}

/** Counts the indexed contracts' events before the run, and refuses a chain that already has traffic. */
async function eventsBeforeRun(session: ChainSession, encoder: EventEncoder, deployment: Deployment, upTo: number) {
  const { stakeManager, registry, engine } = encoder.addresses;
  const logs = await session.rpc.call<{ address: string; topics: string[] }[]>("eth_getLogs", [
    {
      fromBlock: toQuantity(deployment.startBlock),
      toBlock: toQuantity(upTo),
      address: [stakeManager, registry, engine],
    },
  ]);
  const counts = new Map<string, number>();
  for (const log of logs) {
    const name = encoder.nameOf(log.address, log.topics[0]) ?? "unknown";
    if (!DEPLOYMENT_EVENTS.has(name)) {
      throw new SimulatorInputError(
        `the chain at ${session.rpc.url} already has traffic (a ${name} event): a ledger starts from a fresh deployment; restart \`npm run devnet\``,
      );
    }
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

/**
 * Runs the traffic of one seed against a fresh deployment and returns the ledger (the indexer's
 * oracle) and the run's speed. Same seed, same fresh chain (same genesis timestamp), fast mode:
 * the same transactions and the same ledger, byte for byte.
 */
export async function runSimulation(options: SimulateOptions): Promise<{ ledger: Ledger; stats: SimulationStats }> {
  checkOptions(options);
  const { deployment, seed, mode, signal } = options;
  const days = options.days ?? DEFAULT_DAYS;
  const lower = (address: string) => address.toLowerCase() as Hex;
  const contracts: Contracts = {
    token: lower(deployment.contracts.OpenToken),
    stakeManager: lower(deployment.contracts.StakeManager),
    registry: lower(deployment.contracts.InvoiceRegistry),
    engine: lower(deployment.contracts.SettlementEngine),
  };
  const encoder = new EventEncoder({
    stakeManager: contracts.stakeManager,
    registry: contracts.registry,
    engine: contracts.engine,
  });
  const session = new ChainSession(options.rpcUrl ?? deployment.rpcUrl, encoder);
  await checkChain(session, deployment);
  const views = new ContractViews(session.rpc, contracts);
  const parameters = await views.parameters();
  const latest = await session.latestBlock();
  const deploymentEvents = await eventsBeforeRun(session, encoder, deployment, latest.number);

  const mirror = new ProtocolMirror(encoder, parameters);
  const population = buildPopulation(seed);
  const fast = mode === "fast";
  const startTimestamp = latest.timestamp + (fast ? 60 : 0);
  const plan: RunPlan = fast
    ? planFastRun(options.invoices, days, startTimestamp, options.blocksPerDay)
    : planRealtimeRun(options.invoices, mode.rate, days, startTimestamp);
  const traffic = new Traffic(seed, population, mirror, contracts, parameters.owner, plan);
  await session.enable(traffic.senders());
  session.startAfter(latest);
  const firstBlock = latest.number + 1;

  const began = performance.now();
  let aborted = false;
  let blocks = 0;
  const progress = (round: number) =>
    options.onProgress?.({
      round,
      rounds: plan.ticks,
      invoices: traffic.issued,
      transactions: session.transactions,
      events: session.events,
    });

  if (fast) {
    const restoreMining = await session.takeOverMining();
    try {
      await session.mineRound(traffic.setupRound(), startTimestamp);
      blocks++;
      // Round k is sent and mined while round k - 1 is fetched and checked and round k + 1 planned:
      // planning never reads what mining returns, and blocks are fetched by number.
      let previous: { sent: SentTx[]; mined: Promise<number> } | null = null;
      for (let tick = 0; tick <= plan.ticks; tick++) {
        if (tick < plan.ticks && signal?.aborted) aborted = true;
        const last = tick === plan.ticks || aborted;
        const timestamp = traffic.timestampOf(tick);
        const txs = last
          ? []
          : traffic.round({ tick, earliest: timestamp, latest: timestamp, knownTimestamp: timestamp });
        let fetched: Promise<MinedRound> | null = null;
        if (previous) {
          const { sent } = previous;
          const blockNumber = await previous.mined;
          fetched = session.fetchMined(sent, blockNumber);
          fetched.catch(() => {});
        }
        previous = null;
        if (txs.length > 0) {
          const sent = await session.send(txs);
          const mined = session.mine(timestamp);
          mined.catch(() => {});
          previous = { sent, mined };
        }
        if (fetched) {
          session.verifyMined(await fetched);
          blocks++;
          progress(tick);
        }
        if (last) break;
      }
    } finally {
      await restoreMining();
    }
  } else {
    await session.sendAndWait(traffic.setupRound());
    const wallStart = Date.now();
    for (let tick = 0; tick < plan.ticks; tick++) {
      const wait = wallStart + tick * 1_000 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (signal?.aborted) {
        aborted = true;
        break;
      }
      const chainTime = (await session.latestBlock()).timestamp;
      const target = traffic.timestampOf(tick);
      if (target > chainTime) await session.rpc.call("evm_setNextBlockTimestamp", [target]);
      const earliest = Math.max(target, chainTime);
      const txs = traffic.round({ tick, earliest, latest: earliest + REALTIME_SLACK_SECONDS, knownTimestamp: null });
      if (txs.length > 0) await session.sendAndWait(txs);
      progress(tick + 1);
    }
    blocks = session.lastBlock - latest.number;
  }
  const trafficSeconds = (performance.now() - began) / 1_000;

  const verifyStart = performance.now();
  const { checks } = await verifyMirror(views, mirror);
  const verifySeconds = (performance.now() - verifyStart) / 1_000;

  const eventCounts: Record<string, number> = {};
  for (const name of [
    ...EVENT_NAMES.StakeManager,
    ...EVENT_NAMES.InvoiceRegistry,
    ...EVENT_NAMES.SettlementEngine,
  ].sort()) {
    eventCounts[name] = (deploymentEvents.get(name) ?? 0) + (session.eventCounts.get(name) ?? 0);
  }
  const endBlock = session.lastBlock;
  const ledger: Ledger = {
    meta: {
      seed,
      chainId: deployment.chainId,
      contracts: {
        OpenToken: contracts.token,
        StakeManager: contracts.stakeManager,
        InvoiceRegistry: contracts.registry,
        SettlementEngine: contracts.engine,
      },
      startBlock: deployment.startBlock,
      endBlock,
      treasury: mirror.treasury,
      taxRateBps: mirror.taxRateBps,
      firstSimulatedBlock: firstBlock,
      endTimestamp: session.lastTimestamp,
      invoicesRequested: options.invoices,
      mode: fast ? "fast" : "rate",
      complete: !aborted,
    },
    eventCounts,
    ...mirror.toLedgerSections(),
  };
  if (options.ledgerPath) writeLedger(options.ledgerPath, ledger);

  return {
    ledger,
    stats: {
      invoices: traffic.issued,
      transactions: session.transactions,
      events: session.events,
      blocks,
      trafficSeconds,
      verifySeconds,
      checks,
      invoicesPerSecond: traffic.issued / trafficSeconds,
      eventsPerSecond: session.events / trafficSeconds,
      aborted,
    },
  };
}

/** The simulator as a function, for tests, the demo and the benchmark: the ledger of one run. */
export async function simulate(options: SimulateOptions): Promise<Ledger> {
  return (await runSimulation(options)).ledger;
}
