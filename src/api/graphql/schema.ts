/**
 * The GraphQL schema, generated from ponder.schema.ts (nothing is written per table). It keeps every
 * name and argument of Ponder's generated schema (`invoice`, `invoices`, `invoiceFilter`, `invoicePage`,
 * `PageInfo`, `_meta { status }`...), so existing queries keep their answers, and adds relation
 * filters, relation and multi-key sorts, exact cursors, aggregates, domain scalars, descriptions and
 * per-chain block metadata.
 */
import DataLoader from "dataloader";
import { and, type Column, eq, or } from "drizzle-orm";
import {
  type FieldNode,
  GraphQLBoolean,
  GraphQLEnumType,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
  GraphQLFloat,
  type GraphQLInputFieldConfigMap,
  GraphQLInputObjectType,
  type GraphQLInputType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  type SelectionSetNode,
} from "graphql";
import {
  AGGREGATE_FUNCTIONS,
  type AggregateArgs,
  aggregateRows,
  groupableColumns,
  INTERVALS,
  numericColumns,
  timeColumns,
  type Wanted,
} from "./aggregates.js";
import { columnDescription, tableDescription } from "./descriptions.js";
import { CONDITION_SUFFIXES, RELATION_SUFFIXES, tableSource } from "./filters.js";
import { type ListArgs, listRows, MAX_LIMIT } from "./lists.js";
import { type BlockHashReader, type ChainMeta, readChainMeta } from "./meta.js";
import { MIRRORED_COLUMNS, type MirroredColumns } from "./mirrors.js";
import type { Runner } from "./runner.js";
import { DOMAIN_COLUMNS, DOMAINS, domainScalar, GraphQLBigInt, GraphQLJSON } from "./scalars.js";
import { type ColumnKind, columnKind, readTables, type TableInfo } from "./tables.js";

/** What every resolver gets: the runner and the request's batch loaders of rows by key. */
export type Context = { runner: Runner; loaders: Map<string, DataLoader<string, Record<string, unknown> | null>> };
type Row = Record<string, unknown>;

const PageInfo = new GraphQLObjectType({
  name: "PageInfo",
  description: "Where a page sits in its list. Cursors are opaque; pass endCursor as `after` for the next page.",
  fields: {
    hasNextPage: { type: new GraphQLNonNull(GraphQLBoolean), description: "More rows follow this page." },
    hasPreviousPage: { type: new GraphQLNonNull(GraphQLBoolean), description: "Rows precede this page." },
    startCursor: { type: GraphQLString, description: "Cursor of the first row (null on an empty page)." },
    endCursor: { type: GraphQLString, description: "Cursor of the last row (null on an empty page)." },
  },
});

const Interval = new GraphQLEnumType({
  name: "AggregateInterval",
  description: "Time buckets of aggregates, all in UTC.",
  values: Object.fromEntries(Object.entries(INTERVALS).map(([name, description]) => [name, { description }])),
});

const MetaBlock = new GraphQLObjectType({
  name: "MetaBlock",
  description: "The newest block indexed on a chain.",
  fields: {
    number: { type: new GraphQLNonNull(GraphQLBigInt), description: "Block number." },
    hash: {
      type: GraphQLString,
      description: "Block hash, read from the chain's RPC (null if the RPC cannot answer).",
      resolve: (block: ChainMeta["block"]) => block.hash(),
    },
    timestamp: { type: new GraphQLNonNull(GraphQLBigInt), description: "Block timestamp, unix seconds." },
  },
});

const ChainMetaType = new GraphQLObjectType({
  name: "ChainMeta",
  description: "The indexer's progress on one chain.",
  fields: {
    chainId: { type: new GraphQLNonNull(GraphQLInt), description: "EIP-155 chain id." },
    chainName: { type: new GraphQLNonNull(GraphQLString), description: "The chain's name in ponder.config.ts." },
    block: { type: new GraphQLNonNull(MetaBlock), description: "The newest indexed block." },
    hasIndexingErrors: {
      type: new GraphQLNonNull(GraphQLBoolean),
      description: "True when some event of this chain could not be applied as the contracts promise (see `anomalys`).",
    },
  },
});

const Meta = new GraphQLObjectType({
  name: "Meta",
  description:
    "The indexer's progress. `chainId`, `block` and `hasIndexingErrors` are of the chain chosen by `_meta(chainId:)`, " +
    "or of the first chain (lowest id); `chains` lists every chain.",
  fields: {
    status: {
      type: GraphQLJSON,
      description: "Ponder's status object: chain name → { id, block { number, timestamp } } (kept for older clients).",
    },
    chainId: { type: GraphQLInt, description: "EIP-155 id of the chain described." },
    block: { type: MetaBlock, description: "Its newest indexed block." },
    hasIndexingErrors: { type: GraphQLBoolean, description: "Whether it has anomaly rows." },
    chains: {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(ChainMetaType))),
      description: "Every chain.",
    },
  },
});

function lowerFirst(name: string) {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** Canonical text of a key value, for matching rows to the keys a batch asked for. */
function canonical(value: unknown, kind: ColumnKind): string {
  if (value === null || value === undefined) return "null";
  if (kind === "hex") return String(value).toLowerCase();
  return String(value);
}

/** The field names selected under `path` (e.g. ["sum"]) of the current field, through fragments. */
function selectedNames(info: GraphQLResolveInfo, path: string[]): Set<string> {
  const names = new Set<string>();
  const visit = (set: SelectionSetNode | undefined, depth: number) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === "Field") {
        if (depth === path.length) names.add(selection.name.value);
        else if (selection.name.value === path[depth]) visit(selection.selectionSet, depth + 1);
      } else if (selection.kind === "InlineFragment") visit(selection.selectionSet, depth);
      else visit(info.fragments[selection.name.value]?.selectionSet, depth);
    }
  };
  for (const node of info.fieldNodes as FieldNode[]) visit(node.selectionSet, 0);
  return names;
}

/** Builds the schema; `blockHash` reads hashes for `_meta`; `mirrored` names the copied columns (./mirrors.ts). */
export function buildSchema(
  schemaModule: Record<string, unknown>,
  blockHash: BlockHashReader,
  mirrored: MirroredColumns = MIRRORED_COLUMNS,
): GraphQLSchema {
  const tables = readTables(schemaModule, mirrored);
  const domainScalars = Object.fromEntries(Object.values(DOMAINS).map((domain) => [domain.name, domainScalar(domain)]));

  const scalarOf = (
    info: TableInfo,
    name: string,
  ): GraphQLScalarType | GraphQLList<GraphQLNonNull<GraphQLScalarType>> => {
    const domain = DOMAIN_COLUMNS[`${info.name}.${name}`];
    if (domain) return domainScalars[domain]!;
    const column = info.columns[name]!;
    const kind = columnKind(column);
    if (kind === "list") {
      const base = (column as unknown as { baseColumn: Column }).baseColumn;
      const inner =
        columnKind(base) === "bigint" ? GraphQLBigInt : columnKind(base) === "int" ? GraphQLInt : GraphQLString;
      return new GraphQLList(new GraphQLNonNull(inner));
    }
    return baseScalar(kind);
  };

  const objectTypes: Record<string, GraphQLObjectType<Row, Context>> = {};
  const pageTypes: Record<string, GraphQLObjectType> = {};
  const filterTypes: Record<string, GraphQLInputObjectType> = {};

  const loaderFor = (context: Context, info: TableInfo, columns: string[]) => {
    const loaderKey = `${info.name}:${columns.join(",")}`;
    let loader = context.loaders.get(loaderKey);
    if (!loader) {
      const kinds = columns.map((name) => columnKind(info.columns[name]!));
      const keyOf = (values: unknown[]) => values.map((value, i) => canonical(value, kinds[i]!)).join("|");
      loader = new DataLoader<string, Row | null>(
        async (keys) => {
          const tuples = keys.map((key) => JSON.parse(key) as unknown[]);
          // A batch of at most 1,000 key lookups: bounded work, so no statement timeout (and no transaction).
          const rows = await context.runner.db
            .select()
            .from(info.table)
            .where(or(...tuples.map((tuple) => and(...columns.map((name, i) => eq(info.columns[name]!, tuple[i]))))))
            .limit(keys.length);
          const byKey = new Map(rows.map((row) => [keyOf(columns.map((name) => row[name])), row]));
          return tuples.map((tuple) => byKey.get(keyOf(tuple)) ?? null);
        },
        { maxBatchSize: MAX_LIMIT },
      );
      context.loaders.set(loaderKey, loader);
    }
    return loader;
  };
  const serializeKey = (values: unknown[]) =>
    JSON.stringify(values.map((value) => (typeof value === "bigint" ? value.toString() : value)));

  const listArgs = (name: string) => ({
    where: { type: filterTypes[name]!, description: "Conditions on columns and relations; all must hold." },
    orderBy: {
      type: GraphQLString,
      description:
        'Sort keys, comma-separated: a column ("settledAt"), a to-one relation\'s column ("invoice__issuedAt"), each ' +
        'optionally followed by asc or desc ("invoice__issuedAt desc, position"). The primary key ends every order. ' +
        "NULLs come last ascending, first descending.",
    },
    orderDirection: {
      type: GraphQLString,
      description: '"asc" (default) or "desc": the direction of keys without one.',
    },
    before: { type: GraphQLString, description: "Rows before this cursor (a startCursor)." },
    after: { type: GraphQLString, description: "Rows after this cursor (an endCursor)." },
    limit: { type: GraphQLInt, description: `Rows per page: default 50, at most ${MAX_LIMIT}.` },
    offset: { type: GraphQLInt, description: "Rows to skip (not with a cursor)." },
  });

  for (const info of Object.values(tables)) {
    const filterType: GraphQLInputObjectType = new GraphQLInputObjectType({
      name: `${info.name}Filter`,
      description: `Conditions on ${info.name} rows. Relation conditions: \`rel_\` (to-one), \`rel_some\`, \`rel_every\`, \`rel_none\` (to-many).`,
      fields: () => {
        const fields: GraphQLInputFieldConfigMap = {
          AND: { type: new GraphQLList(filterType), description: "Every filter holds." },
          OR: { type: new GraphQLList(filterType), description: "At least one filter holds." },
        };
        for (const name of Object.keys(info.columns)) {
          const type = scalarOf(info, name);
          const kind = columnKind(info.columns[name]!);
          const add = (suffixes: readonly string[], fieldType: GraphQLInputType, what: string) => {
            for (const suffix of suffixes)
              fields[`${name}${suffix}`] = { type: fieldType, description: `${name} ${what}${suffix || " equals"}` };
          };
          if (type instanceof GraphQLList) {
            add(CONDITION_SUFFIXES.universal, new GraphQLList(type.ofType.ofType), "");
            add(CONDITION_SUFFIXES.plural, type.ofType.ofType, "");
            continue;
          }
          if (kind === "json") continue;
          add(CONDITION_SUFFIXES.universal, type, "");
          add(CONDITION_SUFFIXES.singular, new GraphQLList(type), "");
          if (kind === "string" || kind === "hex")
            add(
              kind === "hex"
                ? CONDITION_SUFFIXES.string.filter((s) => !s.endsWith("_nocase"))
                : CONDITION_SUFFIXES.string,
              type,
              "",
            );
          if (kind === "int" || kind === "bigint" || kind === "float") add(CONDITION_SUFFIXES.numeric, type, "");
        }
        for (const relation of Object.values(info.relations)) {
          const target = filterTypes[relation.target]!;
          for (const suffix of RELATION_SUFFIXES[relation.kind]) {
            const key = `${relation.name}${suffix}`;
            if (fields[key]) throw new Error(`Filter field ${info.name}.${key} is both a column and a relation filter`);
            const meaning =
              suffix === "_"
                ? `The related ${relation.target} exists and matches.`
                : suffix === "_some"
                  ? `At least one related ${relation.target} matches.`
                  : suffix === "_every"
                    ? `Every related ${relation.target} matches (true when there is none).`
                    : `No related ${relation.target} matches.`;
            fields[key] = { type: target, description: meaning };
          }
        }
        return fields;
      },
    });
    filterTypes[info.name] = filterType;

    objectTypes[info.name] = new GraphQLObjectType<Row, Context>({
      name: info.name,
      description: tableDescription(info),
      fields: () => {
        const fields: GraphQLFieldConfigMap<Row, Context> = {};
        for (const [name, column] of Object.entries(info.columns)) {
          const type = scalarOf(info, name);
          fields[name] = {
            type: column.notNull ? new GraphQLNonNull(type) : type,
            description: columnDescription(info, name),
          };
        }
        for (const relation of Object.values(info.relations)) {
          const target = tables[relation.target]!;
          if (relation.kind === "one") {
            fields[relation.name] = {
              type: objectTypes[target.name]!,
              description: `The ${target.name} this row refers to (by ${relation.join.map((pair) => pair.own).join(", ")}).`,
              resolve: (parent, _args, context) => {
                const values = relation.join.map((pair) => parent[pair.own]);
                if (values.some((value) => value === null || value === undefined)) return null;
                return loaderFor(
                  context,
                  target,
                  relation.join.map((pair) => pair.other),
                ).load(serializeKey(values));
              },
            };
          } else {
            fields[relation.name] = {
              type: new GraphQLNonNull(pageTypes[target.name]!),
              description: `The ${target.name} rows that refer to this row.`,
              args: listArgs(target.name),
              resolve: (parent, args: ListArgs, context, resolveInfo) => {
                const inner = tableSource(target);
                const join = and(...relation.join.map((pair) => eq(inner.column(pair.other), parent[pair.own])));
                return listRows(
                  context.runner,
                  tables,
                  target,
                  args,
                  join,
                  selectedNames(resolveInfo, []).has("totalCount"),
                );
              },
            };
          }
        }
        return fields;
      },
    });

    pageTypes[info.name] = new GraphQLObjectType({
      name: `${info.name}Page`,
      description: `A page of ${info.name} rows.`,
      fields: () => ({
        items: {
          type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(objectTypes[info.name]!))),
          description: "The rows.",
        },
        pageInfo: { type: new GraphQLNonNull(PageInfo), description: "Cursors and whether more rows exist." },
        totalCount: { type: new GraphQLNonNull(GraphQLInt), description: "Rows matching `where`, over all pages." },
      }),
    });
  }

  const queryFields: Record<string, GraphQLFieldConfig<unknown, Context>> = {};
  for (const info of Object.values(tables)) {
    const singular = lowerFirst(info.name);
    queryFields[singular] = {
      type: objectTypes[info.name]!,
      description: `One ${info.name} by its primary key (${info.primaryKey.join(", ")}).`,
      args: Object.fromEntries(
        info.primaryKey.map((name) => [
          name,
          {
            type: new GraphQLNonNull(scalarOf(info, name) as GraphQLInputType),
            description: columnDescription(info, name),
          },
        ]),
      ),
      resolve: (_parent, args: Row, context) =>
        loaderFor(context, info, info.primaryKey).load(serializeKey(info.primaryKey.map((name) => args[name]))),
    };
    queryFields[`${singular}s`] = {
      type: new GraphQLNonNull(pageTypes[info.name]!),
      description: `A page of ${info.name} rows: filter with where, sort with orderBy, page with after/before.`,
      args: listArgs(info.name),
      resolve: (_parent, args: ListArgs, context, resolveInfo) =>
        listRows(context.runner, tables, info, args, undefined, selectedNames(resolveInfo, []).has("totalCount")),
    };
    queryFields[`${singular}Aggregate`] = aggregateField(info, tables, filterTypes[info.name]!, scalarOf);
  }

  queryFields._meta = {
    type: Meta,
    description: "The indexer's progress on each chain.",
    args: {
      chainId: { type: GraphQLInt, description: "The chain to describe in `chainId`/`block`/`hasIndexingErrors`." },
    },
    resolve: async (_parent, args: { chainId?: number | null }, context) => {
      const chains = await readChainMeta(context.runner, blockHash);
      const chosen = args.chainId == null ? chains[0] : chains.find((chain) => chain.chainId === args.chainId);
      const status = Object.fromEntries(
        chains.map((chain) => [
          chain.chainName,
          {
            id: chain.chainId,
            block: { number: Number(chain.block.number), timestamp: Number(chain.block.timestamp) },
          },
        ]),
      );
      return {
        status,
        chains,
        chainId: chosen?.chainId ?? null,
        block: chosen?.block ?? null,
        hasIndexingErrors: chosen?.hasIndexingErrors ?? null,
      };
    },
  };

  return new GraphQLSchema({
    // Float stays declared (nothing returns it) so that `$chainId: Float!` variables of older queries parse.
    types: [GraphQLJSON, GraphQLBigInt, GraphQLFloat, PageInfo, Meta, ...Object.values(domainScalars)],
    query: new GraphQLObjectType({
      name: "Query",
      description: "Every table of the indexer, read-only.",
      fields: queryFields,
    }),
  });
}

function baseScalar(kind: ColumnKind): GraphQLScalarType {
  switch (kind) {
    case "int":
      return GraphQLInt;
    case "bigint":
      return GraphQLBigInt;
    case "float":
      return GraphQLFloat;
    case "boolean":
      return GraphQLBoolean;
    case "json":
      return GraphQLJSON;
    default:
      return GraphQLString;
  }
}

/** `<table>Aggregate` and its types. */
function aggregateField(
  info: TableInfo,
  tables: Record<string, TableInfo>,
  filterType: GraphQLInputObjectType,
  scalarOf: (info: TableInfo, name: string) => GraphQLOutputType,
): GraphQLFieldConfig<unknown, Context> {
  const groupable = groupableColumns(info);
  const numeric = numericColumns(info);
  const times = Object.keys(timeColumns(info));
  const columnEnum = new GraphQLEnumType({
    name: `${info.name}Column`,
    description: `A column of ${info.name} to group by.`,
    values: Object.fromEntries(groupable.map((name) => [name, { description: columnDescription(info, name) }])),
  });
  const keyType = new GraphQLObjectType({
    name: `${info.name}AggregateKey`,
    description: `The values of the groupBy columns of a group (null for columns not grouped by).`,
    fields: Object.fromEntries(
      groupable.map((name) => [name, { type: scalarOf(info, name), description: columnDescription(info, name) }]),
    ),
  });
  const valuesType = new GraphQLObjectType({
    name: `${info.name}AggregateValues`,
    description: "Exact decimal strings: sums, minima and maxima exact; averages rounded to 18 decimal places.",
    fields: Object.fromEntries(
      numeric.map((name) => [name, { type: GraphQLString, description: columnDescription(info, name) }]),
    ),
  });
  const groupType = new GraphQLObjectType({
    name: `${info.name}AggregateGroup`,
    description: `One group of ${info.name} rows: its key, its time bucket and its aggregates.`,
    fields: {
      key: { type: new GraphQLNonNull(keyType), description: "The group's values of the groupBy columns." },
      bucket: {
        type: GraphQLBigInt,
        description: "Start of the group's interval, unix seconds (UTC; weeks start on Monday). Null without interval.",
      },
      count: { type: new GraphQLNonNull(GraphQLInt), description: "Rows in the group." },
      ...Object.fromEntries(
        AGGREGATE_FUNCTIONS.map((fn) => [
          fn,
          {
            type: new GraphQLNonNull(valuesType),
            description: `${fn} of each numeric column over the group's rows (null when all are null).`,
          },
        ]),
      ),
    },
  });
  const args: GraphQLFieldConfig<unknown, Context>["args"] = {
    where: { type: filterType, description: "Only rows matching these conditions." },
    groupBy: { type: new GraphQLList(new GraphQLNonNull(columnEnum)), description: "Columns to group by (at most 8)." },
    limit: { type: GraphQLInt, description: `Groups to return: default 100, at most ${MAX_LIMIT}.` },
    offset: { type: GraphQLInt, description: "Groups to skip." },
  };
  if (times.length > 0) {
    args.interval = { type: Interval, description: "Also group by this interval of the time column." };
    args.timeColumn = {
      type: new GraphQLEnumType({
        name: `${info.name}TimeColumn`,
        description: `A time column of ${info.name}.`,
        values: Object.fromEntries(times.map((name) => [name, { description: columnDescription(info, name) }])),
      }),
      description: `The column interval buckets (default ${times.includes("timestamp") ? "timestamp" : times[0]}).`,
    };
  }
  return {
    type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(groupType))),
    description:
      `Counts, sums, minima, maxima and averages of ${info.name} rows, grouped by columns and by a time interval; ` +
      "groups ordered by bucket, then by the groupBy columns.",
    args,
    resolve: (_parent, args: AggregateArgs, context, resolveInfo) => {
      const wanted: Wanted = { count: true, functions: {} };
      for (const fn of AGGREGATE_FUNCTIONS) {
        const names = selectedNames(resolveInfo, [fn]);
        if (names.size > 0) wanted.functions[fn] = new Set([...names].filter((name) => numeric.includes(name)));
      }
      return aggregateRows(context.runner, tables, info, args, wanted);
    },
  };
}
