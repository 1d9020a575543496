/**
 * `Traffic`, what the simulated participants do, in layers (folder `traffic/`), each adding what
 * one kind of participant does to the one below:
 *
 *   plan.ts          the shape of a run (rounds, block times), pure
 *   escrow-queue.ts  the keeper's queue of scheduled settlements
 *   base.ts          TrafficBase: constants, the run's state, the round's agenda
 *   invoices.ts      InvoiceTraffic: issuance, settlement, scheduling, voids, sales, the keeper
 *   stakes.ts        StakeTraffic: stakes, unstakes, withdrawals, the owner's random slashes
 *   holders.ts       HolderTraffic: claims and bundles
 *   this file        Traffic: the set-up round, the order of a round, the owner's scenario
 */
import { calls } from "./calls.js";
import type { PlannedTx } from "./chain.js";
import type { Hex } from "./ledger.js";
import type { ProtocolMirror } from "./mirror.js";
import type { ModelSpec, Population } from "./population.js";
import { OPEN_PER_PARTICIPANT, simHash } from "./population.js";
import { DAY, GAS, OPEN, SLO_LATENCIES_MS } from "./traffic/base.js";
import { HolderTraffic } from "./traffic/holders.js";
import type { Contracts, RoundWindow, RunPlan } from "./traffic/plan.js";

export {
  autoFastBlocks,
  type Contracts,
  planFastRun,
  planRealtimeRun,
  type RoundWindow,
  type RunPlan,
} from "./traffic/plan.js";

/**
 * Decides, round by round, what every participant does, and asks the mirror for each
 * transaction's effect. All choices come from the seed and the mirror's state, never from the
 * chain's answers, so a fast run is reproducible transaction for transaction.
 *
 * The story: providers stake and register models; callers (directly or through AI agents) are
 * billed per inference with heavy-tailed token counts; about half the invoices are settled in
 * real time, a fifth scheduled and settled by a keeper, some voided, some left overdue or open;
 * receivables are sold and bundled; contributors claim; stakers top up, unstake and withdraw; the
 * owner slashes for every reason, changes the tax rate, the cooldown and the treasury, and
 * providers change their terms.
 */
export class Traffic extends HolderTraffic {
  constructor(
    seed: number,
    population: Population,
    mirror: ProtocolMirror,
    contracts: Contracts,
    owner: Hex,
    plan: RunPlan,
  ) {
    super(seed, population, mirror, contracts, owner, plan);
    this.planScenario();
  }

  // ------------------------------------------------------------------- setup

  /** Mints and approvals, initial stakes, model registrations: one block, in dependency order. */
  setupRound(): PlannedTx[] {
    this.txs = [];
    const p = this.population;
    const { token, stakeManager, engine } = this.contracts;
    const stakers = [...p.providers, p.lateProvider, ...p.backers];
    for (const account of [...p.callers, ...stakers]) {
      this.push(
        this.owner,
        token,
        calls.mint(account, OPEN_PER_PARTICIPANT),
        GAS.simple,
        `mint to ${account}`,
        this.noEffect(),
      );
    }
    for (const caller of p.callers) {
      this.push(caller, token, calls.approveMax(engine), GAS.simple, `approve engine by ${caller}`, this.noEffect());
    }
    for (const staker of stakers) {
      this.push(
        staker,
        token,
        calls.approveMax(stakeManager),
        GAS.simple,
        `approve stakes by ${staker}`,
        this.noEffect(),
      );
    }
    const rng = this.rngStake;
    for (const provider of p.providers) {
      const amount = (this.mirror.minProviderStake * BigInt(rng.int(150, 500))) / 100n;
      this.stake(provider, amount);
    }
    for (const backer of p.backers) this.stake(backer, BigInt(rng.int(2_000, 8_000)) * OPEN);
    for (const model of p.models) this.registerModel(model);
    return this.txs;
  }

  private registerModel(model: ModelSpec) {
    const effect = this.mirror.registerModel(
      model.provider,
      model.modelId,
      model.pricePerKToken,
      model.sloLatencyMs,
      model.penaltyBps,
    );
    const data = calls.registerModel(model.modelId, model.pricePerKToken, model.sloLatencyMs, model.penaltyBps);
    this.push(model.provider, this.contracts.registry, data, GAS.simple, `register model ${model.modelId}`, effect);
  }

  // ------------------------------------------------------------------ rounds

  /** The transactions of round `window.tick`, in the order the chain must execute them. */
  round(window: RoundWindow): PlannedTx[] {
    this.window = window;
    this.txs = [];
    for (const action of this.scenario.get(window.tick) ?? []) action();
    const count = this.invoicesPerTick[window.tick] ?? 0;
    for (let i = 0; i < count && this.issued < this.plan.invoices; i++) this.issueInvoice();
    const actions = this.agenda.get(window.tick);
    if (actions) {
      for (let i = 0; i < actions.length; i++) actions[i]();
      this.agenda.delete(window.tick);
    }
    this.keeper();
    this.stakeActivity();
    this.claims();
    this.bundling();
    return this.txs;
  }

  // --------------------------------------------------------------- governance

  private updateTerms() {
    const rng = this.rngOther;
    const model = rng.pick(this.activeModels);
    const terms = this.mirror.models.get(model.modelId);
    if (!terms) return;
    const price = (terms.pricePerKToken * BigInt(rng.int(60, 160))) / 100n + 10n ** 9n;
    const slo = rng.chance(0.5) ? rng.pick(SLO_LATENCIES_MS) : terms.sloLatencyMs;
    const special = terms.penaltyBps === 0 || terms.penaltyBps === 10_000;
    const penalty = special ? terms.penaltyBps : rng.int(5, 40) * 100;
    const effect = this.mirror.updateModelTerms(model.provider, model.modelId, price, slo, penalty);
    const data = calls.updateModelTerms(model.modelId, price, slo, penalty);
    this.push(model.provider, this.contracts.registry, data, GAS.simple, `terms of model ${model.modelId}`, effect);
    const n = this.versionCount++;
    model.versions.push({
      modelVersion: simHash(this.seed, `model:${model.modelId}:version:${n + 1}`),
      trainingLogHash: simHash(this.seed, `model:${model.modelId}:log:${n + 1}`),
    });
  }

  /**
   * Events placed at fixed points of the run so that even a short run has all of them: a provider
   * joining, slashes of every reason (one reaching into pending unstake requests, one taking all a
   * provider has, one finding nothing left), tax-rate, cooldown and treasury changes, new terms.
   */
  private planScenario() {
    const p = this.population;
    const mirror = this.mirror;
    const when = (fraction: number, action: () => void) => {
      const tick = Math.min(this.plan.ticks - 1, Math.floor(fraction * this.plan.ticks));
      let list = this.scenario.get(tick);
      if (!list) {
        list = [];
        this.scenario.set(tick, list);
      }
      list.push(action);
    };
    const stakeOf = (staker: Hex) => mirror.account(staker).stake;
    const [, , poisoner, fraudster, laggard] = p.providers;
    const backer = p.backers[0];

    when(0.1, () => {
      this.stake(p.lateProvider, mirror.minProviderStake * 2n);
      this.registerModel(p.lateModel);
      this.activeModels.push(p.lateModel);
      this.stakers.push(p.lateProvider);
    });
    when(0.12, () => {
      const provider = p.providers[0];
      this.governanceSlash(provider, this.lastInvoiceOf.get(provider) ?? 0n, 2, (stakeOf(provider) * 3n) / 100n + 1n);
    });
    when(0.2, () => this.requestUnstake(backer, (stakeOf(backer) * 80n) / 100n));
    when(0.23, () => {
      const amount = stakeOf(backer) + mirror.account(backer).pendingUnstake / 2n + 1n;
      this.governanceSlash(backer, 0n, 5, amount);
    });
    when(0.3, () => this.updateTerms());
    when(0.35, () => this.setTaxRate(750));
    when(0.4, () => this.governanceSlash(poisoner, 0n, 3, stakeOf(poisoner) / 10n + 1n));
    when(0.45, () => {
      this.requestUnstake(fraudster, (stakeOf(fraudster) * 30n) / 100n);
      this.updateTerms();
    });
    when(0.5, () => {
      const everything = stakeOf(fraudster) + mirror.account(fraudster).pendingUnstake + OPEN;
      this.governanceSlash(fraudster, this.lastInvoiceOf.get(fraudster) ?? 0n, 4, everything);
      this.banned.add(fraudster);
    });
    when(0.53, () => this.governanceSlash(fraudster, 0n, 2, 100n * OPEN));
    when(0.6, () => {
      const effect = mirror.setCooldown(3 * DAY);
      this.push(
        this.owner,
        this.contracts.stakeManager,
        calls.setCooldown(3 * DAY),
        GAS.simple,
        "set cooldown",
        effect,
      );
      this.updateTerms();
    });
    when(0.65, () => {
      const invoiceId = this.lastBreachOf.get(laggard) ?? this.lastInvoiceOf.get(laggard) ?? 0n;
      this.governanceSlash(laggard, invoiceId, 1, OPEN);
    });
    when(0.7, () => this.setTaxRate(250));
    when(0.75, () => this.updateTerms());
    when(0.8, () => {
      const effect = mirror.setTreasury(p.nextTreasury);
      const data = calls.setTreasury(p.nextTreasury);
      this.push(this.owner, this.contracts.engine, data, GAS.simple, "set treasury", effect);
    });
    when(0.9, () => {
      this.updateTerms();
      const provider = this.rngOther.pick(p.providers.filter((candidate) => !this.banned.has(candidate)));
      this.governanceSlash(provider, 0n, 5, (stakeOf(provider) * 2n) / 100n + 1n);
    });
  }

  private setTaxRate(bps: number) {
    const effect = this.mirror.setTaxRate(bps);
    this.push(this.owner, this.contracts.engine, calls.setTaxRate(bps), GAS.simple, `set tax rate ${bps}`, effect);
  }
}
