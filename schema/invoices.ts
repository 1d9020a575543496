/**
 * The InvoiceRegistry's objects: models, invoices with their shares and datasets, the invoices'
 * transfers, and bundles.
 */
import { index, onchainTable, primaryKey } from "ponder";
import { attributionColumns, contributorViewColumns, eventRow } from "./columns.js";

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
    /** The treasury the tax was credited to (statements' role-0 lines); null until settled. */
    taxCreditedTo: t.hex(),
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
    /** Sum of the data-provider payouts (role 1) of the settlement: what its datasets are attributed. */
    dataProviderCredited: t.bigint().notNull().default(0n),
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
    ...contributorViewColumns(t),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.invoiceId, table.position] }),
    // A contributor's shares by invoice status, newest issued or settled first, in the order GraphQL
    // asks for them (`invoice__issuedAt desc` / `invoice__settledAt desc, invoiceId desc`, then the
    // key): the first page is read off the index, and the count is an index-only scan.
    contributorIssuedIndex: index().on(
      table.contributor,
      table.status,
      table.issuedAt,
      table.chainId,
      table.invoiceId,
      table.position,
    ),
    contributorSettledIndex: index().on(
      table.contributor,
      table.status,
      table.settledAt,
      table.invoiceId,
      table.chainId,
      table.position,
    ),
  }),
);

/**
 * One row per (invoice, contributor): a contributor named by several shares of one invoice appears
 * once, with their shares summed. Carries the invoice's filter fields like `invoiceShare`.
 */
export const invoiceContributor = onchainTable(
  "invoice_contributor",
  (t) => ({
    chainId: t.integer().notNull(),
    invoiceId: t.bigint().notNull(),
    contributor: t.hex().notNull(),
    /** How many shares of the invoice name the contributor. */
    shares: t.integer().notNull(),
    shareBps: t.integer().notNull(),
    /** Sum of those shares' payouts; null until the invoice settles. */
    credited: t.bigint(),
    ...contributorViewColumns(t),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.invoiceId, table.contributor] }),
    contributorIndex: index().on(table.contributor, table.invoiceId),
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
    /** The data-provider OPEN attributed to this position when the invoice settled (docs/rules.md); null until then. */
    attributed: t.bigint(),
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
    /** Data-provider OPEN attributed to it over its lifetime (docs/rules.md, "Dataset attribution"). */
    attributed: t.bigint().notNull().default(0n),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.datasetHash] }),
    datanetIndex: index().on(table.datanetId),
  }),
);

/** A datanet: the datasets that named it at their first use, and the lifetime figures of its invoices. */
export const datanet = onchainTable(
  "datanet",
  (t) => ({
    chainId: t.integer().notNull(),
    datanetId: t.hex().notNull(),
    /** Datasets whose first use named this datanet. */
    datasetCount: t.integer().notNull().default(0),
    /** Invoices listing at least one of its datasets (once each), their tokens, the OPEN attributed to its uses. */
    ...attributionColumns(t),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.datanetId] }) }),
);

export const invoiceTransfer = onchainTable(
  "invoice_transfer",
  (t) =>
    eventRow(t, {
      invoiceId: t.bigint().notNull(),
      from: t.hex().notNull(),
      to: t.hex().notNull(),
      /** Set when the transfer moved a whole bundle. */
      bundleId: t.bigint(),
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
