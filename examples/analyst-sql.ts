/**
 * SQL over HTTP with @ponder/client: protocol-wide earnings by role per day (summed over every
 * indexed chain), and each model's revenue and SLO hit rate per chain and day, for one month.
 * Read-only: the indexer refuses writes.
 *
 *   INDEXER_URL=http://127.0.0.1:42069 npx tsx examples/analyst-sql.ts 20454
 */
import { and, asc, createClient, desc, gte, lt, sql, sum } from "@ponder/client";
import { readEnv } from "../config/env.js";
import * as schema from "../ponder.schema.js";

const indexerUrl = readEnv("INDEXER_URL");
const firstDay = Number(process.argv[2] ?? Math.floor(Date.now() / 86_400_000) - 30);
const client = createClient(`${indexerUrl}/sql`, { schema });
const { earningsDaily, modelDaily } = schema;
const inMonth = (day: typeof earningsDaily.day | typeof modelDaily.day) =>
  and(gte(day, firstDay), lt(day, firstDay + 30));

// Earnings by role per day (role 0 is the protocol tax credited to the treasury).
const earningsByRole = await client.db
  .select({ day: earningsDaily.day, role: earningsDaily.role, credited: sum(earningsDaily.amount) })
  .from(earningsDaily)
  .where(inMonth(earningsDaily.day))
  .groupBy(earningsDaily.day, earningsDaily.role)
  .orderBy(asc(earningsDaily.day), asc(earningsDaily.role))
  .limit(8);

// Revenue and SLO hit rate of each model per day, busiest model-days first.
const modelDays = await client.db
  .select({
    chainId: modelDaily.chainId,
    modelId: modelDaily.modelId,
    day: modelDaily.day,
    invoices: modelDaily.invoices,
    gross: modelDaily.gross,
    paid: modelDaily.paid,
    sloHitRate: sql<string>`round(${modelDaily.sloMet}::numeric / nullif(${modelDaily.invoices}, 0), 4)`,
  })
  .from(modelDaily)
  .where(inMonth(modelDaily.day))
  .orderBy(desc(modelDaily.invoices), asc(modelDaily.chainId), asc(modelDaily.modelId), asc(modelDaily.day))
  .limit(3);

// Amounts are bigint wei: print them as decimal strings.
console.log(JSON.stringify({ earningsByRole, modelDays }, (_, v) => (typeof v === "bigint" ? v.toString() : v), 2));
