/**
 * GET /aggregates/protocol-daily?from=&to=&chainId=: the protocol's daily figures per chain and, for
 * each day, their total over the chains (GraphQL lists rows but cannot add them up across chains).
 * `from` and `to` are days since 1970-01-01 (UTC, inclusive); amounts are decimal strings.
 */
import { db } from "ponder:api";
import { protocolDaily } from "ponder:schema";
import { Hono } from "hono";
import { and, asc, eq, gte, lte, replaceBigInts } from "ponder";
import { dayOf } from "../lib/time.js";
import { AggregateQueryError, type ProtocolDailyRow, parseProtocolDailyQuery, totalsByDay } from "./daily-totals.js";

export const aggregates = new Hono();

aggregates.get("/protocol-daily", async (c) => {
  let query: ReturnType<typeof parseProtocolDailyQuery>;
  try {
    query = parseProtocolDailyQuery(new URL(c.req.url).searchParams, dayOf(BigInt(Math.floor(Date.now() / 1000))));
  } catch (error) {
    if (error instanceof AggregateQueryError) return c.json({ error: error.message }, 400);
    throw error;
  }
  const conditions = [gte(protocolDaily.day, query.from), lte(protocolDaily.day, query.to)];
  if (query.chainId !== undefined) conditions.push(eq(protocolDaily.chainId, query.chainId));
  const rows = (await db
    .select()
    .from(protocolDaily)
    .where(and(...conditions))
    .orderBy(asc(protocolDaily.day), asc(protocolDaily.chainId))) as ProtocolDailyRow[];
  return c.json(replaceBigInts({ ...query, perChain: rows, totals: totalsByDay(rows) }, (value) => value.toString()));
});
