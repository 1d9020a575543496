/**
 * SettlementEngine: tax rate and treasury, scheduled and real-time settlement, payouts and claims.
 *
 * A settlement emits InvoiceSettled, then one PayoutCredited per share in share order, then the
 * holder's (role 4); the provider's Slashed (StakeManager) follows on an SLO breach. The handlers
 * rebuild the payouts' positions from `invoice.payoutCount` and check the figures against the
 * invoice's terms of issuance; a figure that breaks the spec is recorded as an anomaly and applied.
 *
 * Rows returned by `context.db.find` are live views of Ponder's cache: an update of the same row
 * changes them. Handlers read what they need from a row before updating it.
 */
import { type Context, ponder } from "ponder:registry";
import {
  account,
  bundle,
  claim,
  earningsDaily,
  invoice,
  invoiceShare,
  modelDaily,
  payout,
  protocolDaily,
  protocolState,
} from "ponder:schema";
import { ANOMALY_CODES, type Problem, unknownBundle, unknownInvoice } from "./lib/anomaly.js";
import { earnedByRoleColumn } from "./lib/attribution.js";
import { attributeSettlement, creditContributor, updateContributorView } from "./lib/contributions.js";
import { finishFor } from "./lib/finish.js";
import { type Hex, isZeroAddress, normalizeHex, PROTOCOL_STATE_ID } from "./lib/ids.js";
import { eventColumns } from "./lib/rows.js";
import {
  isShareRole,
  payoutTotalViolations,
  ROLE,
  settlementViolations,
  sharePayoutViolations,
} from "./lib/settlement.js";
import { bumpDaily, changeProtocolParameter } from "./lib/store.js";
import { dayOf } from "./lib/time.js";

const finish = finishFor("SettlementEngine");

/**
 * Credits OPEN to an account's claimable balance (a payout, or the tax to the treasury) and counts
 * it in its `earned` of the role and in `earningsDaily` under the role (0 = tax) on the day of the block.
 */
async function credit(context: Context, address: Hex, role: number, amount: bigint, day: number): Promise<void> {
  const chainId = context.chain.id;
  const byRole = earnedByRoleColumn(role);
  await context.db
    .insert(account)
    .values({ chainId, address, earned: amount, claimable: amount, ...(byRole ? { [byRole]: amount } : {}) })
    .onConflictDoUpdate((row) => ({
      earned: row.earned + amount,
      claimable: row.claimable + amount,
      ...(byRole ? { [byRole]: row[byRole] + amount } : {}),
    }));
  await bumpDaily(context, earningsDaily, { account: address, role, day }, { amount, payouts: 1 });
}

// ------------------------------------------------------------------------------- parameters

ponder.on("SettlementEngine:TaxRateUpdated", async ({ event, context }) => {
  const { oldBps, newBps } = event.args;
  await changeProtocolParameter(
    context,
    event,
    { taxRateBps: newBps },
    { kind: "taxRate", oldTaxRateBps: oldBps, newTaxRateBps: newBps },
  );
  await finish(context, event, { type: "TaxRateUpdated" });
});

ponder.on("SettlementEngine:TreasuryUpdated", async ({ event, context }) => {
  const oldTreasury = normalizeHex(event.args.oldTreasury);
  const newTreasury = normalizeHex(event.args.newTreasury);
  await changeProtocolParameter(
    context,
    event,
    { treasury: newTreasury },
    { kind: "treasury", oldTreasury, newTreasury },
  );
  await finish(context, event, {
    type: "TreasuryUpdated",
    account: newTreasury,
    // The constructor's TreasuryUpdated comes from address 0: no previous treasury.
    counterparty: isZeroAddress(oldTreasury) ? null : oldTreasury,
  });
});

// ------------------------------------------------------------------------------- settlement

ponder.on("SettlementEngine:SettlementScheduled", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { invoiceId, settleAt, escrowed } = event.args;
  const payer = normalizeHex(event.args.payer);
  const row = await context.db.find(invoice, { chainId, invoiceId });
  if (!row) {
    await finish(context, event, { type: "SettlementScheduled", invoiceId, account: payer, amount: escrowed }, [
      unknownInvoice(invoiceId),
    ]);
    return;
  }
  const problems: Problem[] = [];
  if (row.status !== "issued") {
    problems.push({
      code: ANOMALY_CODES.statusMismatch,
      message: `invoice ${invoiceId} scheduled while ${row.status}`,
      invoiceId,
    });
  }
  if (escrowed !== row.amount) {
    problems.push({
      code: ANOMALY_CODES.settlementMismatch,
      message: `escrowed ${escrowed} for invoice ${invoiceId} of amount ${row.amount}`,
      invoiceId,
      account: payer,
    });
  }
  await context.db.update(invoice, { chainId, invoiceId }).set({ status: "scheduled", payer, settleAt });
  await updateContributorView(context, invoiceId, row.shareCount, { status: "scheduled" });
  await finish(
    context,
    event,
    {
      type: "SettlementScheduled",
      invoiceId,
      bundleId: row.bundleId,
      account: payer,
      counterparty: row.holder,
      amount: escrowed,
    },
    problems,
  );
});

ponder.on("SettlementEngine:InvoiceSettled", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { invoiceId, paid, tax, refund, distributed } = event.args;
  const payer = normalizeHex(event.args.payer);
  const holder = normalizeHex(event.args.holder);
  const activityInput = { type: "InvoiceSettled", invoiceId, account: payer, counterparty: holder, amount: paid };
  const row = await context.db.find(invoice, { chainId, invoiceId });
  if (!row) {
    await finish(context, event, activityInput, [unknownInvoice(invoiceId)]);
    return;
  }

  const problems: Problem[] = settlementViolations(row, { paid, tax, refund, distributed }).map((message) => ({
    code: ANOMALY_CODES.settlementMismatch,
    message: `invoice ${invoiceId}: ${message}`,
    invoiceId,
  }));
  if (row.status !== "issued" && row.status !== "scheduled") {
    problems.push({
      code: ANOMALY_CODES.statusMismatch,
      message: `invoice ${invoiceId} settled while ${row.status}`,
      invoiceId,
    });
  }
  if (row.holder !== holder) {
    problems.push({
      code: ANOMALY_CODES.holderMismatch,
      message: `invoice ${invoiceId} settled to holder ${holder}, but its indexed holder is ${row.holder}`,
      invoiceId,
      account: holder,
    });
  }

  const timestamp = event.block.timestamp;
  const day = dayOf(timestamp);
  const state = await context.db.find(protocolState, { chainId, id: PROTOCOL_STATE_ID });
  await context.db.update(invoice, { chainId, invoiceId }).set({
    status: "settled",
    taxCreditedTo: state?.treasury ?? null,
    payer,
    paid,
    tax,
    refund,
    distributed,
    settledAt: timestamp,
    holderCredited: null,
    payoutCount: 0,
    sharesCredited: 0n,
    dataProviderCredited: 0n,
  });
  await updateContributorView(context, invoiceId, row.shareCount, { status: "settled", settledAt: timestamp });
  await context.db
    .insert(account)
    .values({ chainId, address: payer, spent: paid })
    .onConflictDoUpdate((a) => ({ spent: a.spent + paid }));

  // The tax is credited to the treasury's claimable without a PayoutCredited: role 0.
  if (state?.treasury) {
    await credit(context, state.treasury, ROLE.treasury, tax, day);
  } else {
    problems.push({
      code: ANOMALY_CODES.unknownTreasury,
      message: `tax ${tax} of invoice ${invoiceId} not credited: no TreasuryUpdated indexed (start block after deployment?)`,
      invoiceId,
    });
  }

  await bumpDaily(context, modelDaily, { modelId: row.modelId, day }, { settled: 1, paid, refunds: refund });
  await bumpDaily(context, protocolDaily, { day }, { settled: 1, paid, tax, refunds: refund });

  if (row.bundleId !== null) {
    const bundleRow = await context.db.find(bundle, { chainId, bundleId: row.bundleId });
    if (bundleRow) {
      await context.db
        .update(bundle, { chainId, bundleId: row.bundleId })
        .set({ outstanding: bundleRow.outstanding - row.amount });
    } else {
      problems.push(unknownBundle(row.bundleId, invoiceId));
    }
  }
  await finish(context, event, { ...activityInput, bundleId: row.bundleId }, problems);
});

ponder.on("SettlementEngine:PayoutCredited", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { invoiceId, role, amount } = event.args;
  const payee = normalizeHex(event.args.account);
  const activityInput = { type: "PayoutCredited", invoiceId, account: payee, amount };
  const row = await context.db.find(invoice, { chainId, invoiceId });
  if (!row) {
    await finish(context, event, activityInput, [unknownInvoice(invoiceId)]);
    return;
  }

  const problems: Problem[] = [];
  const mismatch = (message: string): Problem => ({
    code: ANOMALY_CODES.payoutMismatch,
    message: `invoice ${invoiceId}: ${message}`,
    invoiceId,
    account: payee,
  });
  const distributed = row.distributed ?? 0n;
  if (row.status !== "settled") problems.push(mismatch(`payout while the invoice is ${row.status}`));

  // The share a share payout pays is the next one in position order (see below).
  const share = isShareRole(role)
    ? await context.db.find(invoiceShare, { chainId, invoiceId, position: row.payoutCount })
    : null;
  await context.db.insert(payout).values({
    chainId,
    id: event.id,
    invoiceId,
    account: payee,
    role,
    amount,
    shareBps: share?.shareBps ?? null,
    modelId: row.modelId,
    ...eventColumns(event),
  });
  await credit(context, payee, role, amount, dayOf(event.block.timestamp));

  if (role === ROLE.holder) {
    if (payee !== row.holder) problems.push(mismatch(`holder payout to ${payee}, but the holder is ${row.holder}`));
    for (const message of payoutTotalViolations({
      distributed,
      sharesCredited: row.sharesCredited,
      holderCredited: amount,
      sharePayouts: row.payoutCount,
      shareCount: row.shareCount,
    })) {
      problems.push(mismatch(message));
    }
    await context.db.update(invoice, { chainId, invoiceId }).set({ holderCredited: amount });
    // The holder's payout is the settlement's last: its data-provider OPEN is known in full.
    await attributeSettlement(
      context,
      invoiceId,
      row.datasetCount,
      row.dataProviderCredited,
      dayOf(event.block.timestamp),
    );
    if (row.bundleId !== null) {
      const bundleRow = await context.db.find(bundle, { chainId, bundleId: row.bundleId });
      if (bundleRow) {
        await context.db.update(bundle, { chainId, bundleId: row.bundleId }).set({ earned: bundleRow.earned + amount });
      } else {
        problems.push(unknownBundle(row.bundleId, invoiceId));
      }
    }
  } else if (isShareRole(role)) {
    // Share payouts come in share order: the n-th one credits position n.
    const position = row.payoutCount;
    if (share) {
      for (const message of sharePayoutViolations(share, { account: payee, role, amount }, distributed)) {
        problems.push(mismatch(`share ${position}: ${message}`));
      }
      await context.db.update(invoiceShare, { chainId, invoiceId, position }).set({ credited: amount });
      await creditContributor(context, invoiceId, share.contributor, amount);
    } else {
      problems.push(mismatch(`share payout ${position + 1}, but the invoice has ${row.shareCount} shares`));
    }
    await context.db.update(invoice, { chainId, invoiceId }).set({
      payoutCount: position + 1,
      sharesCredited: row.sharesCredited + amount,
      dataProviderCredited: row.dataProviderCredited + (role === ROLE.dataProvider ? amount : 0n),
    });
  } else {
    problems.push({
      code: ANOMALY_CODES.invalidRole,
      message: `payout of invoice ${invoiceId} with role ${role}, outside 1..4`,
      invoiceId,
      account: payee,
    });
  }
  await finish(context, event, { ...activityInput, bundleId: row.bundleId, counterparty: row.payer }, problems);
});

// ----------------------------------------------------------------------------------- claims

ponder.on("SettlementEngine:EarningsClaimed", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { amount } = event.args;
  const claimant = normalizeHex(event.args.account);
  await context.db.insert(claim).values({ chainId, id: event.id, account: claimant, amount, ...eventColumns(event) });
  let claimableBefore = 0n;
  await context.db
    .insert(account)
    .values({ chainId, address: claimant, claimed: amount, claimable: -amount })
    .onConflictDoUpdate((row) => {
      claimableBefore = row.claimable;
      return { claimed: row.claimed + amount, claimable: row.claimable - amount };
    });
  const problems: Problem[] = [];
  // `claim` pays the whole claimable balance.
  if (claimableBefore !== amount) {
    problems.push({
      code: ANOMALY_CODES.claimMismatch,
      message: `claimed ${amount}, but the indexed claimable balance was ${claimableBefore}`,
      account: claimant,
    });
  }
  await finish(context, event, { type: "EarningsClaimed", account: claimant, amount }, problems);
});
