/**
 * Lists (`invoices`, `shares` of an invoice...): filter, several sort keys, offsets and exact cursors.
 *
 * `orderBy` is a comma-separated list of keys, each a column (`settledAt`) or a to-one relation's
 * column in The Graph's form (`invoice__issuedAt`), optionally followed by `asc` or `desc`; a key
 * without a direction takes `orderDirection` (default `asc`). The primary key columns not already
 * listed are appended, so the order is total and pages are stable.
 *
 * NULLs sort as PostgreSQL sorts them by default: after every value ascending, before every value
 * descending. A cursor is the row's sort key values (NULLs included), and the page after it is
 * everything strictly after that tuple in this order, so paging visits every row exactly once
 * whatever the order and however many NULLs it has.
 */
import {
  and,
  asc,
  type Column,
  desc,
  eq,
  getTableColumns,
  gt,
  isNotNull,
  isNull,
  lt,
  or,
  type SQL,
  sql,
} from "drizzle-orm";
import { GraphQLError } from "graphql";
import superjson from "superjson";
import { aliasedSource, buildWhere, joinCondition, type Source, tableSource } from "./filters.js";
import { type Database, type Runner, runStatements } from "./runner.js";
import type { RelationInfo, TableInfo } from "./tables.js";

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1000;

/** Arguments of a list field. */
export type ListArgs = {
  where?: Record<string, unknown> | null;
  orderBy?: string | null;
  orderDirection?: string | null;
  after?: string | null;
  before?: string | null;
  limit?: number | null;
  offset?: number | null;
};

type Direction = "asc" | "desc";
type SortKey = {
  /** `column` or `relation__column`, as written in orderBy. */
  path: string;
  direction: Direction;
  column: Column;
  /** For a joined relation's column: the field the value is selected as. */
  selectedAs?: string;
  columnName: string;
  join?: { relation: RelationInfo; source: Source };
};

/** Refuses a limit outside 0..1000 with Ponder's message. */
export function checkLimit(limit: number | null | undefined, fallback = DEFAULT_LIMIT): number {
  const value = limit ?? fallback;
  if (value > MAX_LIMIT) throw new GraphQLError(`Invalid limit. Got ${value}, expected <=${MAX_LIMIT}.`);
  if (value < 0) throw new GraphQLError(`Invalid limit. Got ${value}, expected >=0.`);
  return value;
}

function parseDirection(text: string | null | undefined, what: string): Direction {
  const direction = (text ?? "asc").toLowerCase();
  if (direction !== "asc" && direction !== "desc")
    throw new GraphQLError(`Invalid ${what}: expected "asc" or "desc", got ${JSON.stringify(text)?.slice(0, 40)}`);
  return direction;
}

const KEY_PATTERN = /^([A-Za-z_][A-Za-z0-9_]*?)(?:__([A-Za-z_][A-Za-z0-9_]*))?(?:\s+(asc|desc|ASC|DESC))?$/;

/** Reads `orderBy`/`orderDirection` into sort keys ending with the primary key. */
export function sortKeys(tables: Record<string, TableInfo>, info: TableInfo, args: ListArgs): SortKey[] {
  const defaultDirection = parseDirection(args.orderDirection, "orderDirection");
  const base = tableSource(info);
  const keys: SortKey[] = [];
  const joins = new Map<string, Source>();
  const parts = args.orderBy ? args.orderBy.split(",").map((part) => part.trim()) : [];
  if (parts.length > 8) throw new GraphQLError(`orderBy takes at most 8 keys, got ${parts.length}`);
  for (const part of parts) {
    const match = KEY_PATTERN.exec(part);
    if (!match) throw new GraphQLError(`Unknown column ${JSON.stringify(part.slice(0, 80))} used in orderBy argument`);
    const [, first, second, directionText] = match;
    const direction = directionText ? (directionText.toLowerCase() as Direction) : defaultDirection;
    if (second === undefined) {
      if (!info.columns[first!])
        throw new GraphQLError(`Unknown column "${first}" used in orderBy argument (columns of ${info.name})`);
      keys.push({ path: first!, direction, column: info.columns[first!]!, columnName: first! });
      continue;
    }
    const relation = info.relations[first!];
    if (relation?.kind !== "one" || !relation.unique)
      throw new GraphQLError(`orderBy "${first}__${second}": "${first}" is not a to-one relation of ${info.name}`);
    const target = tables[relation.target]!;
    if (!target.columns[second])
      throw new GraphQLError(`orderBy "${first}__${second}": ${target.name} has no column "${second}"`);
    if (info.mirrors[relation.name]?.has(second)) {
      // This row keeps a copy of the related column (./mirrors.ts): sort by it, no join.
      keys.push({ path: `${first}__${second}`, direction, column: base.column(second), columnName: second });
      continue;
    }
    let source = joins.get(relation.name);
    if (!source) {
      source = aliasedSource(target, "o");
      joins.set(relation.name, source);
    }
    keys.push({
      path: `${first}__${second}`,
      direction,
      column: source.column(second),
      selectedAs: `__sort${keys.length}`,
      columnName: second,
      join: { relation, source },
    });
  }
  const tieDirection = keys.length > 0 ? keys[keys.length - 1]!.direction : defaultDirection;
  for (const key of info.primaryKey) {
    if (keys.some((existing) => existing.path === key)) continue;
    keys.push({ path: key, direction: tieDirection, column: base.column(key), columnName: key });
  }
  return keys;
}

function keyValue(key: SortKey, row: Record<string, unknown>): unknown {
  return row[key.selectedAs ?? key.columnName];
}

/**
 * The cursor of a row: base64 of superjson of { key path: value } in sort key order, which is exactly
 * Ponder's cursor for Ponder's orders, so cursors kept by clients (and the README's) stay valid.
 */
export function encodeCursor(keys: SortKey[], row: Record<string, unknown>): string {
  const fragment = Object.fromEntries(keys.map((key) => [key.path, keyValue(key, row)]));
  return Buffer.from(superjson.stringify(fragment)).toString("base64");
}

function decodeCursor(keys: SortKey[], cursor: string): unknown[] {
  let fragment: unknown;
  try {
    fragment = superjson.parse(Buffer.from(cursor, "base64").toString("utf8"));
  } catch {
    throw new GraphQLError("Invalid cursor: not a cursor this API returned");
  }
  if (typeof fragment !== "object" || fragment === null || Array.isArray(fragment))
    throw new GraphQLError("Invalid cursor: not a cursor this API returned");
  const paths = Object.keys(fragment);
  if (paths.join(",") !== keys.map((key) => key.path).join(","))
    throw new GraphQLError(
      `Invalid cursor: it was made for the order "${paths.join(", ").slice(0, 200)}", not "${keys.map((key) => key.path).join(", ")}"`,
    );
  return keys.map((key) => {
    const value = (fragment as Record<string, unknown>)[key.path];
    if (value !== null && !["string", "number", "boolean", "bigint"].includes(typeof value))
      throw new GraphQLError("Invalid cursor value");
    return value;
  });
}

/**
 * Rows strictly after the cursor tuple in the order of `keys` (NULL above every value): for each key i,
 * the keys before it equal and key i strictly after.
 */
function afterCondition(keys: SortKey[], values: unknown[], flip: boolean): SQL {
  const equal = (key: SortKey, value: unknown) => (value === null ? isNull(key.column) : eq(key.column, value));
  const strictlyAfter = (key: SortKey, value: unknown): SQL => {
    const ascending = (key.direction === "asc") !== flip;
    if (ascending) return value === null ? sql`false` : or(gt(key.column, value), isNull(key.column))!;
    return value === null ? isNotNull(key.column) : lt(key.column, value);
  };
  const branches = keys.map(
    (key, i) =>
      and(...keys.slice(0, i).map((previous, j) => equal(previous, values[j])), strictlyAfter(key, values[i]))!,
  );
  return or(...branches)!;
}

/** A page of a list, in Ponder's shape. */
export type Page = {
  items: Record<string, unknown>[];
  totalCount: number | null;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
};

/**
 * Runs a list query: `extra` restricts it (a to-many relation's join to its parent), `wantTotal`
 * adds the count of every matching row.
 */
export async function listRows(
  runner: Runner,
  tables: Record<string, TableInfo>,
  info: TableInfo,
  args: ListArgs,
  extra: SQL | undefined,
  wantTotal: boolean,
): Promise<Page> {
  const limit = checkLimit(args.limit);
  const offset = args.offset ?? 0;
  if (offset < 0) throw new GraphQLError(`Invalid offset. Got ${offset}, expected >=0.`);
  const after = args.after ?? null;
  const before = args.before ?? null;
  if (after !== null && before !== null) throw new GraphQLError("Cannot specify both before and after cursors.");
  if (after !== null && offset > 0) throw new GraphQLError("Cannot specify both after cursor and offset.");
  if (before !== null && offset > 0) throw new GraphQLError("Cannot specify both before cursor and offset.");

  const keys = sortKeys(tables, info, args);
  const filter = and(buildWhere(tables, tableSource(info), args.where), extra);
  let cursorCondition: SQL | undefined;
  if (after !== null) cursorCondition = afterCondition(keys, decodeCursor(keys, after), false);
  if (before !== null) cursorCondition = afterCondition(keys, decodeCursor(keys, before), true);
  const backwards = before !== null;

  const fields: Record<string, unknown> = { ...getTableColumns(info.table) };
  for (const key of keys) if (key.selectedAs) fields[key.selectedAs] = key.column;
  const order = keys.map((key) => ((key.direction === "asc") !== backwards ? asc(key.column) : desc(key.column)));
  const joined = new Map<string, { relation: RelationInfo; source: Source }>();
  for (const key of keys) if (key.join) joined.set(key.join.relation.name, key.join);

  const statements: ((db: Database) => PromiseLike<Record<string, unknown>[]>)[] = [
    (db) => {
      let query = db.select(fields).from(info.table);
      for (const { relation, source } of joined.values())
        query = query.leftJoin(source.table, joinCondition(relation, tableSource(info), source));
      return query
        .where(and(filter, cursorCondition))
        .orderBy(...order)
        .limit(limit + 1)
        .offset(offset);
    },
  ];
  if (wantTotal)
    statements.push((db) => db.select({ count: sql<number>`count(*)::int` }).from(info.table).where(filter));
  const [rows, counted] = (await runStatements(runner, statements)) as [
    Record<string, unknown>[],
    Record<string, unknown>[]?,
  ];
  const total = counted ? Number(counted[0]?.count ?? 0) : null;

  const more = rows.length > limit;
  if (more) rows.pop();
  if (backwards) rows.reverse();
  const items = rows.map((row) => {
    const item = { ...row };
    for (const key of keys) if (key.selectedAs) delete item[key.selectedAs];
    return item;
  });
  return {
    items,
    totalCount: total,
    pageInfo: {
      hasNextPage: backwards ? true : more,
      hasPreviousPage: backwards ? more : after !== null || offset > 0,
      startCursor: rows.length > 0 ? encodeCursor(keys, rows[0]!) : null,
      endCursor: rows.length > 0 ? encodeCursor(keys, rows[rows.length - 1]!) : null,
    },
  };
}
