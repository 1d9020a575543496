/**
 * The SettlementEngine's money movements: payouts credited at settlement, and claims.
 */
import { index, onchainTable, primaryKey } from "ponder";
import { eventRow } from "./columns.js";

export const payout = onchainTable(
  "payout",
  (t) =>
    eventRow(t, {
      invoiceId: t.bigint().notNull(),
      account: t.hex().notNull(),
      role: t.integer().notNull(),
      amount: t.bigint().notNull(),
      /** The share paid (roles 1..3), for statements; null for the holder. */
      shareBps: t.integer(),
      /** The invoice's model, for statements. */
      modelId: t.hex(),
    }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.id] }),
    invoiceIndex: index().on(table.invoiceId),
    accountIndex: index().on(table.account, table.id),
  }),
);

export const claim = onchainTable(
  "claim",
  (t) =>
    eventRow(t, {
      account: t.hex().notNull(),
      amount: t.bigint().notNull(),
    }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.id] }), accountIndex: index().on(table.account) }),
);
