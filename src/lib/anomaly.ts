/**
 * Anomalies: events the indexer could not apply as the contracts promise. They are recorded as rows
 * (never thrown), so one bad log cannot stop indexing and an operator can still find it. The codes
 * are stable strings that alerts and tests match on.
 */
import { derivedRowId, type Hex, normalizeHex } from "./ids.js";
import { eventColumns, type LoggedEvent } from "./rows.js";

/** Every code the handlers write to `anomaly.code`. */
export const ANOMALY_CODES = {
  /** An event names an invoice that was never issued (or was issued before the start block). */
  unknownInvoice: "unknown_invoice",
  unknownBundle: "unknown_bundle",
  unknownModel: "unknown_model",
  unknownRequest: "unknown_request",
  /** A settlement credited tax while no TreasuryUpdated had been indexed. */
  unknownTreasury: "unknown_treasury",
  /** An id the contracts hand out once was seen twice (invoice, model, bundle, unstake request). */
  duplicateId: "duplicate_id",
  /** The shares of one invoice add up to more than 10_000 bps. */
  sharesOverTotal: "shares_over_total",
  /** A share role outside 1..3, or a payout role outside 1..4. */
  invalidRole: "invalid_role",
  /** InvoiceSettled figures break paid + refund = amount, the tax rule or tax + distributed = paid. */
  settlementMismatch: "settlement_mismatch",
  /** Payouts that do not follow the shares, or do not add up to `distributed`. */
  payoutMismatch: "payout_mismatch",
  /** A claim that is not the whole claimable balance. */
  claimMismatch: "claim_mismatch",
  /** Stake figures that do not follow from the indexed history (Staked, Unstaked, Slashed). */
  stakeMismatch: "stake_mismatch",
  /** An event's `from`/`holder` is not the invoice's indexed holder. */
  holderMismatch: "holder_mismatch",
  /** A lifecycle step the contracts forbid from the invoice's indexed status or bundle. */
  statusMismatch: "status_mismatch",
} as const;

/** A value of ANOMALY_CODES. */
export type AnomalyCode = (typeof ANOMALY_CODES)[keyof typeof ANOMALY_CODES];

/** One thing wrong with one event, before it becomes a row. */
export type Problem = {
  code: AnomalyCode;
  message: string;
  invoiceId?: bigint | null;
  account?: string | null;
};

/**
 * The `anomaly` rows of an event's problems, in the order found. The first takes the event id, the
 * next ones `${event.id}:1`, ... so that one event may raise several and ids stay in chain order.
 */
export function anomalyRows(event: LoggedEvent, eventName: string, problems: readonly Problem[]) {
  const columns = eventColumns(event);
  return problems.map((problem, index) => ({
    id: derivedRowId(event.id, index),
    event: eventName,
    code: problem.code,
    message: problem.message,
    invoiceId: problem.invoiceId ?? null,
    account: problem.account ? (normalizeHex(problem.account) as Hex) : null,
    ...columns,
  }));
}

/** The problem of an event about an invoice the indexer has no row for. */
export function unknownInvoice(invoiceId: bigint): Problem {
  return {
    code: ANOMALY_CODES.unknownInvoice,
    message: `invoice ${invoiceId} is not indexed (never issued, or issued before the start block)`,
    invoiceId,
  };
}

/** The problem of an event about a model the indexer has no row for; `invoiceId`: the invoice naming it. */
export function unknownModel(modelId: Hex, invoiceId?: bigint): Problem {
  return { code: ANOMALY_CODES.unknownModel, message: `model ${modelId} is not indexed`, invoiceId };
}

/** The problem of an event about a bundle the indexer has no row for; `invoiceId`: the member invoice naming it. */
export function unknownBundle(bundleId: bigint, invoiceId?: bigint): Problem {
  const of = invoiceId === undefined ? "" : ` of invoice ${invoiceId}`;
  return { code: ANOMALY_CODES.unknownBundle, message: `bundle ${bundleId}${of} is not indexed`, invoiceId };
}

/** The problem of an event about an unstake request the indexer has no row for. */
export function unknownRequest(requestId: bigint, staker: Hex): Problem {
  return {
    code: ANOMALY_CODES.unknownRequest,
    message: `unstake request ${requestId} is not indexed`,
    account: staker,
  };
}
