/**
 * The query and the arithmetic of GET /aggregates/protocol-daily: `protocolDaily` rows are per chain
 * and day; totals add the chains' rows of each day. Pure (no Ponder import), so tests can use it.
 */

/** The summed columns of `protocolDaily`: counts (integers) and amounts (OPEN wei, bigint). */
export const PROTOCOL_DAILY_COUNTS = ["invoices", "settled"] as const;
export const PROTOCOL_DAILY_AMOUNTS = ["gross", "paid", "tax", "refunds", "slashed"] as const;
type Count = (typeof PROTOCOL_DAILY_COUNTS)[number];
type Amount = (typeof PROTOCOL_DAILY_AMOUNTS)[number];

/** A `protocolDaily` row as the database returns it. */
export type ProtocolDailyRow = { chainId: number; day: number } & Record<Count, number> & Record<Amount, bigint>;

/** A day's figures summed over the chains, and which chains had a row that day. */
export type ProtocolDailyTotal = { day: number; chains: number[] } & Record<Count, number> & Record<Amount, bigint>;

/** A bad query parameter: answered 400 with this message. */
export class AggregateQueryError extends Error {
  override name = "AggregateQueryError";
}

/** At most this many days per request: ten years of one chain's rows. */
export const MAX_DAYS = 3_660;

export type ProtocolDailyQuery = { from: number; to: number; chainId?: number };

/**
 * Reads `from` and `to` (days since 1970-01-01, UTC, inclusive; `to` defaults to `from` + 29 and
 * `from` to `to` - 29) and the optional `chainId`. Unknown or repeated parameters are refused.
 */
export function parseProtocolDailyQuery(params: URLSearchParams, today: number): ProtocolDailyQuery {
  for (const name of new Set(params.keys())) {
    if (!["from", "to", "chainId"].includes(name)) {
      throw new AggregateQueryError(`unknown parameter "${name}": use from, to (days since 1970-01-01) and chainId`);
    }
    if (params.getAll(name).length > 1) throw new AggregateQueryError(`parameter "${name}" is given twice`);
  }
  const integer = (name: string, min: number, max: number) => {
    const raw = params.get(name);
    if (raw === null) return undefined;
    if (!/^\d{1,15}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new AggregateQueryError(`"${name}" must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return Number(raw);
  };
  const chainId = integer("chainId", 1, Number.MAX_SAFE_INTEGER);
  let from = integer("from", 0, 1_000_000);
  let to = integer("to", 0, 1_000_000);
  if (from === undefined && to === undefined) to = today;
  if (from === undefined) from = Math.max(0, (to as number) - 29);
  if (to === undefined) to = from + 29;
  if (from > to) throw new AggregateQueryError(`"from" (${from}) is after "to" (${to})`);
  if (to - from + 1 > MAX_DAYS) throw new AggregateQueryError(`at most ${MAX_DAYS} days per request`);
  return { from, to, chainId };
}

/** One total per day that has rows, in day order: each figure summed over the chains. */
export function totalsByDay(rows: readonly ProtocolDailyRow[]): ProtocolDailyTotal[] {
  const byDay = new Map<number, ProtocolDailyTotal>();
  for (const row of rows) {
    let total = byDay.get(row.day);
    if (!total) {
      const zero = { invoices: 0, settled: 0, gross: 0n, paid: 0n, tax: 0n, refunds: 0n, slashed: 0n };
      total = { day: row.day, chains: [], ...zero };
      byDay.set(row.day, total);
    }
    total.chains.push(row.chainId);
    for (const count of PROTOCOL_DAILY_COUNTS) total[count] += Number(row[count]);
    for (const amount of PROTOCOL_DAILY_AMOUNTS) total[amount] += BigInt(row[amount]);
  }
  return [...byDay.values()].sort((a, b) => a.day - b.day);
}
