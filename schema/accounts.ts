/**
 * Accounts: one row per address and chain, with what it spent, earned, claimed and staked.
 */
import { index, onchainTable, primaryKey } from "ponder";

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
    /** Invoices with at least one share to the account (an invoice naming it twice counts once). */
    invoicesAsContributor: t.integer().notNull().default(0),
    /** `earned` by role (docs/rules.md): the treasury's tax (role 0), then payouts of roles 1..4. */
    earnedAsTreasury: t.bigint().notNull().default(0n),
    earnedAsDataProvider: t.bigint().notNull().default(0n),
    earnedAsModelOptimizer: t.bigint().notNull().default(0n),
    earnedAsRouter: t.bigint().notNull().default(0n),
    earnedAsHolder: t.bigint().notNull().default(0n),
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
