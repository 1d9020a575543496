/**
 * Values of the rows every event writes the same way: the chain coordinates each event row carries,
 * and the `activity` row (one per indexed event). Pure: the handlers pass them to `context.db`.
 */
import type { Hex } from "./ids.js";
import { normalizeHex } from "./ids.js";

/** What the rows need of a Ponder log event; structural, so these helpers do not import Ponder. */
export type LoggedEvent = {
  /** Ponder's checkpoint id: unique per log and sorting in chain order. */
  id: string;
  block: { number: bigint; timestamp: bigint };
  log: { logIndex: number };
  transaction: { hash: Hex };
};

/** The coordinates docs/rules.md ("Data model") asks of every row that comes from an event. */
export type EventColumns = { blockNumber: bigint; logIndex: number; timestamp: bigint; txHash: Hex };

/** Block number, log index, block timestamp and transaction hash of an event. */
export function eventColumns(event: LoggedEvent): EventColumns {
  return {
    blockNumber: event.block.number,
    logIndex: event.log.logIndex,
    timestamp: event.block.timestamp,
    txHash: normalizeHex(event.transaction.hash),
  };
}

/** The indexed contracts, as `activity.contract` names them. */
export type ContractName = "StakeManager" | "InvoiceRegistry" | "SettlementEngine";

/** What an event says about who and what, for its `activity` row. */
export type ActivityInput = {
  /** The event's name, e.g. "InvoiceIssued". */
  type: string;
  contract: ContractName;
  invoiceId?: bigint | null;
  bundleId?: bigint | null;
  /** The party the event is about. */
  account?: string | null;
  /** The other party, if any. */
  counterparty?: string | null;
  amount?: bigint | null;
};

/** The `activity` row of an event: keyed by the event id, addresses lowercase, absent fields null. */
export function activityValues(event: LoggedEvent, input: ActivityInput) {
  return {
    id: event.id,
    type: input.type,
    contract: input.contract,
    invoiceId: input.invoiceId ?? null,
    bundleId: input.bundleId ?? null,
    account: input.account ? normalizeHex(input.account) : null,
    counterparty: input.counterparty ? normalizeHex(input.counterparty) : null,
    amount: input.amount ?? null,
    ...eventColumns(event),
  };
}
