import { calls, type ShareArgs } from "./calls.js";
import type { PlannedTx } from "./chain.js";
import type { Hex, LedgerDatasetUse } from "./ledger.js";
import { type Effect, type ProtocolMirror, SECONDS_PER_DAY, ZERO_BYTES32 } from "./mirror.js";
import { type ModelSpec, OPEN_PER_PARTICIPANT, type Population, simHash } from "./population.js";
import { Rng } from "./prng.js";

const HOUR = 3_600;
const DAY = SECONDS_PER_DAY;
const OPEN = 10n ** 18n;

/** Gas limits: generous, so that no estimate is needed; unused gas costs nothing on a devnet. */
const GAS = {
  issue: 1_500_000,
  settle: 1_200_000,
  simple: 400_000,
  bundleBase: 300_000,
  perBundleMember: 80_000,
  settleDueBase: 200_000,
  perDueInvoice: 500_000,
} as const;

/** Keeps a settleDue under the per-transaction gas cap of 2^24 (EIP-7825, active on anvil's default hardfork). */
const MAX_SETTLE_DUE_BATCH = 25;
const SLO_LATENCIES_MS = [250, 400, 600, 800, 1200, 2000, 3000, 5000];
const BUNDLE_NAMES = ["Prime inference receivables", "Agent traffic pool", "Long-tail model notes", "Data-heavy calls"];

export type Contracts = { token: Hex; stakeManager: Hex; registry: Hex; engine: Hex };

/**
 * The shape of a run: `ticks` rounds (one block each in fast mode, about one second each in real
 * time), the first at `startTimestamp + tickSeconds`, spreading `invoices` over the simulated span.
 */
export type RunPlan = { invoices: number; ticks: number; startTimestamp: number; tickSeconds: number };

/**
 * The block timestamp a round will get: exact when the simulator mines (fast mode), else bounds
 * (`earliest` is set on the chain before the round, `latest` allows for the blocks it takes).
 */
export type RoundWindow = { tick: number; earliest: number; latest: number; knownTimestamp: number | null };

/**
 * Blocks of a fast run when not given. Small runs get 8 blocks a day (4 up to 3,000 invoices), so
 * that intraday stories show. Big runs get few, full blocks: anvil recomputes the state root over
 * the whole state at every block (~1 µs per storage slot, ~9 slots per invoice), and its pool makes
 * each send cost more the fuller the next block is; √(invoices / 25) blocks balances the two (from
 * measurements: 10,000 invoices run fastest in ~30 blocks, 100,000 in ~60), but never under one a day.
 */
export function autoFastBlocks(invoices: number, days: number): number {
  if (invoices <= 1_000) return Math.round(days * 8);
  if (invoices <= 3_000) return Math.round(days * 4);
  return Math.max(Math.round(days), Math.round(Math.sqrt(invoices / 25)));
}

/** Fast mode: one block per round (never more rounds than invoices). */
export function planFastRun(invoices: number, days: number, startTimestamp: number, blocksPerDay?: number): RunPlan {
  const blocks = blocksPerDay === undefined ? autoFastBlocks(invoices, days) : Math.round(days * blocksPerDay);
  const ticks = Math.max(1, Math.min(invoices, blocks));
  return { invoices, ticks, startTimestamp, tickSeconds: (days * DAY) / ticks };
}

/** Real time: one round per second at `rate` invoices per second. */
export function planRealtimeRun(invoices: number, rate: number, days: number, startTimestamp: number): RunPlan {
  const ticks = Math.max(1, Math.ceil(invoices / rate));
  return { invoices, ticks, startTimestamp, tickSeconds: (days * DAY) / ticks };
}

/** A min-heap of scheduled settlements by settleAt (then invoice id), for the keeper. */
class EscrowQueue {
  private readonly items: { settleAt: number; id: bigint }[] = [];

  get size() {
    return this.items.length;
  }

  peek() {
    return this.items[0];
  }

  private before(a: number, b: number) {
    const x = this.items[a];
    const y = this.items[b];
    return x.settleAt < y.settleAt || (x.settleAt === y.settleAt && x.id < y.id);
  }

  private swap(a: number, b: number) {
    [this.items[a], this.items[b]] = [this.items[b], this.items[a]];
  }

  push(item: { settleAt: number; id: bigint }) {
    this.items.push(item);
    let i = this.items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop() {
    const top = this.items[0];
    const last = this.items.pop();
    if (this.items.length > 0 && last) {
      this.items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < this.items.length && this.before(left, smallest)) smallest = left;
        if (right < this.items.length && this.before(right, smallest)) smallest = right;
        if (smallest === i) break;
        this.swap(i, smallest);
        i = smallest;
      }
    }
    return top;
  }
}

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
export class Traffic {
  private readonly rngInvoices: Rng;
  private readonly rngLife: Rng;
  private readonly rngStake: Rng;
  private readonly rngOther: Rng;
  private readonly invoicesPerTick: number[];
  private readonly agenda = new Map<number, (() => void)[]>();
  private readonly scenario = new Map<number, (() => void)[]>();
  private readonly escrows = new EscrowQueue();
  private readonly activeModels: ModelSpec[];
  private readonly stakers: Hex[];
  private readonly banned = new Set<Hex>();
  private readonly earners: Hex[];
  private readonly withdrawDelays = new Map<bigint, number>();
  private readonly lastInvoiceOf = new Map<Hex, bigint>();
  private readonly lastBreachOf = new Map<Hex, bigint>();
  private txs: PlannedTx[] = [];
  private window: RoundWindow = { tick: -1, earliest: 0, latest: 0, knownTimestamp: null };
  private evidenceCount = 0;
  private versionCount = 0;
  /** Invoices issued so far. */
  issued = 0;

  constructor(
    private readonly seed: number,
    private readonly population: Population,
    private readonly mirror: ProtocolMirror,
    private readonly contracts: Contracts,
    private readonly owner: Hex,
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
    this.planScenario();
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
  private spreadInvoices(): number[] {
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

  private push(from: Hex, to: Hex, data: Hex, gas: number, label: string, effect: Effect) {
    this.txs.push({ from, to, data, gas, label, effect });
  }

  private noEffect(): Effect {
    return { logs: [], onMined: [] };
  }

  /** Runs `action` in the first round at or after `time` (dropped if that is past the run). */
  private at(time: number, action: () => void) {
    const tick = Math.max(this.window.tick, Math.ceil((time - this.plan.startTimestamp) / this.plan.tickSeconds) - 1);
    if (tick >= this.plan.ticks) return;
    let list = this.agenda.get(tick);
    if (!list) {
      list = [];
      this.agenda.set(tick, list);
    }
    list.push(action);
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

  private stake(staker: Hex, amount: bigint) {
    const effect = this.mirror.stake(staker, amount);
    this.push(staker, this.contracts.stakeManager, calls.stake(amount), GAS.simple, `stake by ${staker}`, effect);
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

  // ---------------------------------------------------------------- invoices

  private feeMultiplier(now: number): number {
    const rng = this.rngInvoices;
    const roll = rng.next();
    if (roll < 0.03) return rng.int(20_000, 50_000);
    if (roll < 0.05) return rng.int(5_000, 7_000);
    const hour = (now % DAY) / HOUR;
    const demand = 1 + 0.25 * Math.sin((2 * Math.PI * (hour - 9)) / 24);
    return Math.min(50_000, Math.max(5_000, Math.round(10_000 * demand * rng.logNormal(1, 0.15))));
  }

  private drawDatasets(model: ModelSpec): LedgerDatasetUse[] {
    const rng = this.rngInvoices;
    const count = 1 + rng.weightedIndex([40, 30, 20, 10]);
    const pool = [...model.datasets];
    const chosen: LedgerDatasetUse[] = [];
    while (chosen.length < count && pool.length > 0) {
      const dataset = pool.splice(rng.int(0, pool.length - 1), 1)[0];
      chosen.push({ datasetHash: dataset.datasetHash, datanetId: dataset.datanetId, version: dataset.version });
    }
    if (rng.chance(0.03)) chosen.push({ ...chosen[0] });
    return chosen;
  }

  private drawShares(model: ModelSpec): (ShareArgs & { role: 1 | 2 | 3 })[] {
    const rng = this.rngInvoices;
    const count = rng.weightedIndex([15, 30, 30, 15, 10]);
    if (count === 0) return [];
    const total = rng.chance(0.03) ? 10_000 : rng.int(500, 7_000);
    const weights = Array.from({ length: count }, () => rng.uniform(0.2, 1));
    const sum = weights.reduce((a, b) => a + b, 0);
    return weights.map((weight, index) => {
      const role = (index === 0 ? 1 : 1 + rng.weightedIndex([5, 3, 2])) as 1 | 2 | 3;
      const candidates = role === 1 ? model.dataProviders : role === 2 ? model.optimizers : model.routers;
      return { contributor: rng.pick(candidates), role, shareBps: Math.floor((total * weight) / sum) };
    });
  }

  private issueInvoice() {
    const rng = this.rngInvoices;
    const model = this.activeModels[rng.weightedIndex(this.activeModels.map((m) => m.weight))];
    const terms = this.mirror.models.get(model.modelId);
    if (!terms) throw new Error(`model ${model.modelId} is not registered`);
    let caller: Hex;
    let agentId = ZERO_BYTES32;
    if (rng.chance(0.6)) {
      const agent = rng.pick(this.population.agents);
      caller = agent.caller;
      agentId = agent.agentId;
    } else {
      caller = this.population.callers[rng.weightedIndex(this.population.callerWeights)];
    }
    const inputTokens = Math.min(Math.round(rng.pareto(120, 1.15)), 4_000_000);
    const outputTokens = Math.min(Math.max(1, Math.round(rng.logNormal(220, 1.1))), 500_000);
    const slo = terms.sloLatencyMs;
    const breach = rng.chance(model.breachRate);
    const latencyMs = breach
      ? slo + 1 + Math.round(slo * rng.uniform(0.05, 2))
      : Math.max(1, Math.round(slo * rng.uniform(0.15, 1)));
    const now = this.window.earliest;
    const feeMultiplierBps = this.feeMultiplier(now);
    const datasets = this.drawDatasets(model);
    const shares = this.drawShares(model);
    const version = model.versions[model.versions.length - 1];

    const life = this.rngLife;
    const fateRoll = life.next();
    const fate =
      fateRoll < 0.5
        ? "settle"
        : fateRoll < 0.72
          ? "schedule"
          : fateRoll < 0.78
            ? "void"
            : fateRoll < 0.86
              ? "overdue"
              : "open";
    let dueAt = 0;
    if (fate === "overdue") dueAt = now + life.int(2 * HOUR, 3 * DAY);
    else if (fate !== "open" && life.chance(0.5)) dueAt = now + life.int(1, 14) * DAY + life.int(0, DAY);

    const record = {
      caller,
      modelId: model.modelId,
      agentId,
      inputTokens,
      outputTokens,
      latencyMs,
      feeMultiplierBps,
      dueAt,
      modelVersion: version.modelVersion,
      trainingLogHash: version.trainingLogHash,
    };
    const { effect, invoiceId } = this.mirror.issue(model.provider, { ...record, shares, datasets });
    const gas = GAS.issue + 80_000 * shares.length + 40_000 * datasets.length;
    this.push(
      model.provider,
      this.contracts.registry,
      calls.issue(record, shares, datasets),
      gas,
      `issue invoice ${invoiceId}`,
      effect,
    );
    this.issued++;
    this.lastInvoiceOf.set(model.provider, invoiceId);
    if (breach) this.lastBreachOf.set(model.provider, invoiceId);

    if (fate === "settle") {
      const delay = life.chance(0.3) ? 0 : Math.min(Math.round(life.logNormal(2 * HOUR, 1.2)), 10 * DAY);
      this.at(now + delay, () => this.settle(invoiceId));
    } else if (fate === "schedule") {
      this.at(now + Math.round(life.logNormal(HOUR, 1)), () => this.schedule(invoiceId));
    } else if (fate === "void") {
      this.at(now + life.int(300, DAY), () => this.voidInvoice(invoiceId));
    }
    if (fate !== "void" && life.chance(0.15)) this.at(now + life.int(600, 12 * HOUR), () => this.sell(invoiceId));
  }

  private settle(invoiceId: bigint) {
    const invoice = this.mirror.invoice(invoiceId);
    if (invoice.status !== "issued") return;
    const effect = this.mirror.settle(invoice.caller, invoiceId);
    const gas = GAS.settle + 80_000 * invoice.shares.length;
    this.push(
      invoice.caller,
      this.contracts.engine,
      calls.settle(invoiceId),
      gas,
      `settle invoice ${invoiceId}`,
      effect,
    );
  }

  private schedule(invoiceId: bigint) {
    const invoice = this.mirror.invoice(invoiceId);
    if (invoice.status !== "issued") return;
    const life = this.rngLife;
    const wait = life.chance(0.1) ? life.int(20, 40) * DAY : life.int(HOUR, 4 * DAY);
    const settleAt = Math.max(this.window.latest, this.window.earliest + wait);
    const effect = this.mirror.schedule(invoice.caller, invoiceId, settleAt);
    const data = calls.schedule(invoiceId, settleAt);
    this.push(invoice.caller, this.contracts.engine, data, GAS.simple, `schedule invoice ${invoiceId}`, effect);
    this.escrows.push({ settleAt, id: invoiceId });
  }

  private voidInvoice(invoiceId: bigint) {
    const invoice = this.mirror.invoice(invoiceId);
    if (invoice.status !== "issued" || invoice.bundleId !== 0n) return;
    const reason = this.rngLife.int(1, 3);
    const effect = this.mirror.voidInvoice(invoice.provider, invoiceId, reason);
    const data = calls.voidInvoice(invoiceId, reason);
    this.push(invoice.provider, this.contracts.registry, data, GAS.simple, `void invoice ${invoiceId}`, effect);
  }

  /** A sale of the receivable: a direct transfer, a transfer by an approved buyer, or through the market operator. */
  private sell(invoiceId: bigint) {
    const invoice = this.mirror.invoice(invoiceId);
    if (invoice.bundleId !== 0n || invoice.status === "voided") return;
    const rng = this.rngOther;
    const seller = invoice.owner;
    const buyers = this.population.investors.filter((investor) => investor !== seller);
    const buyer = rng.pick(buyers);
    const registry = this.contracts.registry;
    const label = `sale of invoice ${invoiceId}`;
    const how = rng.next();
    if (how < 0.5) {
      const effect = this.mirror.transferInvoice(seller, seller, buyer, invoiceId);
      this.push(seller, registry, calls.transferFrom(seller, buyer, invoiceId), GAS.simple, label, effect);
    } else if (how < 0.8) {
      const approval = this.mirror.approveInvoice(seller, buyer, invoiceId);
      this.push(
        seller,
        registry,
        calls.approveInvoice(buyer, invoiceId),
        GAS.simple,
        `approval for ${label}`,
        approval,
      );
      const effect = this.mirror.transferInvoice(buyer, seller, buyer, invoiceId);
      this.push(buyer, registry, calls.transferFrom(seller, buyer, invoiceId), GAS.simple, label, effect);
    } else {
      const market = this.population.market;
      if (!this.mirror.isOperator(seller, market)) {
        const approval = this.mirror.setApprovalForAll(seller, market, true);
        this.push(
          seller,
          registry,
          calls.setApprovalForAll(market, true),
          GAS.simple,
          `market approval by ${seller}`,
          approval,
        );
      }
      const effect = this.mirror.transferInvoice(market, seller, buyer, invoiceId);
      this.push(market, registry, calls.transferFrom(seller, buyer, invoiceId), GAS.simple, label, effect);
    }
    if (rng.chance(0.2)) this.at(this.window.earliest + rng.int(DAY, 5 * DAY), () => this.sell(invoiceId));
  }

  /** settleDue for every escrow due by the round, plus one not yet due (skipped by the contract). */
  private keeper() {
    const due: bigint[] = [];
    while (this.escrows.size > 0 && this.escrows.peek().settleAt <= this.window.earliest) {
      const { id } = this.escrows.pop();
      if (this.mirror.invoice(id).status === "scheduled") due.push(id);
    }
    if (due.length === 0) return;
    const notYetDue =
      this.escrows.size > 0 && this.escrows.peek().settleAt > this.window.latest ? this.escrows.peek().id : null;
    for (let start = 0; start < due.length; start += MAX_SETTLE_DUE_BATCH) {
      const ids = due.slice(start, start + MAX_SETTLE_DUE_BATCH);
      if (start === 0 && notYetDue !== null) ids.push(notYetDue);
      const effect = this.mirror.settleDue(ids, this.window.earliest, this.window.latest);
      const gas = GAS.settleDueBase + GAS.perDueInvoice * ids.length;
      const label = `settleDue of ${ids.length} invoices from ${ids[0]}`;
      this.push(this.population.keeper, this.contracts.engine, calls.settleDue(ids), gas, label, effect);
    }
  }

  // ------------------------------------------------------------------ stakes

  private requestUnstake(staker: Hex, amount: bigint) {
    if (amount <= 0n) return;
    const { effect, requestId } = this.mirror.requestUnstake(staker, amount, this.window.knownTimestamp);
    const data = calls.requestUnstake(amount);
    this.push(staker, this.contracts.stakeManager, data, GAS.simple, `unstake request by ${staker}`, effect);
    this.withdrawDelays.set(requestId, this.rngStake.int(0, 2 * DAY));
  }

  private governanceSlash(staker: Hex, invoiceId: bigint, reason: number, amount: bigint) {
    const evidence = simHash(this.seed, `evidence:${this.evidenceCount++}`);
    const effect = this.mirror.slash(staker, invoiceId, reason, amount, evidence);
    const data = calls.slash(staker, invoiceId, reason, amount, evidence);
    this.push(
      this.owner,
      this.contracts.stakeManager,
      data,
      GAS.simple,
      `slash of ${staker} for reason ${reason}`,
      effect,
    );
  }

  /** Top-ups, unstake requests, withdrawals after the cooldown, and the owner's occasional slash. */
  private stakeActivity() {
    const rng = this.rngStake;
    const tickShare = this.plan.tickSeconds;
    for (const staker of this.stakers) {
      if (this.banned.has(staker)) continue;
      if (rng.chance(tickShare / (6 * DAY))) {
        this.stake(staker, BigInt(Math.max(1, Math.round(rng.logNormal(300, 0.8)))) * OPEN);
      } else if (rng.chance(tickShare / (9 * DAY))) {
        const stake = this.mirror.account(staker).stake;
        this.requestUnstake(staker, (stake * BigInt(rng.int(5, 30))) / 100n);
      }
    }
    for (const request of [...this.mirror.openRequests]) {
      if (request.unlockAt === null) continue;
      if (request.unlockAt + (this.withdrawDelays.get(request.id) ?? 0) > this.window.earliest) continue;
      const effect = this.mirror.unstake(request.staker, request.id);
      const data = calls.unstake(request.id);
      this.push(
        request.staker,
        this.contracts.stakeManager,
        data,
        GAS.simple,
        `withdrawal of request ${request.id}`,
        effect,
      );
    }
    if (rng.chance(tickShare / (4 * DAY))) {
      const staker = rng.pick([...this.stakers, ...this.banned]);
      const stake = this.mirror.account(staker).stake;
      const amount = stake > 0n ? (stake * BigInt(rng.int(1, 5))) / 100n + 1n : 10n * OPEN;
      const invoiceId = rng.chance(0.5) ? (this.lastInvoiceOf.get(staker) ?? 0n) : 0n;
      this.governanceSlash(staker, invoiceId, rng.int(1, 5), amount);
    }
  }

  // ------------------------------------------------------------ claims, bundles

  private claims() {
    const rng = this.rngOther;
    const expected = (this.earners.length * this.plan.tickSeconds) / (3 * DAY);
    const count = Math.floor(expected) + (rng.chance(expected % 1) ? 1 : 0);
    const claimed = new Set<Hex>();
    for (let i = 0; i < count; i++) {
      const account = rng.pick(this.earners);
      if (claimed.has(account) || this.mirror.account(account).claimable === 0n) continue;
      claimed.add(account);
      const effect = this.mirror.claim(account);
      this.push(account, this.contracts.engine, calls.claim(), GAS.simple, `claim by ${account}`, effect);
    }
  }

  private bundling() {
    const every = Math.max(1, Math.round((12 * HOUR) / this.plan.tickSeconds));
    if (this.window.tick % every !== every - 1) return;
    const rng = this.rngOther;
    const providers = this.activeModels.map((model) => model.provider);
    const holder = rng.chance(0.7) ? rng.pick(providers) : rng.pick(this.population.investors);
    const owned = this.mirror.recentlyOwned.get(holder) ?? [];
    const wanted = rng.int(2, 8);
    const members: bigint[] = [];
    for (let i = owned.length - 1; i >= 0 && members.length < wanted; i--) {
      const invoice = this.mirror.invoices.get(owned[i]);
      if (!invoice || members.includes(invoice.id) || invoice.owner !== holder || invoice.bundleId !== 0n) continue;
      if (invoice.status === "issued" || invoice.status === "scheduled") members.push(invoice.id);
    }
    if (members.length < 2) return;
    members.reverse();
    const name = `${rng.pick(BUNDLE_NAMES)} #${this.mirror.lastBundleId + 1n}`;
    const { effect, bundleId } = this.mirror.createBundle(holder, name, members);
    const gas = GAS.bundleBase + GAS.perBundleMember * members.length;
    this.push(
      holder,
      this.contracts.registry,
      calls.createBundle(name, members),
      gas,
      `create bundle ${bundleId}`,
      effect,
    );
    const now = this.window.earliest;
    if (rng.chance(0.6)) this.at(now + rng.int(2 * HOUR, 3 * DAY), () => this.transferBundle(bundleId));
    if (rng.chance(0.25)) this.at(now + rng.int(3 * DAY, 6 * DAY), () => this.transferBundle(bundleId));
    if (rng.chance(0.5)) this.at(now + rng.int(4 * DAY, 12 * DAY), () => this.dissolveBundle(bundleId));
  }

  private transferBundle(bundleId: bigint) {
    const bundle = this.mirror.bundles.get(bundleId);
    if (!bundle?.active) return;
    const from = bundle.owner;
    const to = this.rngOther.pick(this.population.investors.filter((investor) => investor !== from));
    const effect = this.mirror.transferBundle(from, bundleId, to);
    const gas = GAS.bundleBase + GAS.perBundleMember * bundle.members.length;
    this.push(
      from,
      this.contracts.registry,
      calls.transferBundle(bundleId, to),
      gas,
      `transfer of bundle ${bundleId}`,
      effect,
    );
  }

  private dissolveBundle(bundleId: bigint) {
    const bundle = this.mirror.bundles.get(bundleId);
    if (!bundle?.active) return;
    const effect = this.mirror.dissolveBundle(bundle.owner, bundleId);
    const gas = GAS.bundleBase + GAS.perBundleMember * bundle.members.length;
    this.push(
      bundle.owner,
      this.contracts.registry,
      calls.dissolveBundle(bundleId),
      gas,
      `dissolve bundle ${bundleId}`,
      effect,
    );
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
