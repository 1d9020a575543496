/**
 * What callers, providers, investors and the keeper do with invoices in `Traffic`: issue them (with
 * heavy-tailed tokens, datasets and shares, and a fate drawn at issuance), settle, schedule, void
 * and sell them, and settle the due escrows.
 */
import { calls, type ShareArgs } from "../calls.js";
import type { Hex, LedgerDatasetUse } from "../ledger.js";
import { ZERO_BYTES32 } from "../mirror.js";
import type { ModelSpec } from "../population.js";
import { DAY, GAS, HOUR, MAX_SETTLE_DUE_BATCH, TrafficBase } from "./base.js";

/** `TrafficBase` plus the invoices' lifecycle. */
export class InvoiceTraffic extends TrafficBase {
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

  protected issueInvoice() {
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
  protected keeper() {
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
}
