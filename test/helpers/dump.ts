import type { Tables } from "./compare.js";

/** One table as sorted canonical JSON lines: bigints and numbers as text, hex lowercase, keys sorted. */
export type Dump = Record<string, string[]>;

function canonical(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === "bigint" || typeof value === "number") return value.toString();
  if (typeof value === "string") return value.startsWith("0x") ? value.toLowerCase() : value;
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([key, inner]) => [key, canonical(inner)]));
  }
  return value;
}

/**
 * A canonical, sorted dump of every indexed table (every column of the schema: readTables selects
 * the user tables only, so Ponder's internal columns and reorg tables are not part of it).
 */
export function canonicalDump(tables: Tables): Dump {
  const dump: Dump = {};
  for (const [name, rows] of Object.entries(tables)) {
    dump[name] = (rows as Record<string, unknown>[]).map((row) => JSON.stringify(canonical(row))).sort();
  }
  return dump;
}

/** Rows present in one dump and not the other, table by table (at most `limit` lines per table and side). */
export function diffDumps(expected: Dump, actual: Dump, limit = 5): string[] {
  const differences: string[] = [];
  const names = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const name of [...names].sort()) {
    const want = expected[name] ?? [];
    const got = actual[name] ?? [];
    const gotSet = new Set(got);
    const wantSet = new Set(want);
    const missing = want.filter((row) => !gotSet.has(row));
    const extra = got.filter((row) => !wantSet.has(row));
    if (want.length !== got.length) differences.push(`${name}: expected ${want.length} rows, got ${got.length}`);
    for (const row of missing.slice(0, limit)) differences.push(`${name}: missing ${row}`);
    if (missing.length > limit) differences.push(`${name}: ... ${missing.length - limit} more missing`);
    for (const row of extra.slice(0, limit)) differences.push(`${name}: unexpected ${row}`);
    if (extra.length > limit) differences.push(`${name}: ... ${extra.length - limit} more unexpected`);
  }
  return differences;
}

/** Rows in the dump, all tables together. */
export function dumpSize(dump: Dump): number {
  return Object.values(dump).reduce((sum, rows) => sum + rows.length, 0);
}
