/**
 * The InvoiceRegistry rules of `ProtocolMirror` for models and invoices: registration and terms,
 * issuance (with its measurement, provenance, datasets and shares), voiding, ERC-721 transfers
 * and approvals.
 */
import type { Hex } from "../ledger.js";
import { StakesMirror } from "./stakes.js";
import { add, BPS, dayOf, type Effect, type InvoiceState, type IssueArgs, newEffect, ZERO_ADDRESS } from "./types.js";

/** `StakesMirror` plus the InvoiceRegistry's rules for models and invoices. */
export class InvoicesMirror extends StakesMirror {
  // ------------------------------------------------------------------ models

  registerModel(provider: Hex, modelId: Hex, price: bigint, sloLatencyMs: number, penaltyBps: number): Effect {
    if (this.models.has(modelId)) throw this.bug(`model ${modelId} registered twice`);
    if (penaltyBps > 10_000) throw this.bug(`penalty ${penaltyBps}`);
    if (this.account(provider).stake < this.minProviderStake) throw this.bug(`${provider} stakes too little`);
    this.models.set(modelId, {
      provider,
      pricePerKToken: price,
      sloLatencyMs,
      penaltyBps,
      invoices: 0,
      tokens: 0,
      gross: 0n,
      sloMet: 0,
    });
    const effect = newEffect();
    add(effect, this.events.modelRegistered(modelId, provider, price, sloLatencyMs, penaltyBps));
    return effect;
  }

  updateModelTerms(provider: Hex, modelId: Hex, price: bigint, sloLatencyMs: number, penaltyBps: number): Effect {
    const model = this.models.get(modelId);
    if (!model || model.provider !== provider || penaltyBps > 10_000) throw this.bug(`terms of ${modelId}`);
    model.pricePerKToken = price;
    model.sloLatencyMs = sloLatencyMs;
    model.penaltyBps = penaltyBps;
    const effect = newEffect();
    add(effect, this.events.modelTermsUpdated(modelId, price, sloLatencyMs, penaltyBps));
    return effect;
  }

  // ---------------------------------------------------------------- invoices

  issue(provider: Hex, args: IssueArgs): { effect: Effect; invoiceId: bigint } {
    const model = this.models.get(args.modelId);
    if (!model || model.provider !== provider) throw this.bug(`issue on ${args.modelId} by ${provider}`);
    if (args.feeMultiplierBps < 5_000 || args.feeMultiplierBps > 50_000) throw this.bug("fee multiplier");
    let totalBps = 0;
    for (const share of args.shares) totalBps += share.shareBps;
    if (totalBps > 10_000) throw this.bug(`shares of ${totalBps} bps`);

    const invoiceId = ++this.lastInvoiceId;
    const tokens = args.inputTokens + args.outputTokens;
    const amount = (((BigInt(tokens) * model.pricePerKToken) / 1000n) * BigInt(args.feeMultiplierBps)) / BPS;
    const sloMet = args.latencyMs <= model.sloLatencyMs;
    const providerStake = this.account(provider).stake;
    const invoice: InvoiceState = {
      id: invoiceId,
      caller: args.caller,
      modelId: args.modelId,
      agentId: args.agentId,
      provider,
      owner: provider,
      status: "issued",
      amount,
      feeMultiplierBps: args.feeMultiplierBps,
      taxRateBps: this.taxRateBps,
      providerStake,
      dueAt: args.dueAt,
      inputTokens: args.inputTokens,
      outputTokens: args.outputTokens,
      latencyMs: args.latencyMs,
      sloLatencyMs: model.sloLatencyMs,
      penaltyBps: model.penaltyBps,
      sloMet,
      modelVersion: args.modelVersion,
      trainingLogHash: args.trainingLogHash,
      datasets: args.datasets,
      attributed: null,
      shares: args.shares.map((share) => ({ ...share, credited: null })),
      holderCredited: null,
      payer: null,
      settleAt: null,
      paid: null,
      tax: null,
      refund: null,
      distributed: null,
      bundleId: 0n,
      issuedAt: 0,
      issuedBlock: 0,
      settledAt: null,
      voidReason: null,
      transferCount: 0,
      approved: null,
      escrow: null,
    };
    this.invoices.set(invoiceId, invoice);
    this.noteOwner(provider, invoiceId);
    this.account(args.caller).invoicesAsCaller++;
    this.account(provider).invoicesAsProvider++;
    for (const contributor of new Set(args.shares.map((share) => share.contributor))) {
      this.account(contributor).invoicesAsContributor++;
    }
    model.invoices++;
    model.tokens += tokens;
    model.gross += amount;
    if (sloMet) model.sloMet++;
    // An invoice counts once per dataset and once per datanet it lists.
    const datasetsListed = new Set<Hex>();
    const datanetsListed = new Set<Hex>();
    for (const use of args.datasets) {
      let dataset = this.datasets.get(use.datasetHash);
      if (!dataset) {
        dataset = { datanetId: use.datanetId, version: use.version, invoices: 0, tokens: 0, attributed: 0n };
        this.datasets.set(use.datasetHash, dataset);
        this.datanet(use.datanetId).datasetCount++;
      }
      dataset.datanetId = use.datanetId;
      dataset.version = use.version;
      if (!datanetsListed.has(use.datanetId)) {
        datanetsListed.add(use.datanetId);
        const datanet = this.datanet(use.datanetId);
        datanet.invoices++;
        datanet.tokens += tokens;
      }
      if (datasetsListed.has(use.datasetHash)) continue;
      datasetsListed.add(use.datasetHash);
      dataset.invoices++;
      dataset.tokens += tokens;
    }

    const effect = newEffect();
    add(effect, this.events.transfer(ZERO_ADDRESS, provider, invoiceId));
    add(
      effect,
      this.events.invoiceIssued({
        invoiceId,
        caller: args.caller,
        modelId: args.modelId,
        provider,
        agentId: args.agentId,
        amount,
        feeMultiplierBps: args.feeMultiplierBps,
        taxRateBps: invoice.taxRateBps,
        providerStake,
        dueAt: args.dueAt,
      }),
    );
    add(
      effect,
      this.events.serviceMeasured({
        invoiceId,
        inputTokens: args.inputTokens,
        outputTokens: args.outputTokens,
        latencyMs: args.latencyMs,
        sloLatencyMs: model.sloLatencyMs,
        penaltyBps: model.penaltyBps,
        sloMet,
      }),
    );
    add(effect, this.events.provenanceRecorded(invoiceId, args.modelVersion, args.trainingLogHash));
    for (const use of args.datasets) {
      add(effect, this.events.datasetUsed(invoiceId, use.datasetHash, use.datanetId, use.version));
    }
    for (const share of args.shares) {
      add(effect, this.events.shareAssigned(invoiceId, share.contributor, share.role, share.shareBps));
    }
    effect.onMined.push((context) => {
      invoice.issuedAt = context.timestamp;
      invoice.issuedBlock = context.blockNumber;
      const day = dayOf(context.timestamp);
      const modelDay = this.modelDay(args.modelId, day);
      modelDay.invoices++;
      modelDay.inputTokens += args.inputTokens;
      modelDay.outputTokens += args.outputTokens;
      modelDay.gross += amount;
      if (sloMet) modelDay.sloMet++;
      modelDay.latencySum += args.latencyMs;
      modelDay.latencyMax = Math.max(modelDay.latencyMax, args.latencyMs);
      const protocolDay = this.protocolDay(day);
      protocolDay.invoices++;
      protocolDay.gross += amount;
      for (const hash of datasetsListed) {
        const datasetDay = this.attributionDay(this.datasetDaily, hash, day);
        datasetDay.invoices++;
        datasetDay.tokens += tokens;
      }
      for (const id of datanetsListed) {
        const datanetDay = this.attributionDay(this.datanetDaily, id, day);
        datanetDay.invoices++;
        datanetDay.tokens += tokens;
      }
    });
    return { effect, invoiceId };
  }

  voidInvoice(provider: Hex, invoiceId: bigint, reason: number): Effect {
    const invoice = this.invoice(invoiceId);
    if (invoice.provider !== provider || invoice.status !== "issued" || invoice.bundleId !== 0n) {
      throw this.bug(`void of invoice ${invoiceId}`);
    }
    if (reason < 1 || reason > 3) throw this.bug(`void reason ${reason}`);
    invoice.status = "voided";
    invoice.voidReason = reason;
    const effect = newEffect();
    add(effect, this.events.invoiceVoided(invoiceId, reason));
    return effect;
  }

  /** ERC-721 transferFrom sent by the owner, the approved account or an operator. */
  transferInvoice(sender: Hex, from: Hex, to: Hex, invoiceId: bigint): Effect {
    const invoice = this.invoice(invoiceId);
    const authorized = sender === from || invoice.approved === sender || this.isOperator(from, sender);
    if (invoice.owner !== from || invoice.bundleId !== 0n || !authorized || to === ZERO_ADDRESS) {
      throw this.bug(`transfer of invoice ${invoiceId} by ${sender}`);
    }
    const effect = newEffect();
    this.moveInvoice(effect, invoice, to);
    return effect;
  }

  protected moveInvoice(effect: Effect, invoice: InvoiceState, to: Hex) {
    add(effect, this.events.transfer(invoice.owner, to, invoice.id));
    invoice.owner = to;
    invoice.approved = null;
    invoice.transferCount++;
    this.account(to);
    this.noteOwner(to, invoice.id);
  }

  private noteOwner(owner: Hex, invoiceId: bigint) {
    let owned = this.recentlyOwned.get(owner);
    if (!owned) {
      owned = [];
      this.recentlyOwned.set(owner, owned);
    }
    owned.push(invoiceId);
    if (owned.length > 256) owned.splice(0, 128);
  }

  approveInvoice(owner: Hex, approved: Hex, invoiceId: bigint): Effect {
    const invoice = this.invoice(invoiceId);
    if (invoice.owner !== owner) throw this.bug(`approval of invoice ${invoiceId} by ${owner}`);
    invoice.approved = approved;
    const effect = newEffect();
    add(effect, this.events.approval(owner, approved, invoiceId));
    return effect;
  }

  setApprovalForAll(owner: Hex, operator: Hex, approved: boolean): Effect {
    if (approved) this.operatorApprovals.add(`${owner}:${operator}`);
    else this.operatorApprovals.delete(`${owner}:${operator}`);
    const effect = newEffect();
    add(effect, this.events.approvalForAll(owner, operator, approved));
    return effect;
  }
}
