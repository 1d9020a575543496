/**
 * Daily aggregates, keyed by the UTC day of the block (`floor(timestamp / 86400)`).
 */
import { index, onchainTable, primaryKey } from "ponder";
import { attributionColumns } from "./columns.js";

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
    /** Data-provider OPEN of invoices settled this day that list no dataset (docs/rules.md). */
    unattributed: t.bigint().notNull().default(0n),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.day] }) }),
);

/**
 * A dataset's day: the invoices issued that day listing it (once each) and their tokens, and the
 * data-provider OPEN attributed to it by the invoices settled that day (docs/rules.md).
 */
export const datasetDaily = onchainTable(
  "dataset_daily",
  (t) => ({
    chainId: t.integer().notNull(),
    datasetHash: t.hex().notNull(),
    day: t.integer().notNull(),
    ...attributionColumns(t),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.datasetHash, table.day] }),
    dayIndex: index().on(table.day),
  }),
);

/** A datanet's day, as `datasetDaily`: an invoice listing several of its datasets counts once. */
export const datanetDaily = onchainTable(
  "datanet_daily",
  (t) => ({
    chainId: t.integer().notNull(),
    datanetId: t.hex().notNull(),
    day: t.integer().notNull(),
    ...attributionColumns(t),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.datanetId, table.day] }),
    dayIndex: index().on(table.day),
  }),
);
