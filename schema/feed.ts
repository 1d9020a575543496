/**
 * Protocol-wide event rows: parameter changes (tax rate, treasury, cooldown, model terms) and the
 * activity feed, one row per indexed event.
 */
import { index, onchainTable, primaryKey } from "ponder";
import { eventRow } from "./columns.js";

export const rateChange = onchainTable(
  "rate_change",
  (t) =>
    eventRow(t, {
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
    }),
  (table) => ({ pk: primaryKey({ columns: [table.chainId, table.id] }), modelIndex: index().on(table.modelId) }),
);

export const activity = onchainTable(
  "activity",
  (t) =>
    eventRow(t, {
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
    }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.id] }),
    invoiceIndex: index().on(table.invoiceId, table.id),
    accountIndex: index().on(table.account, table.id),
    typeIndex: index().on(table.type, table.id),
  }),
);
