/**
 * The StreamStore of the API process: reads the `slash` and `activity` tables and Ponder's own
 * checkpoint and meta tables through `db` from "ponder:api" (read-only; on PostgreSQL its
 * connections' search path is the indexer's schema, on PGlite src/api/index.ts pins it per query).
 */
import { db } from "ponder:api";
import { activity, slash } from "ponder:schema";
import type { SQL } from "drizzle-orm";
import { and, asc, eq, gt, gte, inArray, lte, sql } from "ponder";
import type { IndexerState, StreamStore } from "./core.js";
import type { StreamFilter, StreamKind, StreamRow } from "./filters.js";

type Rows<T> = { rows: T[] };

/**
 * The readable Ponder state: readiness, head blocks and checkpoints. With several chains, `latest` and
 * `finalized` are the least of the chains' (every row below is indexed, or final, on every chain: a
 * chain that is behind can still insert rows above them, never below), and `heads` has each chain's.
 */
async function indexerState(): Promise<IndexerState | undefined> {
  const result = (await db.execute(sql`
    SELECT c.chain_id AS "chainId", c.latest_checkpoint AS "latest", c.finalized_checkpoint AS "finalized",
      (SELECT (m.value->>'is_ready')::int FROM _ponder_meta m WHERE m.key = 'app') AS "ready"
    FROM _ponder_checkpoint c ORDER BY c.chain_id`)) as unknown as Rows<{
    chainId: number | string;
    latest: string;
    finalized: string;
    ready: number | null;
  }>;
  const first = result.rows[0];
  if (!first) return undefined;
  // Checkpoints are fixed-width strings: they sort as text.
  const least = (values: string[]) => [...values].sort()[0]!;
  return {
    ready: first.ready === 1,
    chainId: Number(first.chainId),
    head: BigInt(first.latest.slice(26, 42)),
    heads: new Map(result.rows.map((row) => [Number(row.chainId), BigInt(row.latest.slice(26, 42))])),
    latest: least(result.rows.map((row) => row.latest)),
    finalized: least(result.rows.map((row) => row.finalized)),
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

/** The store of one stream's table. */
export function ponderStreamStore(kind: StreamKind): StreamStore {
  const table = kind === "slashes" ? slash : activity;
  const conditions = kind === "slashes" ? slashConditions : activityConditions;
  return {
    indexerState,
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
