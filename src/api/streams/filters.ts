/**
 * What a bot asks of a stream (or a webhook subscription): which table, which rows, from where, how
 * deep. Parsing is strict, because a typo in a filter would otherwise silently deliver everything or
 * nothing: unknown parameters and malformed values are refused with a message naming them. Pure.
 */
import { BEGINNING, chainIdOfCursor, parseStart, type StreamStart, stableEventId } from "./cursor.js";

/** The streams: one per table a bot can follow. */
export type StreamKind = "slashes" | "activity";
export const STREAM_KINDS: readonly StreamKind[] = ["slashes", "activity"];

/** The columns every streamed row has (the coordinates docs/rules.md, "Data model", asks of event rows). */
export type StreamRow = {
  id: string;
  blockNumber: bigint;
  logIndex: number;
  timestamp: bigint;
  txHash: string;
  [column: string]: unknown;
};

export type SlashFilter = { kind: "slashes"; stakers?: string[]; reasons?: number[]; minAmount?: bigint };
export type ActivityFilter = { kind: "activity"; types?: string[]; accounts?: string[]; invoiceId?: bigint };
export type StreamFilter = SlashFilter | ActivityFilter;

/** A parsed request for a stream. */
export type StreamQuery = { filter: StreamFilter; start: StreamStart; confirmations: number };

/**
 * Every event type the indexer writes to `activity` (one per `ponder.on` in src/): `?type=` must
 * name some of these, so that a misspelt type is an error rather than a stream that stays silent.
 */
export const ACTIVITY_TYPES = [
  "BundleCreated",
  "BundleDissolved",
  "BundleTransferred",
  "CooldownUpdated",
  "DatasetUsed",
  "EarningsClaimed",
  "InvoiceIssued",
  "InvoiceSettled",
  "InvoiceVoided",
  "ModelRegistered",
  "ModelTermsUpdated",
  "PayoutCredited",
  "ProvenanceRecorded",
  "ServiceMeasured",
  "SettlementScheduled",
  "ShareAssigned",
  "Slashed",
  "Staked",
  "TaxRateUpdated",
  "Transfer",
  "TreasuryUpdated",
  "UnstakeRequested",
  "Unstaked",
] as const;

const PARAMETERS: Record<StreamKind, readonly string[]> = {
  slashes: ["after", "staker", "reason", "minAmount", "confirmations"],
  activity: ["after", "type", "account", "invoiceId", "confirmations"],
};

/** At most this many values in one list filter (staker=a,b,...). */
export const MAX_LIST_VALUES = 100;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UINT = /^\d{1,78}$/;

/** A refusal: the message names the parameter and what it accepts. */
export class StreamQueryError extends Error {
  override name = "StreamQueryError";
}

function list(name: string, values: string[]): string[] {
  const items = values.flatMap((value) => value.split(",")).map((item) => item.trim());
  if (items.some((item) => item === "")) throw new StreamQueryError(`"${name}" has an empty value`);
  if (items.length > MAX_LIST_VALUES) {
    throw new StreamQueryError(`"${name}" lists ${items.length} values; at most ${MAX_LIST_VALUES}`);
  }
  return [...new Set(items)];
}

function addresses(name: string, values: string[]): string[] {
  const items = list(name, values).map((value) => {
    if (!ADDRESS.test(value)) throw new StreamQueryError(`"${name}": ${JSON.stringify(value)} is not an address`);
    return value.toLowerCase();
  });
  return [...new Set(items)];
}

function single(name: string, values: string[]): string {
  if (values.length !== 1) throw new StreamQueryError(`"${name}" is given ${values.length} times; give it once`);
  return values[0].trim();
}

function uint(name: string, value: string): bigint {
  if (!UINT.test(value)) throw new StreamQueryError(`"${name}": ${JSON.stringify(value)} is not a whole number`);
  return BigInt(value);
}

/**
 * Parses a stream request: the query parameters (as repeated pairs, so that a repeated parameter
 * is seen) and the Last-Event-ID header, which wins over `?after=` because a reconnecting
 * EventSource sends both and the header is where it got to. `maxConfirmations` is the chain's
 * finality depth: deeper blocks are final anyway, and the stream's memory stops there.
 * Throws a StreamQueryError whose message is fit for a 400 answer.
 */
export function parseStreamQuery(
  kind: StreamKind,
  pairs: Iterable<[string, string]>,
  lastEventId: string | undefined,
  maxConfirmations: number,
): StreamQuery {
  const params = new Map<string, string[]>();
  for (const [name, value] of pairs) {
    if (!PARAMETERS[kind].includes(name)) {
      throw new StreamQueryError(
        `Unknown parameter "${name}": /streams/${kind} accepts ${PARAMETERS[kind].join(", ")}`,
      );
    }
    params.set(name, [...(params.get(name) ?? []), value]);
  }

  let start: StreamStart = { kind: "now" };
  const after = lastEventId?.trim() ? lastEventId : params.has("after") ? single("after", params.get("after")!) : "";
  if (after !== "") {
    const parsed = parseStart(after);
    if (!parsed) {
      const source = lastEventId?.trim() ? "Last-Event-ID" : '"after"';
      throw new StreamQueryError(
        `${source}: ${JSON.stringify(after.slice(0, 100))} is not a cursor (the 75-digit "cursor" of an event, 0 for the beginning, or now)`,
      );
    }
    start = parsed;
  }

  let confirmations = 0;
  if (params.has("confirmations")) {
    const raw = single("confirmations", params.get("confirmations")!);
    if (!/^\d{1,6}$/.test(raw) || Number(raw) > maxConfirmations) {
      throw new StreamQueryError(
        `"confirmations": ${JSON.stringify(raw)} is not a whole number from 0 to ${maxConfirmations} (blocks deeper than ${maxConfirmations} are final)`,
      );
    }
    confirmations = Number(raw);
  }

  if (kind === "slashes") {
    const filter: SlashFilter = { kind };
    if (params.has("staker")) filter.stakers = addresses("staker", params.get("staker")!);
    if (params.has("reason")) {
      filter.reasons = list("reason", params.get("reason")!).map((value) => {
        if (!/^\d{1,3}$/.test(value) || Number(value) > 255) {
          throw new StreamQueryError(`"reason": ${JSON.stringify(value)} is not a slash reason (0 to 255)`);
        }
        return Number(value);
      });
    }
    if (params.has("minAmount")) filter.minAmount = uint("minAmount", single("minAmount", params.get("minAmount")!));
    return { filter, start, confirmations };
  }

  const filter: ActivityFilter = { kind };
  if (params.has("type")) {
    filter.types = list("type", params.get("type")!).map((value) => {
      const known = ACTIVITY_TYPES.find((type) => type.toLowerCase() === value.toLowerCase());
      if (!known) {
        throw new StreamQueryError(
          `"type": ${JSON.stringify(value)} is not an event type; one of ${ACTIVITY_TYPES.join(", ")}`,
        );
      }
      return known;
    });
  }
  if (params.has("account")) filter.accounts = addresses("account", params.get("account")!);
  if (params.has("invoiceId")) filter.invoiceId = uint("invoiceId", single("invoiceId", params.get("invoiceId")!));
  return { filter, start, confirmations };
}

/** Whether a row passes the filter: the in-memory twin of the store's SQL filter. */
export function matchesFilter(filter: StreamFilter, row: StreamRow): boolean {
  if (filter.kind === "slashes") {
    if (filter.stakers && !filter.stakers.includes(String(row.staker).toLowerCase())) return false;
    if (filter.reasons && !filter.reasons.includes(Number(row.reason))) return false;
    if (filter.minAmount !== undefined && (row.amount as bigint) < filter.minAmount) return false;
    return true;
  }
  if (filter.types && !filter.types.includes(String(row.type))) return false;
  if (filter.accounts && (row.account === null || !filter.accounts.includes(String(row.account).toLowerCase()))) {
    return false;
  }
  if (filter.invoiceId !== undefined && row.invoiceId !== filter.invoiceId) return false;
  return true;
}

/** A filter as JSON (bigints as strings), to store with a webhook subscription and show back. */
export function filterToJson(filter: StreamFilter): Record<string, unknown> {
  if (filter.kind === "slashes") {
    return {
      ...(filter.stakers ? { staker: filter.stakers } : {}),
      ...(filter.reasons ? { reason: filter.reasons } : {}),
      ...(filter.minAmount !== undefined ? { minAmount: filter.minAmount.toString() } : {}),
    };
  }
  return {
    ...(filter.types ? { type: filter.types } : {}),
    ...(filter.accounts ? { account: filter.accounts } : {}),
    ...(filter.invoiceId !== undefined ? { invoiceId: filter.invoiceId.toString() } : {}),
  };
}

/**
 * The filter of a webhook subscription, from JSON with the stream parameters' names (a list may be
 * an array or a comma-separated string). Validated exactly like the stream's query string.
 */
export function filterFromJson(kind: StreamKind, json: unknown): StreamFilter {
  if (json === undefined || json === null) return parseStreamQuery(kind, [], undefined, 0).filter;
  if (typeof json !== "object" || Array.isArray(json)) throw new StreamQueryError('"filters" must be an object');
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === "after" || name === "confirmations") {
      throw new StreamQueryError(`"filters.${name}" is not a filter: give "${name}" beside "filters"`);
    }
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0) throw new StreamQueryError(`"filters.${name}" is an empty list`);
    if (values.some((item) => typeof item !== "string" && typeof item !== "number")) {
      throw new StreamQueryError(`"filters.${name}" must be a string, a number or a list of them`);
    }
    pairs.push([name, values.map(String).join(",")]);
  }
  return parseStreamQuery(kind, pairs, undefined, 0).filter;
}

const jsonValue = (value: unknown): unknown => (typeof value === "bigint" ? value.toString() : value);

/**
 * The JSON of one event, as streams and webhooks send it: the stable `id` (`chainId:txHash:logIndex`),
 * the ordered `cursor`, the event coordinates, then the row's own columns; bigints as decimal strings.
 */
export function eventPayload(kind: StreamKind, row: StreamRow): Record<string, unknown> {
  const chainId = row.id === BEGINNING ? 0 : chainIdOfCursor(row.id);
  const payload: Record<string, unknown> = {
    id: stableEventId(chainId, row.txHash, row.logIndex),
    cursor: row.id,
    stream: kind,
    type: kind === "slashes" ? "Slashed" : row.type,
    chainId,
    blockNumber: row.blockNumber.toString(),
    logIndex: row.logIndex,
    timestamp: row.timestamp.toString(),
    txHash: row.txHash,
  };
  for (const [column, value] of Object.entries(row)) {
    if (!(column in payload) && column !== "id") payload[column] = jsonValue(value);
  }
  return payload;
}
