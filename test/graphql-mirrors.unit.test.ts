import { PgDialect } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import * as schema from "../ponder.schema.js";
import { buildWhere, tableSource } from "../src/api/graphql/filters.js";
import { type ListArgs, sortKeys } from "../src/api/graphql/lists.js";
import { MIRRORED_COLUMNS } from "../src/api/graphql/mirrors.js";
import { readTables } from "../src/api/graphql/tables.js";

const tables = readTables(schema, MIRRORED_COLUMNS);
const dialect = new PgDialect();
const where = (table: string, filter: Record<string, unknown>) => {
  const condition = buildWhere(tables, tableSource(tables[table]!), filter);
  return dialect.sqlToQuery(condition!);
};

describe("GraphQL: filters and sorts on copied invoice columns", () => {
  it("reads the declaration against the schema", () => {
    expect([...tables.invoiceShare!.mirrors.invoice!]).toEqual(["modelId", "status", "issuedAt", "settledAt"]);
    expect([...tables.invoiceContributor!.mirrors.invoice!]).toEqual(["modelId", "status", "issuedAt", "settledAt"]);
    expect(tables.invoice!.mirrors).toEqual({});
  });

  it("refuses a declaration the schema does not bear out", () => {
    expect(() => readTables(schema, { nope: { invoice: ["status"] } })).toThrow(/no table nope/);
    expect(() => readTables(schema, { invoice: { shares: ["status"] } })).toThrow(/invoice.shares is not a to-one/);
    expect(() => readTables(schema, { invoiceShare: { invoice: ["role"] } })).toThrow(
      /invoiceShare.role is not a copy of invoice.role/,
    );
    // Same name, other type: invoiceShare.credited (nullable) is not invoice.paid's copy, nor is status a modelId.
    expect(() => readTables(schema, { invoiceShare: { invoice: ["shareCount"] } })).toThrow(/not a copy/);
  });

  it("tests a copied column on the row itself, the rest in the invoice's subquery", () => {
    const copied = where("invoiceShare", { contributor: "0xab", invoice_: { status: "settled", settledAt_gt: "5" } });
    expect(copied.sql).not.toMatch(/exists/);
    expect(copied.sql).toMatch(/"invoice_share"."status" = \$\d/);
    expect(copied.sql).toMatch(/"invoice_share"."settled_at" > \$\d/);
    expect(copied.params).toEqual(["0xab", "settled", "5"]);

    const mixed = where("invoiceShare", { invoice_: { status_in: ["settled"], paid_gt: "7" } });
    expect(mixed.sql).toMatch(/"invoice_share"."status" in \(\$\d\)/);
    expect(mixed.sql).toMatch(/exists \(select 1 from "invoice" "f\d+" where .*"f\d+"."paid" > \$\d/);

    // Nothing copied: the subquery as before; from the invoice's side, nothing changes either.
    expect(where("invoiceShare", { invoice_: { paid_gt: "7" } }).sql).toMatch(/exists/);
    expect(where("invoice", { shares_some: { status: "settled" } }).sql).toMatch(/exists/);
  });

  it("checks a copied column's values as the invoice's (its value domain)", () => {
    expect(() => where("invoiceShare", { invoice_: { status: "Settled" } })).toThrow(/"issued"/);
  });

  it("sorts by a copied column without joining the invoice, under the relation's name", () => {
    const args: ListArgs = { orderBy: "invoice__issuedAt desc, invoice__paid" };
    const [issuedAt, paid] = sortKeys(tables, tables.invoiceShare!, args);
    expect(issuedAt).toMatchObject({ path: "invoice__issuedAt", columnName: "issuedAt", direction: "desc" });
    expect(issuedAt!.join).toBeUndefined();
    expect(issuedAt!.column).toBe(tables.invoiceShare!.columns.issuedAt);
    expect(paid).toMatchObject({ path: "invoice__paid", columnName: "paid" });
    expect(paid!.join?.relation.name).toBe("invoice");
  });
});
