/**
 * What the GraphQL generator reads of `ponder.schema.ts`: every table's columns, primary key and
 * relations, taken from drizzle's metadata, so that nothing in the schema is written per table.
 */
import {
  type Column,
  createTableRelationsHelpers,
  extractTablesRelationalConfig,
  getTableColumns,
  is,
  Many,
  One,
  type TableRelationalConfig,
} from "drizzle-orm";
import { getTableConfig, type PgTable } from "drizzle-orm/pg-core";
import type { MirroredColumns } from "./mirrors.js";

/** One relation of a table, resolved to the columns it joins on. */
export type RelationInfo = {
  name: string;
  kind: "one" | "many";
  /** The related table's name (its `tsName`). */
  target: string;
  /** Pairs of (column of this table, column of the target) that must be equal. */
  join: { own: string; other: string }[];
  /**
   * For `one` relations: whether the target columns are the target's primary key, so that at most
   * one row matches (only then can a list be sorted by the related row's columns).
   */
  unique: boolean;
};

/** A table of the schema as the generator sees it. */
export type TableInfo = {
  /** The export name in ponder.schema.ts, e.g. `invoiceShare`: the GraphQL type name. */
  name: string;
  table: PgTable;
  /** Columns by their TypeScript name. */
  columns: Record<string, Column>;
  /** Primary key columns, by TypeScript name, in key order. */
  primaryKey: string[];
  relations: Record<string, RelationInfo>;
  /**
   * To-one relation -> the related row's columns this table keeps a copy of, under the same names
   * (./mirrors.ts): filters and sorts on them need no join.
   */
  mirrors: Record<string, ReadonlySet<string>>;
};

/** TypeScript name of a column within its table. */
export function columnKey(column: Column): string {
  for (const [key, candidate] of Object.entries(getTableColumns(column.table))) {
    if (candidate.name === column.name) return key;
  }
  throw new Error(`Column ${column.name} not found in its table`);
}

/**
 * Reads every table of the schema module and resolves its relations (both directions). `mirrored`
 * declares the copied columns; a declaration the schema does not bear out (no such table, relation or
 * column, a relation that can match several rows, a column of another type) throws.
 */
export function readTables(schema: Record<string, unknown>, mirrored: MirroredColumns = {}): Record<string, TableInfo> {
  const config = extractTablesRelationalConfig(schema, createTableRelationsHelpers);
  const configs = Object.values(config.tables) as TableRelationalConfig[];
  const byDbName = new Map(configs.map((table) => [table.dbName, table]));
  const primaryKeyOf = (table: TableRelationalConfig): string[] => {
    const keys = getTableConfig(schema[table.tsName] as PgTable).primaryKeys;
    if (keys.length > 0) return keys[0]!.columns.map(columnKey);
    return Object.entries(table.columns)
      .filter(([, column]) => column.primary)
      .map(([key]) => key);
  };

  const tables: Record<string, TableInfo> = {};
  for (const table of configs) {
    const relations: Record<string, RelationInfo> = {};
    for (const [name, relation] of Object.entries(table.relations)) {
      const target = byDbName.get(relation.referencedTableName);
      if (!target) throw new Error(`Relation ${table.tsName}.${name}: unknown table ${relation.referencedTableName}`);
      if (is(relation, One)) {
        const fields = relation.config?.fields ?? [];
        const references = relation.config?.references ?? [];
        const join = fields.map((field, i) => ({ own: columnKey(field), other: columnKey(references[i]!) }));
        const targetKey = primaryKeyOf(target);
        const unique =
          targetKey.length === join.length && targetKey.every((key) => join.some((pair) => pair.other === key));
        relations[name] = { name, kind: "one", target: target.tsName, join, unique };
      } else if (is(relation, Many)) {
        // The `one` relation on the other side says how the rows join: the one named alike, else
        // the first that points back at this table (drizzle's own rule).
        const back = Object.values(target.relations).filter(
          (candidate): candidate is One => is(candidate, One) && candidate.referencedTableName === table.dbName,
        );
        const one =
          (relation.relationName !== undefined
            ? back.find((candidate) => candidate.relationName === relation.relationName)
            : undefined) ?? back[0];
        if (!one) throw new Error(`Relation ${table.tsName}.${name}: no matching one() on ${target.tsName}`);
        const fields = one.config?.fields ?? [];
        const references = one.config?.references ?? [];
        const join = fields.map((field, i) => ({ own: columnKey(references[i]!), other: columnKey(field) }));
        relations[name] = { name, kind: "many", target: target.tsName, join, unique: false };
      }
    }
    tables[table.tsName] = {
      name: table.tsName,
      table: schema[table.tsName] as PgTable,
      columns: table.columns,
      primaryKey: primaryKeyOf(table),
      relations,
      mirrors: {},
    };
  }
  for (const [tableName, byRelation] of Object.entries(mirrored)) {
    const info = tables[tableName];
    if (!info) throw new Error(`Mirrored columns: no table ${tableName}`);
    for (const [relationName, columns] of Object.entries(byRelation)) {
      const relation = info.relations[relationName];
      if (relation?.kind !== "one" || !relation.unique)
        throw new Error(`Mirrored columns: ${tableName}.${relationName} is not a to-one relation`);
      const target = tables[relation.target]!;
      for (const column of columns) {
        const own = info.columns[column];
        const other = target.columns[column];
        if (!own || !other || own.columnType !== other.columnType || own.notNull !== other.notNull)
          throw new Error(`Mirrored columns: ${tableName}.${column} is not a copy of ${target.name}.${column}`);
      }
      info.mirrors[relationName] = new Set(columns);
    }
  }
  return tables;
}

/** The GraphQL kind of a column's values. */
export type ColumnKind = "int" | "bigint" | "float" | "boolean" | "string" | "hex" | "list" | "json";

/** Classifies a column by drizzle's column type. */
export function columnKind(column: Column): ColumnKind {
  if (column.columnType === "PgEvmBigint" || column.columnType === "PgNumeric") return "bigint";
  if (column.columnType === "PgHex") return "hex";
  if (column.columnType === "PgArray") return "list";
  switch (column.dataType) {
    case "boolean":
      return "boolean";
    case "bigint":
      return "bigint";
    case "number":
      return ["PgInteger", "PgSerial", "PgBigInt53", "PgSmallInt"].includes(column.columnType) ? "int" : "float";
    case "json":
      return "json";
    default:
      return "string";
  }
}

/** Columns that sums, averages, minima and maxima apply to. */
export function isNumericKind(kind: ColumnKind): boolean {
  return kind === "int" || kind === "bigint" || kind === "float";
}
