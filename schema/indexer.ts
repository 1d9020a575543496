/**
 * What the indexer keeps for itself: anomalies (events it could not apply as the contracts
 * promise), and the protocol parameters the handlers need.
 */
import { index, onchainTable, primaryKey } from "ponder";
import { eventRow } from "./columns.js";

export const anomaly = onchainTable(
  "anomaly",
  (t) =>
    eventRow(t, {
      /** The event that could not be applied as the contracts promise. */
      event: t.text().notNull(),
      /** A stable code, e.g. unknown_invoice, shares_over_total, settlement_mismatch. */
      code: t.text().notNull(),
      message: t.text().notNull(),
      invoiceId: t.bigint(),
      account: t.hex(),
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
