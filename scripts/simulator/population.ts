import { keccak256, parseEther, stringToHex } from "viem";
import type { Hex } from "./ledger.js";
import { Rng } from "./prng.js";

/** A dataset hash always comes with the same datanet and version, as on a real network. */
export type DatasetSpec = { datasetHash: Hex; datanetId: Hex; version: number };

export type ModelVersion = { modelVersion: Hex; trainingLogHash: Hex };

export type ModelSpec = {
  modelId: Hex;
  provider: Hex;
  pricePerKToken: bigint;
  sloLatencyMs: number;
  penaltyBps: number;
  /** Probability that a call misses the SLO. */
  breachRate: number;
  /** Relative popularity among callers. */
  weight: number;
  datasets: DatasetSpec[];
  dataProviders: Hex[];
  optimizers: Hex[];
  routers: Hex[];
  /** The version serving calls is the last one; terms updates may add one. */
  versions: ModelVersion[];
};

export type Agent = { agentId: Hex; caller: Hex };

/**
 * Everyone taking part in a run, derived from the seed alone. Addresses are not dev accounts: they
 * are hashes of the seed and a label, impersonated on anvil, so two seeds never share a participant.
 */
export type Population = {
  callers: Hex[];
  callerWeights: number[];
  agents: Agent[];
  /** Providers registered at the start, with their models. */
  providers: Hex[];
  models: ModelSpec[];
  /** A provider that joins mid-run with one model. */
  lateProvider: Hex;
  lateModel: ModelSpec;
  /** Stakers without models (backers of the network), who stake and unstake. */
  backers: Hex[];
  dataProviders: Hex[];
  optimizers: Hex[];
  routers: Hex[];
  /** Buyers of invoices and bundles. */
  investors: Hex[];
  /** Sends `settleDue` for scheduled invoices. */
  keeper: Hex;
  /** An operator approved for all by some holders (ERC-721 `setApprovalForAll`), like a marketplace. */
  market: Hex;
  /** Treasury the owner switches to late in the run. */
  nextTreasury: Hex;
  datasets: DatasetSpec[];
};

/** Deterministic address for a label: the last 20 bytes of keccak256("openledger-sim:<seed>:<label>"). */
export function simAddress(seed: number, label: string): Hex {
  return `0x${keccak256(stringToHex(`openledger-sim:${seed}:${label}`)).slice(-40)}` as Hex;
}

/** Deterministic bytes32 for a label. */
export function simHash(seed: number, label: string): Hex {
  return keccak256(stringToHex(`openledger-sim:${seed}:${label}`));
}

const SLO_LATENCIES_MS = [250, 400, 600, 800, 1200, 2000, 3000, 5000];

function zipfWeights(count: number, exponent: number): number[] {
  return Array.from({ length: count }, (_, i) => 1 / (i + 1) ** exponent);
}

function addresses(seed: number, label: string, count: number): Hex[] {
  return Array.from({ length: count }, (_, i) => simAddress(seed, `${label}:${i}`));
}

function pickDistinct<T>(rng: Rng, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const chosen: T[] = [];
  while (chosen.length < count && pool.length > 0) chosen.push(pool.splice(rng.int(0, pool.length - 1), 1)[0]);
  return chosen;
}

/** Model terms and economics drawn from the seed; price is in OPEN wei per 1000 tokens. */
function drawModel(
  rng: Rng,
  seed: number,
  label: string,
  provider: Hex,
  population: Pick<Population, "datasets" | "dataProviders" | "optimizers" | "routers">,
): ModelSpec {
  const priceMilliOpen = Math.max(0.05, rng.logNormal(2, 0.9));
  return {
    modelId: simHash(seed, `model:${label}`),
    provider,
    pricePerKToken: BigInt(Math.round(priceMilliOpen * 1e6)) * 10n ** 9n,
    sloLatencyMs: rng.pick(SLO_LATENCIES_MS),
    penaltyBps: rng.int(5, 40) * 100,
    breachRate: rng.uniform(0.03, 0.12),
    weight: 1,
    datasets: pickDistinct(rng, population.datasets, rng.int(3, 8)),
    dataProviders: pickDistinct(rng, population.dataProviders, rng.int(2, 5)),
    optimizers: pickDistinct(rng, population.optimizers, rng.int(1, 3)),
    routers: pickDistinct(rng, population.routers, rng.int(1, 2)),
    versions: [
      {
        modelVersion: simHash(seed, `model:${label}:version:0`),
        trainingLogHash: simHash(seed, `model:${label}:log:0`),
      },
    ],
  };
}

/**
 * Draws the population of a run: ~50 callers (some through AI agents), 10 providers with 10-30
 * models, contributors, investors, backers. The first model refunds the whole amount on an SLO
 * breach (penalty 10_000) and the second refunds nothing (penalty 0): edge cases worth indexing.
 */
export function buildPopulation(seed: number): Population {
  const rng = new Rng(seed).fork("population");
  const callers = addresses(seed, "caller", 48);
  const datanets = Array.from({ length: 8 }, (_, i) => simHash(seed, `datanet:${i}`));
  const datasets: DatasetSpec[] = Array.from({ length: 60 }, (_, i) => ({
    datasetHash: simHash(seed, `dataset:${i}`),
    datanetId: rng.pick(datanets),
    version: rng.int(1, 5),
  }));
  const base = {
    datasets,
    dataProviders: addresses(seed, "data-provider", 24),
    optimizers: addresses(seed, "optimizer", 8),
    routers: addresses(seed, "router", 5),
  };
  const providers = addresses(seed, "provider", 10);
  const modelCount = rng.int(10, 30);
  const models: ModelSpec[] = [];
  for (let i = 0; i < modelCount; i++) {
    const provider = i < providers.length ? providers[i] : rng.pick(providers);
    models.push(drawModel(rng, seed, String(i), provider, base));
  }
  models[0].penaltyBps = 10_000;
  models[1].penaltyBps = 0;
  const popularity = zipfWeights(modelCount, 0.8);
  const order = pickDistinct(rng, models, modelCount);
  order.forEach((model, rank) => {
    model.weight = popularity[rank];
  });
  const lateProvider = simAddress(seed, "provider:late");
  const lateModel = drawModel(rng, seed, "late", lateProvider, base);
  lateModel.weight = popularity[0];
  const agents: Agent[] = Array.from({ length: 16 }, (_, i) => ({
    agentId: simHash(seed, `agent:${i}`),
    caller: callers[rng.int(0, callers.length - 1)],
  }));
  return {
    callers,
    callerWeights: zipfWeights(callers.length, 0.6),
    agents,
    providers,
    models,
    lateProvider,
    lateModel,
    backers: addresses(seed, "backer", 3),
    ...base,
    investors: addresses(seed, "investor", 6),
    keeper: simAddress(seed, "keeper"),
    market: simAddress(seed, "market"),
    nextTreasury: simAddress(seed, "treasury:next"),
  };
}

/** OPEN minted to each paying or staking participant: enough that no run ever runs dry. */
export const OPEN_PER_PARTICIPANT = parseEther("1000000000000");
