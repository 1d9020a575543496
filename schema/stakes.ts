/**
 * The StakeManager's history: every change of a stake, unstake requests, and slashes.
 */
import { index, onchainTable, primaryKey } from "ponder";
import { eventRow } from "./columns.js";

export const stakeChange = onchainTable(
  "stake_change",
  (t) =>
    eventRow(t, {
      staker: t.hex().notNull(),
      kind: t.text().$type<"stake" | "unstakeRequest" | "unstake" | "slash">().notNull(),
      amount: t.bigint().notNull(),
      /** Active and pending stake after the change: the stake as of this block. */
      stakeAfter: t.bigint().notNull(),
      pendingAfter: t.bigint().notNull(),
      requestId: t.bigint(),
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
  (t) =>
    eventRow(t, {
      staker: t.hex().notNull(),
      /** Null when the slash is not tied to an invoice (event invoiceId 0). */
      invoiceId: t.bigint(),
      reason: t.integer().notNull(),
      amount: t.bigint().notNull(),
      remainingStake: t.bigint().notNull(),
      evidence: t.hex().notNull(),
    }),
  (table) => ({
    pk: primaryKey({ columns: [table.chainId, table.id] }),
    stakerIndex: index().on(table.staker, table.id),
    reasonIndex: index().on(table.reason, table.id),
    invoiceIndex: index().on(table.invoiceId),
  }),
);
