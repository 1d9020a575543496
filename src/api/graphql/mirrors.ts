/**
 * Columns a table keeps of its to-one related row. The handlers copy the invoice's `modelId`,
 * `status`, `issuedAt` and `settledAt` onto every `invoiceShare` and `invoiceContributor` row and keep
 * them current (schema/columns.ts, src/lib/contributions.ts), and a share always has its invoice. So a
 * filter `invoice_: { status: "settled" }` on those rows is the row's own `status = 'settled'`, and
 * `orderBy: "invoice__issuedAt"` is its own `issuedAt`: the generator answers both from the copies,
 * with the rows' own indexes, instead of a subquery and a join per row (filters.ts, lists.ts).
 * Answers are the same either way: the GraphQL suite (test/helpers/graphql-suite.ts) checks every copy
 * against the ledger's invoice, test/graphql-mirrors.unit.test.ts the SQL the declaration leads to.
 */
import { CONTRIBUTOR_VIEW_COLUMNS } from "../../../schema/columns.js";

/** Table -> to-one relation -> the related row's columns the table holds under the same names. */
export type MirroredColumns = Record<string, Record<string, readonly string[]>>;

export const MIRRORED_COLUMNS: MirroredColumns = {
  invoiceShare: { invoice: CONTRIBUTOR_VIEW_COLUMNS },
  invoiceContributor: { invoice: CONTRIBUTOR_VIEW_COLUMNS },
};
