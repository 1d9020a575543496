/**
 * Writes that several handlers make the same way: the daily aggregates' upserts, and the protocol
 * parameters' changes. Unlike the pure modules beside it, this one writes through `context.db`.
 */
import type { Context } from "ponder:registry";
import {
  type datanetDaily,
  type datasetDaily,
  type earningsDaily,
  type modelDaily,
  type protocolDaily,
  protocolState,
  rateChange,
} from "ponder:schema";
import { PROTOCOL_STATE_ID } from "./ids.js";
import { type EventColumns, eventColumns, type LoggedEvent } from "./rows.js";

/** The tables keyed by a UTC day (`dayOf`), whose other columns are counters. */
type DailyTable =
  | typeof earningsDaily
  | typeof modelDaily
  | typeof protocolDaily
  | typeof datasetDaily
  | typeof datanetDaily;
/** Counters of a daily row, by column. */
type Counters = Record<string, number | bigint>;

const plus = (a: number | bigint, b: number | bigint) =>
  typeof a === "bigint" ? a + (b as bigint) : (a as number) + (b as number);

/**
 * Adds `add` to the counters of the daily row at `key` (the chain is the context's), and raises the
 * integer columns of `max` to at least their value; a new row starts from `add` and `max`, its
 * other columns from their defaults. The one place daily aggregates are written.
 */
export async function bumpDaily<table extends DailyTable>(
  context: Context,
  table: table,
  key: Partial<table["$inferInsert"]>,
  add: Partial<table["$inferInsert"]>,
  max: Partial<table["$inferInsert"]> = {},
): Promise<void> {
  const added = add as Counters;
  const raised = max as Record<string, number>;
  const values = { chainId: context.chain.id, ...key, ...add, ...max };
  // One insert call for every daily table: the union of their row types is too wide for Ponder's typing.
  await context.db
    .insert(table as typeof protocolDaily)
    .values(values as typeof protocolDaily.$inferInsert)
    .onConflictDoUpdate((current) => {
      const row = current as unknown as Counters;
      const next: Counters = {};
      for (const [column, amount] of Object.entries(added)) next[column] = plus(row[column], amount);
      for (const [column, floor] of Object.entries(raised)) next[column] = Math.max(row[column] as number, floor);
      return next;
    });
}

/** The columns of a `rateChange` row that say what changed. */
type RateChangeValues = Omit<typeof rateChange.$inferInsert, "chainId" | "id" | keyof EventColumns>;

/** Records a change of the protocol's or a model's terms in `rateChange`, keyed by the event. */
export async function insertRateChange(context: Context, event: LoggedEvent, change: RateChangeValues): Promise<void> {
  await context.db
    .insert(rateChange)
    .values({ chainId: context.chain.id, id: event.id, ...change, ...eventColumns(event) });
}

/** The protocol parameters the handlers keep in `protocolState`. */
type ProtocolParameter = Partial<Pick<typeof protocolState.$inferInsert, "treasury" | "taxRateBps" | "cooldown">>;

/**
 * A protocol parameter changed (tax rate, treasury, cooldown): its new value in `protocolState`,
 * where the handlers read it, and the change in `rateChange`.
 */
export async function changeProtocolParameter(
  context: Context,
  event: LoggedEvent,
  parameter: ProtocolParameter,
  change: RateChangeValues,
): Promise<void> {
  await context.db
    .insert(protocolState)
    .values({ chainId: context.chain.id, id: PROTOCOL_STATE_ID, ...parameter })
    .onConflictDoUpdate(parameter);
  await insertRateChange(context, event, change);
}
