/**
 * The relational model of SPEC.md: table and column names are the spec's (GraphQL names follow).
 * Amounts are OPEN wei (bigint), invoice/bundle/request ids bigint, addresses and bytes32 hex.
 * Rows made from an event carry `blockNumber`, `timestamp` and `txHash`. Event rows are keyed by
 * `id` = Ponder's event id, a checkpoint string that sorts in chain order (block timestamp, chain,
 * block, transaction index, log index): it is the cursor bots page by, and unique per (tx, log).
 *
 * Several chains: every table has `chainId` (the EIP-155 id of the chain the row comes from) first
 * in its primary key, so ids the contracts hand out per chain (invoice, bundle and request ids,
 * accounts, models, days) never collide: `invoice` is keyed by (chainId, invoiceId), event rows by
 * (chainId, id), `protocolDaily` by (chainId, day). Relations join on chainId too, and GraphQL's
 * singular lookups take it: `invoice(chainId: 1, invoiceId: "7")`. Totals across chains are sums
 * over chainId (README, "Several chains").
 */
import { index, onchainTable, primaryKey, relations } from "ponder";

export const account = onchainTable(
  "account",
  (t) => ({
    chainId: t.integer().notNull(),
    address: t.hex().notNull(),
    /** OPEN paid as caller for settled invoices, net of refunds. */
    spent: t.bigint().notNull().default(0n),
    /** Everything credited: payouts, and tax while the account was the treasury. */
    earned: t.bigint().notNull().default(0n),
    claimed: t.bigint().notNull().default(0n),
    claimable: t.bigint().notNull().default(0n),
    /** Active stake; equals StakeManager.stakeOf. */
    stake: t.bigint().notNull().default(0n),
    pendingUnstake: t.bigint().notNull().default(0n),
    slashed: t.bigint().notNull().default(0n),
    invoicesAsCaller: t.integer().notNull().default(0),
    invoicesAsProvider: t.integer().notNull().default(0),
    /**
     * The oldest unstake request a slash may still take from (StakeManager's `firstOpenRequest`):
     * slashes walk the staker's requests from here by primary key, following `nextRequestId`.
     */
    firstPendingRequestId: t.bigint(),
    /** The staker's newest unstake request: the next one is linked after it. */
    lastRequestId: t.bigint(),
  }),
  // Top earners and leaderboards order by these.
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.address] }),
    earnedIndex: index().on(table.earned),
    stakeIndex: index().on(table.stake),
  }),
);

export const model = onchainTable(
  "model",
  (t) => ({
    chainId: t.integer().notNull(),
    modelId: t.hex().notNull(),
    provider: t.hex().notNull(),
    pricePerKToken: t.bigint().notNull(),
    sloLatencyMs: t.integer().notNull(),
    penaltyBps: t.integer().notNull(),
    invoices: t.integer().notNull().default(0),
    tokens: t.bigint().notNull().default(0n),
    gross: t.bigint().notNull().default(0n),
    sloMet: t.integer().notNull().default(0),
    registeredAt: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.modelId] }),
    providerIndex: index().on(table.provider),
  }),
);

export const invoice = onchainTable(
  "invoice",
  (t) => ({
    chainId: t.integer().notNull(),
    invoiceId: t.bigint().notNull(),
    // parties
    caller: t.hex().notNull(),
    modelId: t.hex().notNull(),
    agentId: t.hex().notNull(),
    provider: t.hex().notNull(),
    /** Current owner of the invoice NFT. */
    holder: t.hex().notNull(),
    // service measured
    inputTokens: t.integer().notNull().default(0),
    outputTokens: t.integer().notNull().default(0),
    latencyMs: t.integer().notNull().default(0),
    sloLatencyMs: t.integer().notNull().default(0),
    sloMet: t.boolean().notNull().default(true),
    // provenance
    modelVersion: t.hex(),
    trainingLogHash: t.hex(),
    // pricing terms
    amount: t.bigint().notNull(),
    feeMultiplierBps: t.integer().notNull(),
    taxRateBps: t.integer().notNull(),
    penaltyBps: t.integer().notNull().default(0),
    providerStake: t.bigint().notNull(),
    dueAt: t.bigint().notNull(),
    // lifecycle and settlement
    status: t.text().$type<"issued" | "scheduled" | "settled" | "voided">().notNull(),
    voidReason: t.integer(),
    payer: t.hex(),
    settleAt: t.bigint(),
    paid: t.bigint(),
    tax: t.bigint(),
    refund: t.bigint(),
    distributed: t.bigint(),
    holderCredited: t.bigint(),
    bundleId: t.bigint(),
    issuedAt: t.bigint().notNull(),
    settledAt: t.bigint(),
    shareCount: t.integer().notNull().default(0),
    datasetCount: t.integer().notNull().default(0),
    /** Payouts seen of the current settlement: the next share position to credit. */
    payoutCount: t.integer().notNull().default(0),
    transferCount: t.integer().notNull().default(0),
    /** Sum of the shares' bps: checked against 10_000 as shares arrive, without reading them back. */
    shareBpsTotal: t.integer().notNull().default(0),
    /** Sum of the share payouts (roles 1..3) of the settlement: checked against `distributed`. */
    sharesCredited: t.bigint().notNull().default(0n),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.invoiceId] }),
    callerIndex: index().on(table.caller, table.invoiceId),
    providerIndex: index().on(table.provider, table.invoiceId),
    holderIndex: index().on(table.holder, table.invoiceId),
    modelIndex: index().on(table.modelId, table.invoiceId),
    statusIndex: index().on(table.status),
    bundleIndex: index().on(table.bundleId),
  }),
);

export const invoiceShare = onchainTable(
  "invoice_share",
  (t) => ({
    chainId: t.integer().notNull(),
    invoiceId: t.bigint().notNull(),
    position: t.integer().notNull(),
    contributor: t.hex().notNull(),
    role: t.integer().notNull(),
    shareBps: t.integer().notNull(),
    /** What the share was credited at settlement; null until then. */
    credited: t.bigint(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.invoiceId, table.position] }),
    contributorIndex: index().on(table.contributor),
  }),
);

export const datasetUse = onchainTable(
  "dataset_use",
  (t) => ({
    chainId: t.integer().notNull(),
    invoiceId: t.bigint().notNull(),
    position: t.integer().notNull(),
    datasetHash: t.hex().notNull(),
    datanetId: t.hex().notNull(),
    version: t.integer().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.invoiceId, table.position] }),
    datasetIndex: index().on(table.datasetHash),
  }),
);

export const dataset = onchainTable(
  "dataset",
  (t) => ({
    chainId: t.integer().notNull(),
    datasetHash: t.hex().notNull(),
    datanetId: t.hex().notNull(),
    version: t.integer().notNull(),
    /** Invoices that list it; an invoice listing it twice counts once. */
    invoices: t.integer().notNull().default(0),
    /** inputTokens + outputTokens of those invoices. */
    tokens: t.bigint().notNull().default(0n),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.datasetHash] }) }),
);

export const invoiceTransfer = onchainTable(
  "invoice_transfer",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
    invoiceId: t.bigint().notNull(),
    from: t.hex().notNull(),
    to: t.hex().notNull(),
    /** Set when the transfer moved a whole bundle. */
    bundleId: t.bigint(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.id] }),
    invoiceIndex: index().on(table.invoiceId),
    toIndex: index().on(table.to),
  }),
);

export const bundle = onchainTable(
  "bundle",
  (t) => ({
    chainId: t.integer().notNull(),
    bundleId: t.bigint().notNull(),
    owner: t.hex().notNull(),
    name: t.text().notNull(),
    memberIds: t.bigint().array().notNull(),
    memberCount: t.integer().notNull(),
    faceValue: t.bigint().notNull(),
    outstanding: t.bigint().notNull(),
    earned: t.bigint().notNull().default(0n),
    dissolved: t.boolean().notNull().default(false),
    createdAt: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.bundleId] }), ownerIndex: index().on(table.owner) }),
);

export const payout = onchainTable(
  "payout",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
    invoiceId: t.bigint().notNull(),
    account: t.hex().notNull(),
    role: t.integer().notNull(),
    amount: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.id] }),
    invoiceIndex: index().on(table.invoiceId),
    accountIndex: index().on(table.account, table.id),
  }),
);

export const claim = onchainTable(
  "claim",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
    account: t.hex().notNull(),
    amount: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.id] }), accountIndex: index().on(table.account) }),
);

export const stakeChange = onchainTable(
  "stake_change",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
    staker: t.hex().notNull(),
    kind: t.text().$type<"stake" | "unstakeRequest" | "unstake" | "slash">().notNull(),
    amount: t.bigint().notNull(),
    /** Active and pending stake after the change: the stake as of this block. */
    stakeAfter: t.bigint().notNull(),
    pendingAfter: t.bigint().notNull(),
    requestId: t.bigint(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.id] }),
    stakerIndex: index().on(table.staker, table.id),
  }),
);

export const unstakeRequest = onchainTable(
  "unstake_request",
  (t) => ({
    chainId: t.integer().notNull(),
    requestId: t.bigint().notNull(),
    staker: t.hex().notNull(),
    amount: t.bigint().notNull(),
    /** Requested amount less what slashes took. */
    amountLeft: t.bigint().notNull(),
    unlockAt: t.bigint().notNull(),
    status: t.text().$type<"pending" | "withdrawn">().notNull(),
    /** What `unstake` paid; null while pending. */
    withdrawn: t.bigint(),
    /** The same staker's next request, in creation order (the slash walk's link); null for the newest. */
    nextRequestId: t.bigint(),
    requestedAt: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.requestId] }),
    stakerIndex: index().on(table.staker, table.requestId),
  }),
);

export const slash = onchainTable(
  "slash",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
    staker: t.hex().notNull(),
    /** Null when the slash is not tied to an invoice (event invoiceId 0). */
    invoiceId: t.bigint(),
    reason: t.integer().notNull(),
    amount: t.bigint().notNull(),
    remainingStake: t.bigint().notNull(),
    evidence: t.hex().notNull(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.id] }),
    stakerIndex: index().on(table.staker, table.id),
    reasonIndex: index().on(table.reason, table.id),
    invoiceIndex: index().on(table.invoiceId),
  }),
);

export const rateChange = onchainTable(
  "rate_change",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
    kind: t.text().$type<"taxRate" | "modelTerms" | "modelRegistered" | "cooldown" | "treasury">().notNull(),
    /** Set for model terms. */
    modelId: t.hex(),
    oldTaxRateBps: t.integer(),
    newTaxRateBps: t.integer(),
    pricePerKToken: t.bigint(),
    sloLatencyMs: t.integer(),
    penaltyBps: t.integer(),
    oldCooldown: t.bigint(),
    newCooldown: t.bigint(),
    oldTreasury: t.hex(),
    newTreasury: t.hex(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.id] }), modelIndex: index().on(table.modelId) }),
);

export const activity = onchainTable(
  "activity",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
    /** The event's name, e.g. InvoiceIssued, Slashed. */
    type: t.text().notNull(),
    contract: t.text().notNull(),
    invoiceId: t.bigint(),
    bundleId: t.bigint(),
    /** The account the event is about (caller, staker, claimant, new holder...). */
    account: t.hex(),
    /** The other party, when there is one (provider, payee, previous holder...). */
    counterparty: t.hex(),
    amount: t.bigint(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.id] }),
    invoiceIndex: index().on(table.invoiceId, table.id),
    accountIndex: index().on(table.account, table.id),
    typeIndex: index().on(table.type, table.id),
  }),
);

export const earningsDaily = onchainTable(
  "earnings_daily",
  (t) => ({
    chainId: t.integer().notNull(),
    account: t.hex().notNull(),
    /** 0 protocol tax (treasury), 1 data provider, 2 model optimizer, 3 router, 4 holder. */
    role: t.integer().notNull(),
    day: t.integer().notNull(),
    amount: t.bigint().notNull(),
    payouts: t.integer().notNull(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.account, table.role, table.day] }),
    dayIndex: index().on(table.day),
  }),
);

export const modelDaily = onchainTable(
  "model_daily",
  (t) => ({
    chainId: t.integer().notNull(),
    modelId: t.hex().notNull(),
    day: t.integer().notNull(),
    invoices: t.integer().notNull().default(0),
    inputTokens: t.bigint().notNull().default(0n),
    outputTokens: t.bigint().notNull().default(0n),
    gross: t.bigint().notNull().default(0n),
    sloMet: t.integer().notNull().default(0),
    latencySum: t.bigint().notNull().default(0n),
    latencyMax: t.integer().notNull().default(0),
    settled: t.integer().notNull().default(0),
    paid: t.bigint().notNull().default(0n),
    refunds: t.bigint().notNull().default(0n),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.modelId, table.day] }),
    dayIndex: index().on(table.day),
  }),
);

export const protocolDaily = onchainTable(
  "protocol_daily",
  (t) => ({
    chainId: t.integer().notNull(),
    day: t.integer().notNull(),
    invoices: t.integer().notNull().default(0),
    gross: t.bigint().notNull().default(0n),
    settled: t.integer().notNull().default(0),
    paid: t.bigint().notNull().default(0n),
    tax: t.bigint().notNull().default(0n),
    refunds: t.bigint().notNull().default(0n),
    slashed: t.bigint().notNull().default(0n),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.day] }) }),
);

export const anomaly = onchainTable(
  "anomaly",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
    /** The event that could not be applied as the contracts promise. */
    event: t.text().notNull(),
    /** A stable code, e.g. unknown_invoice, shares_over_total, settlement_mismatch. */
    code: t.text().notNull(),
    message: t.text().notNull(),
    invoiceId: t.bigint(),
    account: t.hex(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.id] }), codeIndex: index().on(table.code) }),
);

/** Protocol-wide state the handlers need: the current treasury (credited the tax). One row per chain, id 1. */
export const protocolState = onchainTable(
  "protocol_state",
  (t) => ({
    chainId: t.integer().notNull(),
    id: t.integer().notNull(),
    treasury: t.hex(),
    taxRateBps: t.integer(),
    cooldown: t.bigint(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.id] }) }),
);

// ----------------------------------------------------------------------------------- relations

export const accountRelations = relations(account, ({ many }) => ({
  callerInvoices: many(invoice, { relationName: "caller" }),
  providerInvoices: many(invoice, { relationName: "provider" }),
  heldInvoices: many(invoice, { relationName: "holder" }),
  payouts: many(payout),
  claims: many(claim),
  slashes: many(slash),
  stakeChanges: many(stakeChange),
  unstakeRequests: many(unstakeRequest),
  earningsDaily: many(earningsDaily),
  activity: many(activity),
}));

export const modelRelations = relations(model, ({ one, many }) => ({
  providerAccount: one(account, {
    fields: [model.chainId, model.provider],
    references: [account.chainId, account.address],
  }),
  /** Named apart from the `invoices` counter, which GraphQL would otherwise hide. */
  issuedInvoices: many(invoice),
  daily: many(modelDaily),
  rateChanges: many(rateChange),
}));

export const invoiceRelations = relations(invoice, ({ one, many }) => ({
  callerAccount: one(account, {
    fields: [invoice.chainId, invoice.caller],
    references: [account.chainId, account.address],
    relationName: "caller",
  }),
  providerAccount: one(account, {
    fields: [invoice.chainId, invoice.provider],
    references: [account.chainId, account.address],
    relationName: "provider",
  }),
  holderAccount: one(account, {
    fields: [invoice.chainId, invoice.holder],
    references: [account.chainId, account.address],
    relationName: "holder",
  }),
  model: one(model, { fields: [invoice.chainId, invoice.modelId], references: [model.chainId, model.modelId] }),
  bundle: one(bundle, { fields: [invoice.chainId, invoice.bundleId], references: [bundle.chainId, bundle.bundleId] }),
  shares: many(invoiceShare),
  datasets: many(datasetUse),
  transfers: many(invoiceTransfer),
  payouts: many(payout),
  slashes: many(slash),
  activity: many(activity),
}));

export const invoiceShareRelations = relations(invoiceShare, ({ one }) => ({
  invoice: one(invoice, {
    fields: [invoiceShare.chainId, invoiceShare.invoiceId],
    references: [invoice.chainId, invoice.invoiceId],
  }),
  contributorAccount: one(account, {
    fields: [invoiceShare.chainId, invoiceShare.contributor],
    references: [account.chainId, account.address],
  }),
}));

export const datasetUseRelations = relations(datasetUse, ({ one }) => ({
  invoice: one(invoice, {
    fields: [datasetUse.chainId, datasetUse.invoiceId],
    references: [invoice.chainId, invoice.invoiceId],
  }),
  dataset: one(dataset, {
    fields: [datasetUse.chainId, datasetUse.datasetHash],
    references: [dataset.chainId, dataset.datasetHash],
  }),
}));

export const datasetRelations = relations(dataset, ({ many }) => ({ uses: many(datasetUse) }));

export const invoiceTransferRelations = relations(invoiceTransfer, ({ one }) => ({
  invoice: one(invoice, {
    fields: [invoiceTransfer.chainId, invoiceTransfer.invoiceId],
    references: [invoice.chainId, invoice.invoiceId],
  }),
}));

export const bundleRelations = relations(bundle, ({ one, many }) => ({
  ownerAccount: one(account, {
    fields: [bundle.chainId, bundle.owner],
    references: [account.chainId, account.address],
  }),
  members: many(invoice),
}));

export const payoutRelations = relations(payout, ({ one }) => ({
  invoice: one(invoice, {
    fields: [payout.chainId, payout.invoiceId],
    references: [invoice.chainId, invoice.invoiceId],
  }),
  accountRow: one(account, {
    fields: [payout.chainId, payout.account],
    references: [account.chainId, account.address],
  }),
}));

export const claimRelations = relations(claim, ({ one }) => ({
  accountRow: one(account, { fields: [claim.chainId, claim.account], references: [account.chainId, account.address] }),
}));

export const stakeChangeRelations = relations(stakeChange, ({ one }) => ({
  stakerAccount: one(account, {
    fields: [stakeChange.chainId, stakeChange.staker],
    references: [account.chainId, account.address],
  }),
}));

export const unstakeRequestRelations = relations(unstakeRequest, ({ one }) => ({
  stakerAccount: one(account, {
    fields: [unstakeRequest.chainId, unstakeRequest.staker],
    references: [account.chainId, account.address],
  }),
}));

export const slashRelations = relations(slash, ({ one }) => ({
  stakerAccount: one(account, {
    fields: [slash.chainId, slash.staker],
    references: [account.chainId, account.address],
  }),
  invoice: one(invoice, { fields: [slash.chainId, slash.invoiceId], references: [invoice.chainId, invoice.invoiceId] }),
}));

export const rateChangeRelations = relations(rateChange, ({ one }) => ({
  model: one(model, { fields: [rateChange.chainId, rateChange.modelId], references: [model.chainId, model.modelId] }),
}));

export const activityRelations = relations(activity, ({ one }) => ({
  invoice: one(invoice, {
    fields: [activity.chainId, activity.invoiceId],
    references: [invoice.chainId, invoice.invoiceId],
  }),
  accountRow: one(account, {
    fields: [activity.chainId, activity.account],
    references: [account.chainId, account.address],
  }),
}));

export const earningsDailyRelations = relations(earningsDaily, ({ one }) => ({
  accountRow: one(account, {
    fields: [earningsDaily.chainId, earningsDaily.account],
    references: [account.chainId, account.address],
  }),
}));

export const modelDailyRelations = relations(modelDaily, ({ one }) => ({
  model: one(model, { fields: [modelDaily.chainId, modelDaily.modelId], references: [model.chainId, model.modelId] }),
}));
