/**
 * `<table>Aggregate(where, groupBy, interval, timeColumn, limit, offset)`: one row per group with
 * `count` and the `sum`, `min`, `max` and `avg` of numeric columns, computed by the database and
 * returned as exact decimal strings (never floats). `interval` buckets a time column by UTC hour,
 * day, ISO week (from Monday 00:00 UTC) or calendar month; the bucket is its start, in unix seconds.
 *
 * Time columns are found by name: bigint unix seconds named `timestamp` or ending in `At`
 * (`issuedAt`, `settledAt`...), and integer `day` columns (days since 1970-01-01, the daily tables).
 */
import { and, asc, type Column, type SQL, sql } from "drizzle-orm";
import { GraphQLError } from "graphql";
import { buildWhere, tableSource } from "./filters.js";
import { checkLimit } from "./lists.js";
import { type Runner, runStatement } from "./runner.js";
import { columnKind, isNumericKind, type TableInfo } from "./tables.js";

export const INTERVALS = {
  hour: "UTC hours",
  day: "UTC days",
  week: "ISO weeks: Monday 00:00 UTC to the next Monday",
  month: "calendar months in UTC",
} as const;
export type Interval = keyof typeof INTERVALS;

export const AGGREGATE_FUNCTIONS = ["sum", "min", "max", "avg"] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** At most this many groupBy columns. */
export const MAX_GROUP_BY = 8;
export const DEFAULT_AGGREGATE_LIMIT = 100;

/** The time columns of a table and how each converts to unix seconds. */
export function timeColumns(info: TableInfo): Record<string, (column: Column) => SQL> {
  const found: Record<string, (column: Column) => SQL> = {};
  for (const [name, column] of Object.entries(info.columns)) {
    const kind = columnKind(column);
    if (kind === "bigint" && (name === "timestamp" || /[a-z]At$/.test(name))) found[name] = (c) => sql`${c}`;
    if (kind === "int" && name === "day") found[name] = (c) => sql`(${c}::bigint * 86400)`;
  }
  return found;
}

/** Columns a table can be grouped by: every scalar column. */
export function groupableColumns(info: TableInfo): string[] {
  return Object.entries(info.columns)
    .filter(([, column]) => !["list", "json"].includes(columnKind(column)))
    .map(([name]) => name);
}

/** Columns sums and averages apply to. */
export function numericColumns(info: TableInfo): string[] {
  return Object.entries(info.columns)
    .filter(([, column]) => isNumericKind(columnKind(column)))
    .map(([name]) => name);
}

export type AggregateArgs = {
  where?: Record<string, unknown> | null;
  groupBy?: string[] | null;
  interval?: Interval | null;
  timeColumn?: string | null;
  limit?: number | null;
  offset?: number | null;
};

/** Which aggregates the query asked for: function → columns. */
export type Wanted = { count: boolean; functions: Partial<Record<AggregateFunction, Set<string>>> };

function aggregateExpression(fn: AggregateFunction, column: Column): SQL {
  // ::numeric first, so integer sums cannot overflow. An average is the exact sum over the count,
  // rounded to 18 decimal places (a scale-20 dividend makes PostgreSQL divide to at least 20 places);
  // trim_scale drops trailing zeros, so whole values print as integers.
  if (fn === "avg")
    return sql`trim_scale(round(sum(${column}::numeric)::numeric(120, 20) / nullif(count(${column}), 0), 18))::text`;
  return sql.raw(fn).append(sql`(${column}::numeric)::text`);
}

/** Runs one aggregate query. */
export async function aggregateRows(
  runner: Runner,
  tables: Record<string, TableInfo>,
  info: TableInfo,
  args: AggregateArgs,
  wanted: Wanted,
): Promise<Record<string, unknown>[]> {
  const limit = checkLimit(args.limit, DEFAULT_AGGREGATE_LIMIT);
  const offset = args.offset ?? 0;
  if (offset < 0) throw new GraphQLError(`Invalid offset. Got ${offset}, expected >=0.`);
  const groupBy = [...new Set(args.groupBy ?? [])];
  if (groupBy.length > MAX_GROUP_BY)
    throw new GraphQLError(`groupBy limit of ${MAX_GROUP_BY} columns exceeded (got ${groupBy.length})`);
  const fields: Record<string, unknown> = {};
  const groupExpressions: (Column | SQL)[] = [];
  let bucket: SQL | undefined;
  if (args.interval) {
    const times = timeColumns(info);
    const name = args.timeColumn ?? ("timestamp" in times ? "timestamp" : Object.keys(times)[0]);
    if (name === undefined || !times[name])
      throw new GraphQLError(`${info.name} has no time column${name ? ` "${name}"` : ""} to bucket by interval`);
    const seconds = times[name]!(info.columns[name]!);
    const unit = sql.raw(`'${args.interval}'`);
    bucket = sql`extract(epoch from date_trunc(${unit}, to_timestamp((${seconds})::double precision) at time zone 'UTC'))::bigint::text`;
    fields.__bucket = bucket;
    groupExpressions.push(bucket);
  } else if (args.timeColumn) {
    throw new GraphQLError("timeColumn needs an interval (hour, day, week or month)");
  }
  for (const name of groupBy) {
    fields[`__group_${name}`] = info.columns[name]!;
    groupExpressions.push(info.columns[name]!);
  }
  fields.__count = sql<number>`count(*)::int`;
  for (const fn of AGGREGATE_FUNCTIONS) {
    for (const name of wanted.functions[fn] ?? [])
      fields[`__${fn}_${name}`] = aggregateExpression(fn, info.columns[name]!);
  }
  const where = and(buildWhere(tables, tableSource(info), args.where));
  const rows = await runStatement(runner, (db) => {
    const query = db.select(fields).from(info.table).where(where);
    const grouped = groupExpressions.length > 0 ? query.groupBy(...groupExpressions) : query;
    const ordered =
      groupExpressions.length > 0
        ? grouped.orderBy(
            ...(bucket ? [asc(sql`${bucket}::numeric`)] : []),
            ...groupBy.map((name) => asc(info.columns[name]!)),
          )
        : grouped;
    return ordered.limit(limit).offset(offset);
  });
  return rows.map((row) => {
    const key: Record<string, unknown> = {};
    for (const name of groupBy) key[name] = row[`__group_${name}`];
    const group: Record<string, unknown> = {
      key,
      bucket: row.__bucket ?? null,
      count: row.__count,
    };
    for (const fn of AGGREGATE_FUNCTIONS) {
      const values: Record<string, unknown> = {};
      for (const name of wanted.functions[fn] ?? []) values[name] = row[`__${fn}_${name}`];
      group[fn] = values;
    }
    return group;
  });
}
