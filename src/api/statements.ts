/**
 * GET /statements/:address?from=&to=&format=json|csv&chainId=: a contributor's statement for the
 * period [from, to) of block timestamps (docs/attribution.md): the opening balance, every credit
 * (payouts, and for the treasury the tax of each invoice settled in the period, as role 0), every
 * claim, and the closing balance, which equals the account's `claimable` as of the last block
 * before `to`. The query and the arithmetic are in statement-core.ts.
 */
import { db } from "ponder:api";
import { claim, invoice, payout, protocolState } from "ponder:schema";
import { Hono } from "hono";
import { and, asc, eq, gte, lt, replaceBigInts, sql } from "ponder";
import {
  buildStatement,
  MAX_STATEMENT_LINES,
  parseStatementQuery,
  type StatementLine,
  StatementQueryError,
  statementCsv,
  statementJson,
} from "./statement-core.js";

export const statements = new Hono();

/** The sum of a bigint column as a bigint (0 over no rows). */
const total = (column: typeof payout.amount | typeof claim.amount | typeof invoice.tax) =>
  sql<string>`coalesce(sum(${column}), 0)`.mapWith(String);

statements.get("/:address", async (c) => {
  let query: ReturnType<typeof parseStatementQuery>;
  try {
    query = parseStatementQuery(c.req.param("address"), new URL(c.req.url).searchParams);
  } catch (error) {
    if (error instanceof StatementQueryError) return c.json({ error: error.message }, 400);
    throw error;
  }
  const { address, from, to } = query;

  // A statement is of one chain: the one asked for, or the only one indexed.
  let chainId = query.chainId;
  if (chainId === undefined) {
    const chains = await db.selectDistinct({ chainId: protocolState.chainId }).from(protocolState);
    if (chains.length !== 1) {
      return c.json({ error: `"chainId" is required: ${chains.length} chains are indexed` }, 400);
    }
    chainId = chains[0].chainId;
  }
  const start = BigInt(from);
  const end = BigInt(to);
  const ofPayouts = and(eq(payout.chainId, chainId), eq(payout.account, address));
  const ofTaxes = and(eq(invoice.chainId, chainId), eq(invoice.taxCreditedTo, address));
  const ofClaims = and(eq(claim.chainId, chainId), eq(claim.account, address));

  const [[paidBefore], [taxBefore], [claimedBefore]] = await Promise.all([
    db
      .select({ sum: total(payout.amount) })
      .from(payout)
      .where(and(ofPayouts, lt(payout.timestamp, start))),
    db
      .select({ sum: total(invoice.tax) })
      .from(invoice)
      .where(and(ofTaxes, lt(invoice.settledAt, start))),
    db
      .select({ sum: total(claim.amount) })
      .from(claim)
      .where(and(ofClaims, lt(claim.timestamp, start))),
  ]);
  const [payouts, taxes, claims] = await Promise.all([
    db
      .select()
      .from(payout)
      .where(and(ofPayouts, gte(payout.timestamp, start), lt(payout.timestamp, end)))
      .orderBy(asc(payout.id))
      .limit(MAX_STATEMENT_LINES + 1),
    db
      .select({
        invoiceId: invoice.invoiceId,
        modelId: invoice.modelId,
        tax: invoice.tax,
        settledAt: invoice.settledAt,
      })
      .from(invoice)
      .where(and(ofTaxes, gte(invoice.settledAt, start), lt(invoice.settledAt, end)))
      .orderBy(asc(invoice.settledAt), asc(invoice.invoiceId))
      .limit(MAX_STATEMENT_LINES + 1),
    db
      .select()
      .from(claim)
      .where(and(ofClaims, gte(claim.timestamp, start), lt(claim.timestamp, end)))
      .orderBy(asc(claim.id))
      .limit(MAX_STATEMENT_LINES + 1),
  ]);
  if (payouts.length + taxes.length + claims.length > MAX_STATEMENT_LINES) {
    return c.json({ error: `"to": the period has over ${MAX_STATEMENT_LINES} lines; ask for a shorter period` }, 400);
  }

  const lines: StatementLine[] = [
    ...payouts.map((row) => ({
      kind: "credit" as const,
      timestamp: row.timestamp,
      invoiceId: row.invoiceId,
      role: row.role,
      shareBps: row.shareBps,
      modelId: row.modelId,
      amount: row.amount,
    })),
    ...taxes.map((row) => ({
      kind: "credit" as const,
      timestamp: row.settledAt as bigint,
      invoiceId: row.invoiceId,
      role: 0,
      shareBps: null,
      modelId: row.modelId,
      amount: row.tax as bigint,
    })),
    ...claims.map((row) => ({
      kind: "claim" as const,
      timestamp: row.timestamp,
      txHash: row.txHash,
      amount: row.amount,
    })),
  ];
  const statement = buildStatement(BigInt(paidBefore.sum) + BigInt(taxBefore.sum), BigInt(claimedBefore.sum), lines);
  if (query.format === "csv") {
    return c.body(statementCsv(statement, from, to), 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="statement-${address}-${from}-${to}.csv"`,
    });
  }
  return c.json(
    replaceBigInts({ address, chainId, from, to, ...statementJson(statement) }, (value) => value.toString()),
  );
});
