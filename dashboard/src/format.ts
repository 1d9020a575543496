/**
 * Formatting and parsing without the DOM (the tests import this module in Node): OPEN amounts from
 * wei, UTC days and times, the protocol's codes, and the search box's grammar.
 */

/** OPEN has 18 decimals. */
const WEI_PER_OPEN = 10n ** 18n;
export const SECONDS_PER_DAY = 86_400;

/** Contributor roles of earningsDaily and payouts (0 is the protocol tax credited to the treasury). */
const ROLE_NAMES: Record<number, string> = {
  0: "Protocol tax",
  1: "Data provider",
  2: "Model optimizer",
  3: "Router",
  4: "Holder",
};
export const ROLES = [0, 1, 2, 3, 4] as const;
const SLASH_REASONS: Record<number, string> = {
  1: "SLO breach",
  2: "Invalid output",
  3: "Data poisoning",
  4: "Attribution fraud",
  5: "Downtime",
};
const VOID_REASONS: Record<number, string> = { 1: "Duplicate", 2: "Service failed", 3: "Caller dispute" };

export const roleName = (role: number) => ROLE_NAMES[role] ?? `Role ${role}`;
export const slashReasonName = (reason: number) => SLASH_REASONS[reason] ?? `Reason ${reason}`;
export const voidReasonName = (reason: number) => VOID_REASONS[reason] ?? `Reason ${reason}`;

const groupThousands = (digits: string) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/** The exact decimal value of a wei amount in OPEN, every digit kept (for CSV files): "12.5", "-0.000000000000000001". */
export function exactOpen(wei: bigint): string {
  const sign = wei < 0n ? "-" : "";
  const abs = wei < 0n ? -wei : wei;
  const fraction = (abs % WEI_PER_OPEN).toString().padStart(18, "0").replace(/0+$/, "");
  return `${sign}${abs / WEI_PER_OPEN}${fraction ? `.${fraction}` : ""}`;
}

/**
 * A wei amount in OPEN for reading, rounded half up: 2 decimals from 1 OPEN, none from 1,000,000,
 * 4 significant digits below 1, "<0.000001" below that. Grouped by thousands.
 */
export function formatOpen(wei: bigint): string {
  if (wei === 0n) return "0";
  const sign = wei < 0n ? "-" : "";
  const abs = wei < 0n ? -wei : wei;
  let decimals: number;
  if (abs >= 1_000_000n * WEI_PER_OPEN) decimals = 0;
  else if (abs >= WEI_PER_OPEN) decimals = 2;
  else {
    if (abs < 10n ** 12n) return `${sign}<0.000001`;
    // 4 significant digits: as many decimals as the leading zeros of the fraction, plus 4.
    const fractionDigits = abs.toString().padStart(18, "0");
    const leadingZeros = fractionDigits.length - fractionDigits.replace(/^0+/, "").length;
    decimals = Math.min(6, leadingZeros + 4);
  }
  const unit = 10n ** BigInt(18 - decimals);
  const rounded = (abs + unit / 2n) / unit;
  const scale = 10n ** BigInt(decimals);
  const whole = groupThousands((rounded / scale).toString());
  if (decimals === 0) return `${sign}${whole}`;
  const fraction = (rounded % scale).toString().padStart(decimals, "0");
  const trimmed = abs < WEI_PER_OPEN ? fraction.replace(/0+$/, "") : fraction;
  return `${sign}${whole}${trimmed ? `.${trimmed}` : ""}`;
}

/** A wei amount as a float of OPEN, for charts only (never for totals). */
export const openFloat = (wei: bigint) => Number(wei / 10n ** 12n) / 1e6;

const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 2 });
/** A float for chart axes and legends: "1.2K", "35.5", "0.0042". */
export const compactNumber = (value: number) =>
  value !== 0 && Math.abs(value) < 0.01 ? value.toPrecision(2) : compact.format(value);
/** A float of OPEN for charts. */
export const compactOpen = (value: number) => `${compactNumber(value)} OPEN`;

export const formatCount = (n: number | bigint) => groupThousands(n.toString());

/** "93.4 %", or "–" when there is nothing to rate. */
export const formatPercent = (ratio: number | null) =>
  ratio === null || !Number.isFinite(ratio) ? "–" : `${(ratio * 100).toFixed(1)} %`;

/** A UTC day number (floor(timestamp / 86400)) as YYYY-MM-DD. */
export const dayLabel = (day: number) => new Date(day * SECONDS_PER_DAY * 1000).toISOString().slice(0, 10);

/** YYYY-MM-DD to its UTC day number; undefined for anything else. */
export function parseDay(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isNaN(ms) || dayLabel(ms / 86_400_000) !== text ? undefined : ms / 86_400_000;
}

/** Unix seconds as "YYYY-MM-DD HH:MM:SS UTC". */
export const timeLabel = (seconds: number | bigint) =>
  `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19).replace("T", " ")} UTC`;

/** "0x1234…abcd" for long hex values. */
export const shortHex = (hex: string, keep = 4) =>
  hex.length > 2 + keep * 2 + 1 ? `${hex.slice(0, 2 + keep)}…${hex.slice(-keep)}` : hex;

/**
 * A bytes32 id that holds a short ASCII label (the simulator's model, agent and datanet ids, e.g.
 * "model-3" padded with zeros) as that label; undefined when it is not printable text.
 */
export function bytes32Label(hex: string): string | undefined {
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) return undefined;
  const bytes = hex.slice(2).replace(/(00)+$/, "");
  if (bytes.length === 0 || bytes.length % 2 !== 0) return undefined;
  let label = "";
  for (let i = 0; i < bytes.length; i += 2) {
    const code = Number.parseInt(bytes.slice(i, i + 2), 16);
    if (code < 0x20 || code > 0x7e) return undefined;
    label += String.fromCharCode(code);
  }
  return label;
}

export type SearchTarget =
  | { kind: "account"; address: string }
  | { kind: "invoice"; invoiceId: string }
  /** Hex to look up: a full bytes32 (a model, dataset, datanet or transaction) or a shortened id as the pages show it. */
  | { kind: "hex"; prefix: string; suffix: string }
  | { kind: "invalid"; message: string };

/** The fewest hex digits a shortened id has: the pages show 6 (`0x3ab757…`). */
export const MIN_SEARCH_DIGITS = 6;

export const isAddress = (text: string) => /^0x[0-9a-fA-F]{40}$/.test(text);
export const isBytes32 = (text: string) => /^0x[0-9a-fA-F]{64}$/.test(text);

/**
 * What the search box was given: an address, an invoice id ("42" or "#42"), a bytes32 or a shortened id
 * as the pages show it (`0x3ab757`, or `0x3ab757…c0de` with its end: at least 6 hex digits, matched as
 * the start and end of an id), or a mistake explained.
 */
export function parseSearch(input: string): SearchTarget {
  const text = input.trim();
  if (text === "") return { kind: "invalid", message: "Type an address (0x and 40 hex digits) or an invoice id." };
  if (isAddress(text)) return { kind: "account", address: text.toLowerCase() };
  if (isBytes32(text)) return { kind: "hex", prefix: text.toLowerCase(), suffix: "" };
  const id = parseInvoiceId(text.replace(/^#/, ""));
  if (typeof id === "string") return { kind: "invoice", invoiceId: id };
  if (/^\d+$/.test(text.replace(/^#/, ""))) return { kind: "invalid", message: id.message };
  const shortened = /^(0x[0-9a-fA-F]+)(?:(?:…|\.\.\.)([0-9a-fA-F]+))?$/.exec(text);
  if (shortened && shortened[1].length - 2 >= MIN_SEARCH_DIGITS && shortened[1].length <= 66) {
    return { kind: "hex", prefix: shortened[1].toLowerCase(), suffix: (shortened[2] ?? "").toLowerCase() };
  }
  if (/^0x/i.test(text)) {
    const digits = text.length - 2;
    return {
      kind: "invalid",
      message: /^0x[0-9a-fA-F]*$/.test(text)
        ? `“${text}” has ${digits} hex digits: an address has 40, a model id 64, a shortened id at least ${MIN_SEARCH_DIGITS}.`
        : `“${text}” is not hex: an address is 0x followed by 40 hex digits (0-9, a-f).`,
    };
  }
  return {
    kind: "invalid",
    message: `“${text}” is neither an address (0x and 40 hex digits) nor an invoice id (a whole number from 1).`,
  };
}

/** An invoice id as its canonical decimal string, or why it is not one. */
export function parseInvoiceId(text: string): string | { message: string } {
  if (!/^\d+$/.test(text)) return { message: `“${text}” is not an invoice id: ids are whole numbers from 1.` };
  const id = BigInt(text);
  if (id === 0n) return { message: "Invoice ids start at 1: 0 means “no invoice”." };
  if (id >= 2n ** 256n) return { message: `“${text}” is larger than any invoice id (uint256).` };
  return id.toString();
}

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A CSV document: a header line and one line per row, CRLF-terminated. */
export function toCsv(header: string[], rows: string[][]): string {
  return [header, ...rows].map((fields) => `${fields.map(csvField).join(",")}\r\n`).join("");
}

/** The periods the charts sum days into. Weeks are ISO weeks (from Monday), months calendar months, in UTC. */
export const INTERVALS = ["day", "week", "month"] as const;
export type Interval = (typeof INTERVALS)[number];

/** The first UTC day of the period holding `day`: the day itself, its week's Monday, or its month's 1st. */
export function periodStart(day: number, interval: Interval): number {
  if (interval === "day") return day;
  // Day 0 (1970-01-01) was a Thursday: day 4 was a Monday.
  if (interval === "week") return day - ((((day - 4) % 7) + 7) % 7);
  const date = new Date(day * SECONDS_PER_DAY * 1000);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) / 86_400_000;
}

/** A period by its first day: "2026-01-05" for a day, "week of 2026-01-05", "2026-01" for a month. */
export function periodLabel(start: number, interval: Interval): string {
  if (interval === "day") return dayLabel(start);
  if (interval === "week") return `week of ${dayLabel(start)}`;
  return dayLabel(start).slice(0, 7);
}

/** The periods that hold the days from..to (inclusive), by their first day, in order. */
export function periodsOf(range: { from: number; to: number }, interval: Interval): number[] {
  const starts: number[] = [];
  for (let day = range.from; day <= range.to; day++) {
    const start = periodStart(day, interval);
    if (starts[starts.length - 1] !== start) starts.push(start);
  }
  return starts;
}

/**
 * Exact sums of daily amounts per period: `sums[i][k]` adds `values(row)[k]` of the rows whose day is in
 * the i-th period of `periods` (rows outside them are left out). BigInt throughout: never a float.
 */
export function sumByPeriod<R>(
  rows: R[],
  options: {
    day: (row: R) => number;
    amounts: (row: R) => bigint[];
    width: number;
    periods: number[];
    interval: Interval;
  },
): bigint[][] {
  const index = new Map(options.periods.map((start, i) => [start, i]));
  const sums = options.periods.map(() => Array.from({ length: options.width }, () => 0n));
  for (const row of rows) {
    const i = index.get(periodStart(options.day(row), options.interval));
    if (i === undefined) continue;
    options.amounts(row).forEach((value, k) => {
      sums[i][k] += value;
    });
  }
  return sums;
}
