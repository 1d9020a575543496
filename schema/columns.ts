/**
 * Columns that several tables share, written once.
 */
import type { PgColumnBuilderBase, PgColumnsBuilders } from "ponder";

/**
 * The columns of a row made by one event, around the table's own `columns`: first the key,
 * `chainId` and `id` (Ponder's event id: unique per log, sorting in chain order), then `columns`,
 * then where the event is on its chain (`blockNumber`, `logIndex`, `timestamp`, `txHash`: what
 * `eventColumns` in src/lib/rows.ts fills in). Key the table by `[table.chainId, table.id]`.
 */
export function eventRow<columns extends Record<string, PgColumnBuilderBase>>(t: PgColumnsBuilders, columns: columns) {
  return {
    chainId: t.integer().notNull(),
    id: t.text().notNull(),
    ...columns,
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
    txHash: t.hex().notNull(),
  };
}

/** The invoice's columns that `contributorViewColumns` copies (the GraphQL generator reads them). */
export const CONTRIBUTOR_VIEW_COLUMNS = ["modelId", "status", "issuedAt", "settledAt"] as const;

/**
 * The invoice's fields a contributor filters and sorts by, copied onto its `invoiceShare` and
 * `invoiceContributor` rows and kept current (src/lib/contributions.ts): no join needed. GraphQL
 * answers `invoice_: { status: ... }` and `orderBy: "invoice__issuedAt"` on those rows from the
 * copies (src/api/graphql/mirrors.ts).
 */
export function contributorViewColumns(t: PgColumnsBuilders) {
  return {
    modelId: t.hex().notNull(),
    status: t.text().$type<"issued" | "scheduled" | "settled" | "voided">().notNull(),
    issuedAt: t.bigint().notNull(),
    settledAt: t.bigint(),
  } satisfies Record<(typeof CONTRIBUTOR_VIEW_COLUMNS)[number], PgColumnBuilderBase>;
}

/**
 * A dataset's or datanet's figures (docs/rules.md, "Dataset attribution"): the invoices listing it
 * (once each) and their tokens, and the data-provider OPEN attributed to it.
 */
export function attributionColumns(t: PgColumnsBuilders) {
  return {
    invoices: t.integer().notNull().default(0),
    tokens: t.bigint().notNull().default(0n),
    attributed: t.bigint().notNull().default(0n),
  };
}
