/**
 * The bundle rules of the InvoiceRegistry and the SettlementEngine's rules in `ProtocolMirror`:
 * bundles, the tax rate and treasury, real-time and scheduled settlement with its payouts and SLO
 * slash, and claims.
 */
import type { Hex } from "../ledger.js";
import { InvoicesMirror } from "./invoices.js";
import {
  add,
  BPS,
  type BundleState,
  dayOf,
  type Effect,
  HOLDER_ROLE,
  type InvoiceState,
  type MinedContext,
  newEffect,
  SLO_BREACH,
  ZERO_ADDRESS,
  ZERO_BYTES32,
} from "./types.js";

/** `InvoicesMirror` plus bundles and the SettlementEngine's rules. */
export class SettlementMirror extends InvoicesMirror {
  // ----------------------------------------------------------------- bundles

  createBundle(owner: Hex, name: string, invoiceIds: bigint[]): { effect: Effect; bundleId: bigint } {
    if (invoiceIds.length === 0) throw this.bug("empty bundle");
    const bundleId = ++this.lastBundleId;
    let faceValue = 0n;
    for (const id of invoiceIds) {
      const invoice = this.invoice(id);
      const bundleable = invoice.status === "issued" || invoice.status === "scheduled";
      if (invoice.owner !== owner || !bundleable || invoice.bundleId !== 0n) throw this.bug(`bundling invoice ${id}`);
      invoice.bundleId = bundleId;
      faceValue += invoice.amount;
    }
    this.bundles.set(bundleId, {
      id: bundleId,
      owner,
      name,
      members: invoiceIds,
      faceValue,
      outstanding: faceValue,
      earned: 0n,
      active: true,
    });
    const effect = newEffect();
    add(effect, this.events.bundleCreated(bundleId, owner, name, invoiceIds));
    return { effect, bundleId };
  }

  transferBundle(sender: Hex, bundleId: bigint, to: Hex): Effect {
    const bundle = this.bundles.get(bundleId);
    if (!bundle?.active || bundle.owner !== sender || to === ZERO_ADDRESS) {
      throw this.bug(`transfer of bundle ${bundleId}`);
    }
    const effect = newEffect();
    for (const id of bundle.members) this.moveInvoice(effect, this.invoice(id), to);
    add(effect, this.events.bundleTransferred(bundleId, sender, to));
    bundle.owner = to;
    return effect;
  }

  dissolveBundle(sender: Hex, bundleId: bigint): Effect {
    const bundle = this.bundles.get(bundleId);
    if (!bundle?.active || bundle.owner !== sender) throw this.bug(`dissolving bundle ${bundleId}`);
    bundle.active = false;
    for (const id of bundle.members) this.invoice(id).bundleId = 0n;
    const effect = newEffect();
    add(effect, this.events.bundleDissolved(bundleId));
    return effect;
  }

  // -------------------------------------------------------------- settlement

  setTaxRate(bps: number): Effect {
    if (bps > 2_000) throw this.bug(`tax rate ${bps}`);
    const effect = newEffect();
    add(effect, this.events.taxRateUpdated(this.taxRateBps, bps));
    this.taxRateBps = bps;
    return effect;
  }

  setTreasury(treasury: Hex): Effect {
    const effect = newEffect();
    add(effect, this.events.treasuryUpdated(this.treasury, treasury));
    this.treasury = treasury;
    this.account(treasury);
    return effect;
  }

  refundOf(invoice: InvoiceState): bigint {
    return invoice.sloMet ? 0n : (invoice.amount * BigInt(invoice.penaltyBps)) / BPS;
  }

  settle(sender: Hex, invoiceId: bigint): Effect {
    const invoice = this.invoice(invoiceId);
    if (invoice.status !== "issued" || invoice.caller !== sender) throw this.bug(`settle of invoice ${invoiceId}`);
    const refund = this.refundOf(invoice);
    const effect = newEffect();
    this.settleInto(effect, invoice, sender, invoice.amount - refund, refund);
    return effect;
  }

  /** The caller checks `settleAt >= block.timestamp`. */
  schedule(sender: Hex, invoiceId: bigint, settleAt: number): Effect {
    const invoice = this.invoice(invoiceId);
    if (invoice.status !== "issued" || invoice.caller !== sender) throw this.bug(`schedule of invoice ${invoiceId}`);
    invoice.status = "scheduled";
    invoice.escrow = { payer: sender, settleAt, amount: invoice.amount };
    invoice.payer = sender;
    invoice.settleAt = settleAt;
    const effect = newEffect();
    add(effect, this.events.settlementScheduled(invoiceId, sender, settleAt, invoice.amount));
    return effect;
  }

  /**
   * settleDue at a block whose timestamp lies in [earliest, latest]: settles the escrows due by
   * `earliest`, skips those not due by `latest`; any other escrow in the list is a planning bug.
   */
  settleDue(invoiceIds: bigint[], earliest: number, latest: number): Effect {
    const effect = newEffect();
    for (const id of invoiceIds) {
      const invoice = this.invoices.get(id);
      const escrow = invoice?.escrow;
      if (!invoice || !escrow || escrow.settleAt > latest || invoice.status !== "scheduled") continue;
      if (escrow.settleAt > earliest) throw this.bug(`settleDue of invoice ${id} that may or may not be due`);
      invoice.escrow = null;
      const refund = this.refundOf(invoice);
      this.settleInto(effect, invoice, escrow.payer, escrow.amount - refund, refund);
    }
    return effect;
  }

  /** SettlementEngine._settle: tax, shares, holder (the rest), then the SLO slash. */
  private settleInto(effect: Effect, invoice: InvoiceState, payer: Hex, paid: bigint, refund: bigint) {
    const tax = (paid * BigInt(invoice.taxRateBps)) / BPS;
    const distributed = paid - tax;
    const holder = invoice.owner;
    const treasury = this.treasury;
    const treasuryAccount = this.account(treasury);
    treasuryAccount.claimable += tax;
    treasuryAccount.earned += tax;
    treasuryAccount.earnedByRole[0] += tax;
    invoice.status = "settled";
    invoice.payer = payer;
    invoice.paid = paid;
    invoice.tax = tax;
    invoice.refund = refund;
    invoice.distributed = distributed;
    this.account(payer).spent += paid;
    add(effect, this.events.invoiceSettled(invoice.id, payer, holder, paid, tax, refund, distributed));
    let remaining = distributed;
    for (const share of invoice.shares) {
      const credit = (distributed * BigInt(share.shareBps)) / BPS;
      remaining -= credit;
      share.credited = credit;
      const account = this.account(share.contributor);
      account.claimable += credit;
      account.earned += credit;
      account.earnedByRole[share.role] += credit;
      add(effect, this.events.payoutCredited(invoice.id, share.contributor, share.role, credit));
    }
    invoice.holderCredited = remaining;
    const holderAccount = this.account(holder);
    holderAccount.claimable += remaining;
    holderAccount.earned += remaining;
    holderAccount.earnedByRole[HOLDER_ROLE] += remaining;
    add(effect, this.events.payoutCredited(invoice.id, holder, HOLDER_ROLE, remaining));
    if (invoice.bundleId !== 0n) {
      const bundle = this.bundles.get(invoice.bundleId) as BundleState;
      bundle.outstanding -= invoice.amount;
      bundle.earned += remaining;
    }
    const holderCredit = remaining;
    const attributed = this.attribute(invoice);
    effect.onMined.push((context) => {
      invoice.settledAt = context.timestamp;
      const day = dayOf(context.timestamp);
      this.attributeOnDay(invoice, attributed, day);
      const line = { invoiceId: invoice.id.toString(), modelId: invoice.modelId, ...this.mined(context) };
      this.credits.push({ ...line, account: treasury, role: 0, shareBps: null, amount: tax.toString() });
      for (const share of invoice.shares) {
        const amount = (share.credited as bigint).toString();
        this.credits.push({ ...line, account: share.contributor, role: share.role, shareBps: share.shareBps, amount });
      }
      this.credits.push({
        ...line,
        account: holder,
        role: HOLDER_ROLE,
        shareBps: null,
        amount: holderCredit.toString(),
      });
      const modelDay = this.modelDay(invoice.modelId, day);
      modelDay.settled++;
      modelDay.paid += paid;
      modelDay.refunds += refund;
      const protocolDay = this.protocolDay(day);
      protocolDay.settled++;
      protocolDay.paid += paid;
      protocolDay.tax += tax;
      protocolDay.refunds += refund;
      this.credit(treasury, 0, day, tax);
      for (const share of invoice.shares) this.credit(share.contributor, share.role, day, share.credited as bigint);
      this.credit(holder, HOLDER_ROLE, day, holderCredit);
    });
    if (refund > 0n) this.slashInto(effect, invoice.provider, invoice.id, SLO_BREACH, refund, ZERO_BYTES32);
  }

  claim(account: Hex): Effect {
    const state = this.account(account);
    const amount = state.claimable;
    if (amount === 0n) throw this.bug(`claim of nothing by ${account}`);
    state.claimable = 0n;
    state.claimed += amount;
    const effect = newEffect();
    add(effect, this.events.earningsClaimed(account, amount));
    effect.onMined.push((context) => {
      this.claims.push({ account, amount: amount.toString(), ...this.mined(context) });
    });
    return effect;
  }

  private mined(context: MinedContext): { blockNumber: number; timestamp: number } {
    return { blockNumber: context.blockNumber, timestamp: context.timestamp };
  }

  /**
   * docs/rules.md, "Dataset attribution", from the mirror's own records: D is the sum of the
   * settlement's data-provider credits (role 1); each dataset use gets floor(D / k), position 0
   * the remainder too. Sets the uses' parts and the datasets' and datanets' lifetime totals; returns D.
   */
  private attribute(invoice: InvoiceState): bigint {
    let dataProvider = 0n;
    for (const share of invoice.shares) if (share.role === 1) dataProvider += share.credited as bigint;
    const k = BigInt(invoice.datasets.length);
    if (k === 0n) return dataProvider;
    const each = dataProvider / k;
    invoice.attributed = invoice.datasets.map((_, position) =>
      position === 0 ? dataProvider - each * (k - 1n) : each,
    );
    invoice.datasets.forEach((use, position) => {
      const part = (invoice.attributed as bigint[])[position];
      (this.datasets.get(use.datasetHash) as { attributed: bigint }).attributed += part;
      this.datanet(use.datanetId).attributed += part;
    });
    return dataProvider;
  }

  /** The daily side of `attribute`, on the settlement's day: D unattributed when no dataset is listed. */
  private attributeOnDay(invoice: InvoiceState, dataProvider: bigint, day: number) {
    if (invoice.attributed === null) {
      this.protocolDay(day).unattributed += dataProvider;
      return;
    }
    invoice.datasets.forEach((use, position) => {
      const part = (invoice.attributed as bigint[])[position];
      this.attributionDay(this.datasetDaily, use.datasetHash, day).attributed += part;
      this.attributionDay(this.datanetDaily, use.datanetId, day).attributed += part;
    });
  }
}
