/**
 * InvoiceRegistry: models, invoices (the five sections of docs/rules.md, "Data model"), their holders and bundles.
 *
 * Event order inside `issue` is Transfer (mint) → InvoiceIssued → ServiceMeasured →
 * ProvenanceRecorded → DatasetUsed* → ShareAssigned*, so the invoice row is created by InvoiceIssued
 * (the mint only records its transfer) and every later event of the transaction finds it.
 * An event about an unknown invoice, model or bundle writes an anomaly and its activity row, and
 * changes nothing else.
 *
 * Rows returned by `context.db.find` are live views of Ponder's cache: an update of the same row
 * changes them. Handlers read what they need from a row before updating it.
 */
import { type Context, ponder } from "ponder:registry";
import {
  account,
  bundle,
  datasetUse,
  invoice,
  invoiceShare,
  invoiceTransfer,
  model,
  modelDaily,
  protocolDaily,
} from "ponder:schema";
import { ANOMALY_CODES, type Problem, unknownBundle, unknownInvoice, unknownModel } from "./lib/anomaly.js";
import { addContributorShare, countDatasetUse, updateContributorView } from "./lib/contributions.js";
import { finishFor } from "./lib/finish.js";
import { isZeroAddress, normalizeHex } from "./lib/ids.js";
import { eventColumns } from "./lib/rows.js";
import { crossesShareTotal, isShareRole } from "./lib/settlement.js";
import { bumpDaily, insertRateChange } from "./lib/store.js";
import { dayOf } from "./lib/time.js";

const finish = finishFor("InvoiceRegistry");

/** Makes sure an address that a relation points at (holder, contributor, owner) has an account row. */
async function ensureAccount(context: Context, address: `0x${string}`): Promise<void> {
  const chainId = context.chain.id;
  await context.db.insert(account).values({ chainId, address }).onConflictDoNothing();
}

// ------------------------------------------------------------------------------------- models

ponder.on("InvoiceRegistry:ModelRegistered", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { pricePerKToken, sloLatencyMs, penaltyBps } = event.args;
  const modelId = normalizeHex(event.args.modelId);
  const provider = normalizeHex(event.args.provider);
  const problems: Problem[] = [];
  const created = await context.db
    .insert(model)
    .values({
      chainId,
      modelId,
      provider,
      pricePerKToken,
      sloLatencyMs,
      penaltyBps,
      registeredAt: event.block.timestamp,
      blockNumber: event.block.number,
      txHash: normalizeHex(event.transaction.hash),
    })
    .onConflictDoNothing();
  if (created === null) {
    problems.push({ code: ANOMALY_CODES.duplicateId, message: `model ${modelId} registered twice`, account: provider });
  } else {
    await ensureAccount(context, provider);
    await insertRateChange(context, event, {
      kind: "modelRegistered",
      modelId,
      pricePerKToken,
      sloLatencyMs,
      penaltyBps,
    });
  }
  await finish(context, event, { type: "ModelRegistered", account: provider }, problems);
});

ponder.on("InvoiceRegistry:ModelTermsUpdated", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { pricePerKToken, sloLatencyMs, penaltyBps } = event.args;
  const modelId = normalizeHex(event.args.modelId);
  const row = await context.db.find(model, { chainId, modelId });
  if (!row) {
    await finish(context, event, { type: "ModelTermsUpdated" }, [unknownModel(modelId)]);
    return;
  }
  await context.db.update(model, { chainId, modelId }).set({ pricePerKToken, sloLatencyMs, penaltyBps });
  await insertRateChange(context, event, { kind: "modelTerms", modelId, pricePerKToken, sloLatencyMs, penaltyBps });
  await finish(context, event, { type: "ModelTermsUpdated", account: row.provider });
});

// ----------------------------------------------------------------------------------- invoices

ponder.on("InvoiceRegistry:InvoiceIssued", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { invoiceId, amount, feeMultiplierBps, taxRateBps, providerStake, dueAt } = event.args;
  const caller = normalizeHex(event.args.caller);
  const provider = normalizeHex(event.args.provider);
  const modelId = normalizeHex(event.args.modelId);
  const activityInput = { type: "InvoiceIssued", invoiceId, account: caller, counterparty: provider, amount };
  const columns = eventColumns(event);

  const created = await context.db
    .insert(invoice)
    .values({
      chainId,
      invoiceId,
      caller,
      modelId,
      agentId: normalizeHex(event.args.agentId),
      provider,
      // Minted to the provider by the Transfer just before this event.
      holder: provider,
      amount,
      feeMultiplierBps,
      taxRateBps,
      providerStake,
      dueAt,
      status: "issued",
      issuedAt: columns.timestamp,
      blockNumber: columns.blockNumber,
      timestamp: columns.timestamp,
      txHash: columns.txHash,
    })
    .onConflictDoNothing();
  if (created === null) {
    const problem: Problem = {
      code: ANOMALY_CODES.duplicateId,
      message: `invoice ${invoiceId} issued twice`,
      invoiceId,
    };
    await finish(context, event, activityInput, [problem]);
    return;
  }

  const problems: Problem[] = [];
  const modelRow = await context.db.find(model, { chainId, modelId });
  if (modelRow) {
    await context.db
      .update(model, { chainId, modelId })
      .set((row) => ({ invoices: row.invoices + 1, gross: row.gross + amount }));
  } else {
    problems.push(unknownModel(modelId, invoiceId));
  }
  const day = dayOf(columns.timestamp);
  await bumpDaily(context, modelDaily, { modelId, day }, { invoices: 1, gross: amount });
  await bumpDaily(context, protocolDaily, { day }, { invoices: 1, gross: amount });
  await context.db
    .insert(account)
    .values({ chainId, address: caller, invoicesAsCaller: 1 })
    .onConflictDoUpdate((row) => ({ invoicesAsCaller: row.invoicesAsCaller + 1 }));
  await context.db
    .insert(account)
    .values({ chainId, address: provider, invoicesAsProvider: 1 })
    .onConflictDoUpdate((row) => ({ invoicesAsProvider: row.invoicesAsProvider + 1 }));
  await finish(context, event, activityInput, problems);
});

ponder.on("InvoiceRegistry:ServiceMeasured", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { invoiceId, inputTokens, outputTokens, latencyMs, sloLatencyMs, penaltyBps, sloMet } = event.args;
  const row = await context.db.find(invoice, { chainId, invoiceId });
  if (!row) {
    await finish(context, event, { type: "ServiceMeasured", invoiceId }, [unknownInvoice(invoiceId)]);
    return;
  }
  await context.db
    .update(invoice, { chainId, invoiceId })
    .set({ inputTokens, outputTokens, latencyMs, sloLatencyMs, penaltyBps, sloMet });

  const tokens = BigInt(inputTokens) + BigInt(outputTokens);
  const met = sloMet ? 1 : 0;
  if (await context.db.find(model, { chainId, modelId: row.modelId })) {
    await context.db
      .update(model, { chainId, modelId: row.modelId })
      .set((m) => ({ tokens: m.tokens + tokens, sloMet: m.sloMet + met }));
  }
  await bumpDaily(
    context,
    modelDaily,
    { modelId: row.modelId, day: dayOf(event.block.timestamp) },
    {
      inputTokens: BigInt(inputTokens),
      outputTokens: BigInt(outputTokens),
      sloMet: met,
      latencySum: BigInt(latencyMs),
    },
    { latencyMax: latencyMs },
  );
  await finish(context, event, { type: "ServiceMeasured", invoiceId, account: row.provider, counterparty: row.caller });
});

ponder.on("InvoiceRegistry:ProvenanceRecorded", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { invoiceId } = event.args;
  const row = await context.db.find(invoice, { chainId, invoiceId });
  if (!row) {
    await finish(context, event, { type: "ProvenanceRecorded", invoiceId }, [unknownInvoice(invoiceId)]);
    return;
  }
  await context.db.update(invoice, { chainId, invoiceId }).set({
    modelVersion: normalizeHex(event.args.modelVersion),
    trainingLogHash: normalizeHex(event.args.trainingLogHash),
  });
  await finish(context, event, { type: "ProvenanceRecorded", invoiceId, account: row.provider });
});

ponder.on("InvoiceRegistry:DatasetUsed", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { invoiceId, version } = event.args;
  const datasetHash = normalizeHex(event.args.datasetHash);
  const datanetId = normalizeHex(event.args.datanetId);
  const row = await context.db.find(invoice, { chainId, invoiceId });
  if (!row) {
    await finish(context, event, { type: "DatasetUsed", invoiceId }, [unknownInvoice(invoiceId)]);
    return;
  }
  const position = row.datasetCount;
  await context.db.insert(datasetUse).values({ chainId, invoiceId, position, datasetHash, datanetId, version });
  await context.db.update(invoice, { chainId, invoiceId }).set({ datasetCount: position + 1 });

  // An invoice listing a dataset (or datanet) twice counts once: look at its earlier positions.
  let firstOfDataset = true;
  let firstOfDatanet = true;
  for (let earlier = 0; earlier < position && (firstOfDataset || firstOfDatanet); earlier++) {
    const use = await context.db.find(datasetUse, { chainId, invoiceId, position: earlier });
    if (use?.datasetHash === datasetHash) firstOfDataset = false;
    if (use?.datanetId === datanetId) firstOfDatanet = false;
  }
  const tokens = BigInt(row.inputTokens) + BigInt(row.outputTokens);
  await countDatasetUse(
    context,
    { datasetHash, datanetId, version },
    tokens,
    dayOf(event.block.timestamp),
    firstOfDataset,
    firstOfDatanet,
  );
  await finish(context, event, { type: "DatasetUsed", invoiceId, account: row.provider });
});

ponder.on("InvoiceRegistry:ShareAssigned", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { invoiceId, role, shareBps } = event.args;
  const contributor = normalizeHex(event.args.contributor);
  const row = await context.db.find(invoice, { chainId, invoiceId });
  if (!row) {
    await finish(context, event, { type: "ShareAssigned", invoiceId, account: contributor }, [
      unknownInvoice(invoiceId),
    ]);
    return;
  }
  const problems: Problem[] = [];
  if (!isShareRole(role)) {
    problems.push({
      code: ANOMALY_CODES.invalidRole,
      message: `share of invoice ${invoiceId} has role ${role}, outside 1..3`,
      invoiceId,
      account: contributor,
    });
  }
  if (crossesShareTotal(row.shareBpsTotal, shareBps)) {
    problems.push({
      code: ANOMALY_CODES.sharesOverTotal,
      message: `shares of invoice ${invoiceId} add up to ${row.shareBpsTotal + shareBps} bps, over 10000`,
      invoiceId,
      account: contributor,
    });
  }
  const position = row.shareCount;
  const view = { modelId: row.modelId, status: row.status, issuedAt: row.issuedAt, settledAt: row.settledAt };
  await context.db.insert(invoiceShare).values({ chainId, invoiceId, position, contributor, role, shareBps, ...view });
  await context.db
    .update(invoice, { chainId, invoiceId })
    .set({ shareCount: position + 1, shareBpsTotal: row.shareBpsTotal + shareBps });
  const newContribution = await addContributorShare(context, { invoiceId, contributor, shareBps, ...view });
  const contributions = newContribution ? 1 : 0;
  await context.db
    .insert(account)
    .values({ chainId, address: contributor, invoicesAsContributor: contributions })
    .onConflictDoUpdate((a) => ({ invoicesAsContributor: a.invoicesAsContributor + contributions }));
  await finish(
    context,
    event,
    { type: "ShareAssigned", invoiceId, account: contributor, counterparty: row.provider },
    problems,
  );
});

ponder.on("InvoiceRegistry:InvoiceVoided", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { invoiceId, reason } = event.args;
  const row = await context.db.find(invoice, { chainId, invoiceId });
  if (!row) {
    await finish(context, event, { type: "InvoiceVoided", invoiceId }, [unknownInvoice(invoiceId)]);
    return;
  }
  const problems: Problem[] = [];
  if (row.status !== "issued" || row.bundleId !== null) {
    problems.push({
      code: ANOMALY_CODES.statusMismatch,
      message: `invoice ${invoiceId} voided while ${row.status}${row.bundleId !== null ? ` in bundle ${row.bundleId}` : ""}`,
      invoiceId,
    });
  }
  await context.db.update(invoice, { chainId, invoiceId }).set({ status: "voided", voidReason: reason });
  await updateContributorView(context, invoiceId, row.shareCount, { status: "voided" });
  await finish(
    context,
    event,
    { type: "InvoiceVoided", invoiceId, account: row.provider, counterparty: row.caller, amount: row.amount },
    problems,
  );
});

// ------------------------------------------------------------------------------------ holders

ponder.on("InvoiceRegistry:Transfer", async ({ event, context }) => {
  const chainId = context.chain.id;
  const invoiceId = event.args.tokenId;
  const from = normalizeHex(event.args.from);
  const to = normalizeHex(event.args.to);
  const columns = eventColumns(event);

  if (isZeroAddress(from)) {
    // The mint of `issue`: InvoiceIssued, next in the transaction, creates the invoice.
    await context.db
      .insert(invoiceTransfer)
      .values({ chainId, id: event.id, invoiceId, from, to, bundleId: null, ...columns });
    await finish(context, event, { type: "Transfer", invoiceId, account: to });
    return;
  }

  const row = await context.db.find(invoice, { chainId, invoiceId });
  if (!row) {
    await finish(context, event, { type: "Transfer", invoiceId, account: to, counterparty: from }, [
      unknownInvoice(invoiceId),
    ]);
    return;
  }
  const problems: Problem[] = [];
  if (row.holder !== from) {
    problems.push({
      code: ANOMALY_CODES.holderMismatch,
      message: `invoice ${invoiceId} transferred from ${from}, but its indexed holder is ${row.holder}`,
      invoiceId,
      account: from,
    });
  }
  // Inside transferBundle each member's Transfer precedes BundleTransferred: the bundle moves it.
  const bundleId = row.bundleId;
  await context.db.insert(invoiceTransfer).values({ chainId, id: event.id, invoiceId, from, to, bundleId, ...columns });
  await context.db.update(invoice, { chainId, invoiceId }).set({ holder: to, transferCount: row.transferCount + 1 });
  await ensureAccount(context, to);
  await finish(context, event, { type: "Transfer", invoiceId, bundleId, account: to, counterparty: from }, problems);
});

// ------------------------------------------------------------------------------------ bundles

ponder.on("InvoiceRegistry:BundleCreated", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { bundleId, name, invoiceIds } = event.args;
  const owner = normalizeHex(event.args.owner);
  const problems: Problem[] = [];

  const existing = await context.db.find(bundle, { chainId, bundleId });
  if (existing) {
    problems.push({ code: ANOMALY_CODES.duplicateId, message: `bundle ${bundleId} created twice`, account: owner });
    await finish(context, event, { type: "BundleCreated", bundleId, account: owner }, problems);
    return;
  }

  let faceValue = 0n;
  let outstanding = 0n;
  for (const invoiceId of invoiceIds) {
    const member = await context.db.find(invoice, { chainId, invoiceId });
    if (!member) {
      problems.push(unknownInvoice(invoiceId));
      continue;
    }
    if (member.bundleId !== null || member.status === "settled" || member.status === "voided") {
      problems.push({
        code: ANOMALY_CODES.statusMismatch,
        message: `invoice ${invoiceId} bundled while ${member.status}${member.bundleId !== null ? ` in bundle ${member.bundleId}` : ""}`,
        invoiceId,
      });
    }
    faceValue += member.amount;
    if (member.status !== "settled") outstanding += member.amount;
    await context.db.update(invoice, { chainId, invoiceId }).set({ bundleId });
  }

  await context.db.insert(bundle).values({
    chainId,
    bundleId,
    owner,
    name,
    memberIds: [...invoiceIds],
    memberCount: invoiceIds.length,
    faceValue,
    outstanding,
    createdAt: event.block.timestamp,
    blockNumber: event.block.number,
    txHash: normalizeHex(event.transaction.hash),
  });
  await ensureAccount(context, owner);
  await finish(context, event, { type: "BundleCreated", bundleId, account: owner, amount: faceValue }, problems);
});

ponder.on("InvoiceRegistry:BundleTransferred", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { bundleId } = event.args;
  const from = normalizeHex(event.args.from);
  const to = normalizeHex(event.args.to);
  const activityInput = { type: "BundleTransferred", bundleId, account: to, counterparty: from };
  const row = await context.db.find(bundle, { chainId, bundleId });
  if (!row) {
    await finish(context, event, activityInput, [unknownBundle(bundleId)]);
    return;
  }
  const problems: Problem[] = [];
  if (row.owner !== from || row.dissolved) {
    problems.push({
      code: ANOMALY_CODES.statusMismatch,
      message: `bundle ${bundleId} moved from ${from}, but its indexed owner is ${row.owner}${row.dissolved ? " and it is dissolved" : ""}`,
      account: from,
    });
  }
  await context.db.update(bundle, { chainId, bundleId }).set({ owner: to });
  await ensureAccount(context, to);
  await finish(context, event, { ...activityInput, amount: row.outstanding }, problems);
});

ponder.on("InvoiceRegistry:BundleDissolved", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { bundleId } = event.args;
  const row = await context.db.find(bundle, { chainId, bundleId });
  if (!row) {
    await finish(context, event, { type: "BundleDissolved", bundleId }, [unknownBundle(bundleId)]);
    return;
  }
  await context.db.update(bundle, { chainId, bundleId }).set({ dissolved: true });
  // Members stay with the owner and name no bundle; settling them later no longer touches it.
  for (const invoiceId of row.memberIds) {
    const member = await context.db.find(invoice, { chainId, invoiceId });
    if (member?.bundleId === bundleId) await context.db.update(invoice, { chainId, invoiceId }).set({ bundleId: null });
  }
  await finish(context, event, { type: "BundleDissolved", bundleId, account: row.owner });
});
