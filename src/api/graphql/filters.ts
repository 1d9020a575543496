/**
 * `where` arguments to SQL. Column conditions are Ponder's (`field`, `_not`, `_in`, `_gt`, `_contains`...);
 * relation conditions are The Graph's: a to-one relation `invoice_: {...}` is true when the related row
 * exists and matches; a to-many relation has `shares_some` (at least one related row matches),
 * `shares_every` (no related row fails to match; true when there is none) and `shares_none` (no related
 * row matches). Each is an `EXISTS` subquery on the relation's join columns, so filters nest to any
 * relation and combine with `AND`/`OR`, and every table keeps using its indexes.
 */
import {
  and,
  arrayContained,
  arrayContains,
  type Column,
  eq,
  gt,
  gte,
  ilike,
  inArray,
  isNotNull,
  isNull,
  like,
  lt,
  lte,
  ne,
  not,
  notIlike,
  notInArray,
  notLike,
  or,
  type SQL,
  sql,
} from "drizzle-orm";
import { alias, type PgTable } from "drizzle-orm/pg-core";
import { GraphQLError } from "graphql";
import { checkDomainValue, DOMAIN_COLUMNS, DOMAINS } from "./scalars.js";
import type { RelationInfo, TableInfo } from "./tables.js";

/** Nested relation filters beyond this depth are refused (each level is a correlated subquery). */
export const MAX_RELATION_FILTER_DEPTH = 4;
/** `AND`/`OR` nesting beyond this depth is refused. */
export const MAX_BOOLEAN_FILTER_DEPTH = 64;

/** Column condition suffixes, longest first so that `_not_in` is not read as `_in`. */
export const CONDITION_SUFFIXES = {
  universal: ["", "_not"],
  singular: ["_in", "_not_in"],
  plural: ["_has", "_not_has"],
  numeric: ["_gt", "_lt", "_gte", "_lte"],
  string: [
    "_contains",
    "_not_contains",
    "_starts_with",
    "_ends_with",
    "_not_starts_with",
    "_not_ends_with",
    "_contains_nocase",
    "_not_contains_nocase",
    "_starts_with_nocase",
    "_ends_with_nocase",
    "_not_starts_with_nocase",
    "_not_ends_with_nocase",
  ],
} as const;
const SUFFIXES_LONGEST_FIRST = Object.values(CONDITION_SUFFIXES)
  .flat()
  .sort((a, b) => b.length - a.length);

/** The suffixes of relation filters, by relation kind. */
export const RELATION_SUFFIXES = { one: ["_"], many: ["_some", "_every", "_none"] } as const;

/** A table, or an alias of it, whose columns conditions refer to. */
export type Source = {
  info: TableInfo;
  /** The table, or its alias (what a join takes). */
  table: PgTable;
  /** What a FROM clause of a subquery says: the table, with its alias if any. */
  from: SQL;
  column: (key: string) => Column;
};

/** The table itself as a source. */
export function tableSource(info: TableInfo): Source {
  return { info, table: info.table, from: sql`${info.table}`, column: (key) => info.columns[key]! };
}

let aliasCounter = 0;
/** A fresh alias of a table (unique names, so nested subqueries never shadow an outer table). */
export function aliasedSource(info: TableInfo, prefix: string): Source {
  aliasCounter = (aliasCounter + 1) % 1_000_000;
  const name = `${prefix}${aliasCounter}`;
  const aliased = alias(info.table, name) as unknown as PgTable & Record<string, Column>;
  return { info, table: aliased, from: sql`${info.table} ${sql.identifier(name)}`, column: (key) => aliased[key]! };
}

/** `outer.own = inner.other` for every join pair of a relation. */
export function joinCondition(relation: RelationInfo, outer: Source, inner: Source): SQL {
  return and(...relation.join.map((pair) => eq(inner.column(pair.other), outer.column(pair.own))))!;
}

type Where = Record<string, unknown>;

/** Builds the SQL condition of a `where` argument on `source`; undefined when it has no condition. */
export function buildWhere(
  tables: Record<string, TableInfo>,
  source: Source,
  where: Where | null | undefined,
  depth = { relations: 0, booleans: 0 },
): SQL | undefined {
  if (where === undefined || where === null) return undefined;
  const conditions: (SQL | undefined)[] = [];
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined) continue;
    if (key === "AND" || key === "OR") {
      if (!Array.isArray(value)) throw new GraphQLError(`${key} expects a list of filters`);
      if (depth.booleans >= MAX_BOOLEAN_FILTER_DEPTH)
        throw new GraphQLError(`Filter nesting limit of ${MAX_BOOLEAN_FILTER_DEPTH} AND/OR levels exceeded`);
      const nested = value
        .map((item) => buildWhere(tables, source, item as Where, { ...depth, booleans: depth.booleans + 1 }))
        .filter((condition): condition is SQL => condition !== undefined);
      if (nested.length > 0) conditions.push(key === "AND" ? and(...nested) : or(...nested));
      continue;
    }
    const relationCondition = buildRelationCondition(tables, source, key, value, depth);
    if (relationCondition !== null) {
      conditions.push(relationCondition);
      continue;
    }
    conditions.push(buildColumnCondition(source, key, value));
  }
  const present = conditions.filter((condition): condition is SQL => condition !== undefined);
  return present.length === 0 ? undefined : and(...present);
}

function buildRelationCondition(
  tables: Record<string, TableInfo>,
  source: Source,
  key: string,
  value: unknown,
  depth: { relations: number; booleans: number },
): SQL | undefined | null {
  let relation: RelationInfo | undefined;
  let suffix = "";
  for (const candidate of Object.values(source.info.relations)) {
    for (const s of RELATION_SUFFIXES[candidate.kind]) {
      if (key === `${candidate.name}${s}`) {
        relation = candidate;
        suffix = s;
      }
    }
  }
  if (!relation) return null;
  if (value === null) throw new GraphQLError(`${key} expects a filter object, not null`);
  if (depth.relations >= MAX_RELATION_FILTER_DEPTH)
    throw new GraphQLError(`Relation filter depth limit of ${MAX_RELATION_FILTER_DEPTH} exceeded (at ${key})`);
  const target = tables[relation.target]!;
  const inner = aliasedSource(target, "f");
  const nestedDepth = { ...depth, relations: depth.relations + 1 };
  const join = joinCondition(relation, source, inner);
  const exists = (condition: SQL | undefined) =>
    sql`exists (select 1 from ${inner.from} where ${and(join, condition)})`;
  const copied = suffix === "_" ? source.info.mirrors[relation.name] : undefined;
  if (copied) {
    // Conditions on columns this row keeps a copy of (./mirrors.ts) are tested on the copies: read as
    // the related table's (its names and value domains), evaluated on this row's columns.
    const onCopies: Where = {};
    const onRelated: Where = {};
    for (const [key, condition] of Object.entries(value as Where)) {
      const column = conditionColumn(target, key);
      (column !== undefined && copied.has(column) ? onCopies : onRelated)[key] = condition;
    }
    if (Object.keys(onCopies).length > 0) {
      const copies: Source = { ...source, info: target };
      const rest = Object.keys(onRelated).length > 0 ? buildWhere(tables, inner, onRelated, nestedDepth) : undefined;
      return and(buildWhere(tables, copies, onCopies, nestedDepth), rest === undefined ? undefined : exists(rest));
    }
  }
  const nested = buildWhere(tables, inner, value as Where, nestedDepth);
  switch (suffix) {
    case "_":
    case "_some":
      return exists(nested);
    case "_none":
      return nested === undefined ? sql`not ${exists(undefined)}` : sql`not ${exists(nested)}`;
    case "_every":
      // A row whose condition is unknown (NULL) does not match, so it fails "every".
      return nested === undefined ? undefined : sql`not ${exists(sql`not coalesce((${nested}), false)`)}`;
    default:
      return null;
  }
}

/** The condition suffix of a column condition key (`status_in` -> `_in`), undefined if it is not one. */
function conditionSuffix(info: TableInfo, key: string): string | undefined {
  return SUFFIXES_LONGEST_FIRST.find((s) => key.endsWith(s) && info.columns[key.slice(0, key.length - s.length)]);
}

/** The column a column condition key tests (`status_in` -> `status`), undefined if it is not one. */
function conditionColumn(info: TableInfo, key: string): string | undefined {
  const suffix = conditionSuffix(info, key);
  return suffix === undefined ? undefined : key.slice(0, key.length - suffix.length);
}

function buildColumnCondition(source: Source, key: string, rawValue: unknown): SQL | undefined {
  const suffix = conditionSuffix(source.info, key);
  if (suffix === undefined) throw new GraphQLError(`Invalid query: Where clause contains unknown field ${key}`);
  const columnName = key.slice(0, key.length - suffix.length);
  const column = source.column(columnName);
  const domainName = DOMAIN_COLUMNS[`${source.info.name}.${columnName}`];
  const check = (value: unknown) =>
    domainName !== undefined && value !== null ? checkDomainValue(DOMAINS[domainName]!, value) : value;
  const value = Array.isArray(rawValue) && suffix !== "" && suffix !== "_not" ? rawValue.map(check) : check(rawValue);
  const isArrayColumn = source.info.columns[columnName]!.columnType === "PgArray";
  const text = String(value);
  switch (suffix) {
    case "":
      if (isArrayColumn)
        return and(arrayContains(column, value as unknown[]), arrayContained(column, value as unknown[]));
      return value === null ? isNull(column) : eq(column, value);
    case "_not":
      if (isArrayColumn)
        return not(and(arrayContains(column, value as unknown[]), arrayContained(column, value as unknown[]))!);
      return value === null ? isNotNull(column) : ne(column, value);
    case "_in":
      return (value as unknown[]).length === 0 ? sql`false` : inArray(column, value as unknown[]);
    case "_not_in":
      return (value as unknown[]).length === 0 ? undefined : notInArray(column, value as unknown[]);
    case "_has":
      return arrayContains(column, [value]);
    case "_not_has":
      return not(arrayContains(column, [value]));
    case "_gt":
      return gt(column, value);
    case "_lt":
      return lt(column, value);
    case "_gte":
      return gte(column, value);
    case "_lte":
      return lte(column, value);
    case "_contains":
      return like(column, `%${text}%`);
    case "_not_contains":
      return notLike(column, `%${text}%`);
    case "_starts_with":
      return like(column, `${text}%`);
    case "_ends_with":
      return like(column, `%${text}`);
    case "_not_starts_with":
      return notLike(column, `${text}%`);
    case "_not_ends_with":
      return notLike(column, `%${text}`);
    case "_contains_nocase":
      return ilike(column, `%${text}%`);
    case "_not_contains_nocase":
      return notIlike(column, `%${text}%`);
    case "_starts_with_nocase":
      return ilike(column, `${text}%`);
    case "_ends_with_nocase":
      return ilike(column, `%${text}`);
    case "_not_starts_with_nocase":
      return notIlike(column, `${text}%`);
    case "_not_ends_with_nocase":
      return notIlike(column, `%${text}`);
    default:
      throw new GraphQLError(`Invalid query: unsupported condition ${key}`);
  }
}
