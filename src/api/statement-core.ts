/**
 * The query and the arithmetic of GET /statements/:address (docs/attribution.md): a contributor's
 * statement for a period `[from, to)` of block timestamps, as docs/rules.md defines it: the
 * opening balance, every credit and claim of the period, and `closing = opening + credited -
 * claimed`. Pure (no Ponder import), so tests can use it.
 */
import { formatUnits } from "viem";

/** A bad query parameter: answered 400 with this message, which names the parameter. */
export class StatementQueryError extends Error {
  override name = "StatementQueryError";
}

/** The longest period one statement covers: 366 days (a leap year), in seconds. */
export const MAX_STATEMENT_SECONDS = 366 * 86_400;
/** The most lines one statement lists; a longer one is refused, to be asked for in shorter periods. */
export const MAX_STATEMENT_LINES = 100_000;

export type StatementFormat = "json" | "csv";
export type StatementQuery = {
  address: `0x${string}`;
  from: number;
  to: number;
  format: StatementFormat;
  chainId?: number;
};

const PARAMETERS = ["from", "to", "format", "chainId"];

/**
 * Reads the address (0x and 40 hex digits, any case) and the parameters `from` and `to` (unix
 * seconds, both required, `from <= to`, at most MAX_STATEMENT_SECONDS apart), `format` (json, the
 * default, or csv) and the optional `chainId`. Unknown or repeated parameters are refused.
 */
export function parseStatementQuery(address: string, params: URLSearchParams): StatementQuery {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) {
    throw new StatementQueryError(`"address" must be 0x and 40 hex digits, got ${JSON.stringify(address)}`);
  }
  for (const name of new Set(params.keys())) {
    if (!PARAMETERS.includes(name)) {
      throw new StatementQueryError(`unknown parameter "${name}": use ${PARAMETERS.join(", ")}`);
    }
    if (params.getAll(name).length > 1) throw new StatementQueryError(`parameter "${name}" is given twice`);
  }
  const integer = (name: string, required: boolean, min: number) => {
    const raw = params.get(name);
    if (raw === null) {
      if (required) throw new StatementQueryError(`"${name}" is required (unix seconds)`);
      return undefined;
    }
    if (!/^\d{1,15}$/.test(raw) || Number(raw) < min) {
      throw new StatementQueryError(`"${name}" must be an integer of at least ${min}, got ${JSON.stringify(raw)}`);
    }
    return Number(raw);
  };
  const from = integer("from", true, 0) as number;
  const to = integer("to", true, 0) as number;
  const chainId = integer("chainId", false, 1);
  if (from > to) throw new StatementQueryError(`"from" (${from}) is after "to" (${to})`);
  if (to - from > MAX_STATEMENT_SECONDS) {
    throw new StatementQueryError(
      `"to" is ${to - from} s after "from": a statement covers at most ${MAX_STATEMENT_SECONDS} s (366 days)`,
    );
  }
  const format = params.get("format") ?? "json";
  if (format !== "json" && format !== "csv") {
    throw new StatementQueryError(`"format" must be json or csv, got ${JSON.stringify(format)}`);
  }
  return { address: address.toLowerCase() as `0x${string}`, from, to, format, chainId };
}

/** A credit to the account: a payout (roles 1..4), or an invoice's tax to the treasury (role 0). */
export type CreditLine = {
  kind: "credit";
  timestamp: bigint;
  invoiceId: bigint;
  role: number;
  /** The share's bps (roles 1..3); null for the tax and the holder. */
  shareBps: number | null;
  modelId: string | null;
  amount: bigint;
};
export type ClaimLine = { kind: "claim"; timestamp: bigint; txHash: string; amount: bigint };
export type StatementLine = CreditLine | ClaimLine;

/** A statement's figures: wei as bigint, each with its exact OPEN decimal beside it once formatted. */
export type Statement = {
  opening: bigint;
  credited: bigint;
  claimed: bigint;
  closing: bigint;
  lines: StatementLine[];
};

/** OPEN (18 decimals) as an exact decimal string: every wei kept, no rounding. */
export function formatOpen(wei: bigint): string {
  return formatUnits(wei, 18);
}

/**
 * The statement from what was credited and claimed before the period (the opening balance is
 * their difference) and the period's lines, put in time order (credits before claims at one time).
 */
export function buildStatement(creditedBefore: bigint, claimedBefore: bigint, lines: StatementLine[]): Statement {
  const sorted = [...lines].sort(
    (a, b) => Number(a.timestamp - b.timestamp) || (a.kind === b.kind ? 0 : a.kind === "credit" ? -1 : 1),
  );
  let credited = 0n;
  let claimed = 0n;
  for (const line of sorted) {
    if (line.kind === "credit") credited += line.amount;
    else claimed += line.amount;
  }
  const opening = creditedBefore - claimedBefore;
  return { opening, credited, claimed, closing: opening + credited - claimed, lines: sorted };
}

const CSV_HEADER = "line,timestamp,invoiceId,role,shareBps,modelId,txHash,amount";

/**
 * The statement as CSV: one row per line, between an `opening` row (at `from`) and a `closing` row
 * (at `to`); amounts in OPEN, exact. Every field is a number, a hex string or a fixed word: no quoting.
 */
export function statementCsv(statement: Statement, from: number, to: number): string {
  const rows = [CSV_HEADER, `opening,${from},,,,,,${formatOpen(statement.opening)}`];
  for (const line of statement.lines) {
    rows.push(
      line.kind === "credit"
        ? `credit,${line.timestamp},${line.invoiceId},${line.role},${line.shareBps ?? ""},${line.modelId ?? ""},,${formatOpen(line.amount)}`
        : `claim,${line.timestamp},,,,,${line.txHash},${formatOpen(line.amount)}`,
    );
  }
  rows.push(`closing,${to},,,,,,${formatOpen(statement.closing)}`);
  return `${rows.join("\n")}\n`;
}

/** The statement as JSON values: amounts as exact OPEN decimals, with the wei beside them. */
export function statementJson(statement: Statement) {
  const amount = (wei: bigint) => ({ open: formatOpen(wei), wei: wei.toString() });
  return {
    opening: amount(statement.opening),
    credited: amount(statement.credited),
    claimed: amount(statement.claimed),
    closing: amount(statement.closing),
    lines: statement.lines.map(({ amount: wei, ...line }) =>
      line.kind === "credit"
        ? { ...line, timestamp: Number(line.timestamp), invoiceId: line.invoiceId.toString(), amount: amount(wei) }
        : { ...line, timestamp: Number(line.timestamp), amount: amount(wei) },
    ),
  };
}
