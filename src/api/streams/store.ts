/**
 * The StreamStore of the API process: reads the `slash` and `activity` tables and Ponder's own
 * checkpoint and meta tables (through src/api/ponder-internals.ts) with `db` from "ponder:api"
 * (read-only; on PostgreSQL its connections' search path is the indexer's schema, on PGlite
 * src/api/index.ts pins it per query).
 */
import { db } from "ponder:api";
import { activity, slash } from "ponder:schema";
import type { SQL } from "drizzle-orm";
import { and, asc, eq, gt, gte, inArray, lte, sql } from "ponder";
import { checkpointBlockNumber, type ReadQuery, readIndexerProgress } from "../ponder-internals.js";
import type { IndexerState, StreamStore } from "./core.js";
import type { StreamFilter, StreamKind, StreamRow } from "./filters.js";

type Rows<T> = { rows: T[] };

/**
 * The readable Ponder state: readiness, head blocks and checkpoints. With several chains, `latest` and
 * `finalized` are the least of the chains' (every row below is indexed, or final, on every chain: a
 * chain that is behind can still insert rows above them, never below), and `heads` has each chain's.
 */
async function indexerState(read: ReadQuery): Promise<IndexerState | undefined> {
  const progress = await readIndexerProgress(read);
  const first = progress?.chains[0];
  if (!progress || !first) return undefined;
  // Checkpoints are fixed-width strings: they sort as text.
  const least = (values: string[]) => [...values].sort()[0]!;
  return {
    ready: progress.ready,
    chainId: first.chainId,
    head: checkpointBlockNumber(first.latest),
    heads: new Map(progress.chains.map((chain) => [chain.chainId, checkpointBlockNumber(chain.latest)])),
    latest: least(progress.chains.map((chain) => chain.latest)),
    finalized: least(progress.chains.map((chain) => chain.finalized)),
  };
}

function slashConditions(filter: StreamFilter): SQL[] {
  const conditions: SQL[] = [];
  if (filter.kind !== "slashes") return conditions;
  if (filter.stakers) conditions.push(inArray(slash.staker, filter.stakers as `0x${string}`[]));
  if (filter.reasons) conditions.push(inArray(slash.reason, filter.reasons));
  if (filter.minAmount !== undefined) conditions.push(gte(slash.amount, filter.minAmount));
  return conditions;
}

function activityConditions(filter: StreamFilter): SQL[] {
  const conditions: SQL[] = [];
  if (filter.kind !== "activity") return conditions;
  if (filter.types) conditions.push(inArray(activity.type, filter.types));
  if (filter.accounts) conditions.push(inArray(activity.account, filter.accounts as `0x${string}`[]));
  if (filter.invoiceId !== undefined) conditions.push(eq(activity.invoiceId, filter.invoiceId));
  return conditions;
}

/** The store of one stream's table; `read` runs SQL on the API's database (for Ponder's own tables). */
export function ponderStreamStore(kind: StreamKind, read: ReadQuery): StreamStore {
  const table = kind === "slashes" ? slash : activity;
  const conditions = kind === "slashes" ? slashConditions : activityConditions;
  return {
    indexerState: () => indexerState(read),
    async rowsAfter(after, limit, upTo, filter) {
      const where = [gt(table.id, after)];
      if (upTo !== undefined) where.push(lte(table.id, upTo));
      if (filter) where.push(...conditions(filter));
      const rows = await db
        .select()
        .from(table)
        .where(and(...where))
        .orderBy(asc(table.id))
        .limit(limit);
      return rows as unknown as StreamRow[];
    },
    async fingerprint(after, upTo) {
      const result = (await db.execute(sql`
        SELECT count(*)::int AS "count",
          coalesce(md5(string_agg(${table.id}, ',' ORDER BY ${table.id} COLLATE "C")), '') AS "md5"
        FROM ${table} WHERE ${table.id} > ${after} AND ${table.id} <= ${upTo}`)) as unknown as Rows<{
        count: number;
        md5: string;
      }>;
      const row = result.rows[0];
      return { count: Number(row?.count ?? 0), md5: row?.md5 ?? "" };
    },
    async maxId() {
      const result = (await db.execute(sql`SELECT max(${table.id}) AS "id" FROM ${table}`)) as unknown as Rows<{
        id: string | null;
      }>;
      return result.rows[0]?.id ?? "";
    },
  };
}
