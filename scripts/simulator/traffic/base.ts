/**
 * The first layer of `Traffic`: the constants of the simulated economy, the run's state (random
 * streams, agenda, participants), and how a round collects its transactions. The layers above add
 * what one kind of participant does (invoices, stakes, holders); `Traffic` adds the set-up, the
 * round's order and the owner's scripted scenario.
 */
import type { PlannedTx } from "../chain.js";
import type { Hex } from "../ledger.js";
import { type Effect, type ProtocolMirror, SECONDS_PER_DAY } from "../mirror.js";
import type { ModelSpec, Population } from "../population.js";
import { Rng } from "../prng.js";
import { EscrowQueue } from "./escrow-queue.js";
import type { Contracts, RoundWindow, RunPlan } from "./plan.js";

export const HOUR = 3_600;
export const DAY = SECONDS_PER_DAY;
export const OPEN = 10n ** 18n;

/** Gas limits: generous, so that no estimate is needed; unused gas costs nothing on a devnet. */
export const GAS = {
  issue: 1_500_000,
  settle: 1_200_000,
  simple: 400_000,
  bundleBase: 300_000,
  perBundleMember: 80_000,
  settleDueBase: 200_000,
  perDueInvoice: 500_000,
} as const;

/** Keeps a settleDue under the per-transaction gas cap of 2^24 (EIP-7825, active on anvil's default hardfork). */
export const MAX_SETTLE_DUE_BATCH = 25;
export const SLO_LATENCIES_MS = [250, 400, 600, 800, 1200, 2000, 3000, 5000];
export const BUNDLE_NAMES = [
  "Prime inference receivables",
  "Agent traffic pool",
  "Long-tail model notes",
  "Data-heavy calls",
];

/** The state of a run of traffic and the helpers every layer uses (see `Traffic`). */
export class TrafficBase {
  protected readonly rngInvoices: Rng;
  protected readonly rngLife: Rng;
  protected readonly rngStake: Rng;
  protected readonly rngOther: Rng;
  protected readonly invoicesPerTick: number[];
  protected readonly agenda = new Map<number, (() => void)[]>();
  protected readonly scenario = new Map<number, (() => void)[]>();
  protected readonly escrows = new EscrowQueue();
  protected readonly activeModels: ModelSpec[];
  protected readonly stakers: Hex[];
  protected readonly banned = new Set<Hex>();
  protected readonly earners: Hex[];
  protected readonly withdrawDelays = new Map<bigint, number>();
  protected readonly lastInvoiceOf = new Map<Hex, bigint>();
  protected readonly lastBreachOf = new Map<Hex, bigint>();
  protected txs: PlannedTx[] = [];
  protected window: RoundWindow = { tick: -1, earliest: 0, latest: 0, knownTimestamp: null };
  protected evidenceCount = 0;
  protected versionCount = 0;
  /** Invoices issued so far. */
  issued = 0;

  constructor(
    protected readonly seed: number,
    protected readonly population: Population,
    protected readonly mirror: ProtocolMirror,
    protected readonly contracts: Contracts,
    protected readonly owner: Hex,
    readonly plan: RunPlan,
  ) {
    const root = new Rng(seed).fork("traffic");
    this.rngInvoices = root.fork("invoices");
    this.rngLife = root.fork("lifecycle");
    this.rngStake = root.fork("stakes");
    this.rngOther = root.fork("other");
    this.invoicesPerTick = this.spreadInvoices();
    this.activeModels = [...population.models];
    this.stakers = [...population.providers, ...population.backers];
    this.earners = [
      ...population.dataProviders,
      ...population.optimizers,
      ...population.routers,
      ...population.providers,
      population.lateProvider,
      ...population.investors,
      mirror.treasury,
      population.nextTreasury,
    ];
  }

  /** Block timestamp of round `tick` in the plan. */
  timestampOf(tick: number): number {
    return this.plan.startTimestamp + Math.round((tick + 1) * this.plan.tickSeconds);
  }

  /** Every address that sends a transaction in the run. */
  senders(): Hex[] {
    const p = this.population;
    return [
      ...new Set<Hex>([
        this.owner,
        this.mirror.treasury,
        p.nextTreasury,
        ...p.callers,
        ...p.providers,
        p.lateProvider,
        ...p.backers,
        ...p.dataProviders,
        ...p.optimizers,
        ...p.routers,
        ...p.investors,
        p.keeper,
        p.market,
      ]),
    ];
  }

  /** More invoices during the UTC working day than at night. */
  protected spreadInvoices(): number[] {
    const { ticks, invoices } = this.plan;
    const weights = Array.from({ length: ticks }, (_, tick) => {
      const hour = (this.timestampOf(tick) % DAY) / HOUR;
      return 1 + 0.5 * Math.sin((2 * Math.PI * (hour - 8)) / 24);
    });
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    const counts: number[] = [];
    let cumulative = 0;
    let assigned = 0;
    for (const weight of weights) {
      cumulative += weight;
      const upTo = Math.round((invoices * cumulative) / total);
      counts.push(upTo - assigned);
      assigned = upTo;
    }
    return counts;
  }

  protected push(from: Hex, to: Hex, data: Hex, gas: number, label: string, effect: Effect) {
    this.txs.push({ from, to, data, gas, label, effect });
  }

  protected noEffect(): Effect {
    return { logs: [], onMined: [] };
  }

  /** Runs `action` in the first round at or after `time` (dropped if that is past the run). */
  protected at(time: number, action: () => void) {
    const tick = Math.max(this.window.tick, Math.ceil((time - this.plan.startTimestamp) / this.plan.tickSeconds) - 1);
    if (tick >= this.plan.ticks) return;
    let list = this.agenda.get(tick);
    if (!list) {
      list = [];
      this.agenda.set(tick, list);
    }
    list.push(action);
  }
}
