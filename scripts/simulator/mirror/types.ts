/**
 * The mirror's vocabulary: the state it keeps of each contract, what a transaction's effect is,
 * and the constants of the contracts' arithmetic. Shared by the layers of `ProtocolMirror`.
 */
import type { ServiceRecordArgs } from "../calls.js";
import type { ExpectedLog } from "../events.js";
import type { Hex, InvoiceStatus, LedgerDatasetUse } from "../ledger.js";

export const BPS = 10_000n;
export const HOLDER_ROLE = 4;
export const SLO_BREACH = 1;
export const SECONDS_PER_DAY = 86_400;
export const ZERO_ADDRESS: Hex = "0x0000000000000000000000000000000000000000";
export const ZERO_BYTES32: Hex = "0x0000000000000000000000000000000000000000000000000000000000000000";

/** The UTC day of a block timestamp, as every daily aggregate of the ledger buckets it. */
export const dayOf = (timestamp: number): number => Math.floor(timestamp / SECONDS_PER_DAY);

/** Where a transaction landed: known only once mined. `logIndexes` are those of its expected logs, in order. */
export type MinedContext = { blockNumber: number; timestamp: number; txHash: Hex; logIndexes: number[] };

/** A log whose content depends on the block timestamp (UnstakeRequested.unlockAt). */
export type LazyLog = ExpectedLog | ((timestamp: number) => ExpectedLog);

/**
 * What a transaction does, as the mirror predicts it: the logs of the indexed contracts it must
 * emit, and what to write into the ledger once its block, timestamp and log indexes are known.
 */
export type Effect = { logs: LazyLog[]; onMined: ((context: MinedContext) => void)[] };

export type AccountState = {
  spent: bigint;
  earned: bigint;
  claimed: bigint;
  claimable: bigint;
  stake: bigint;
  pendingUnstake: bigint;
  slashed: bigint;
  invoicesAsCaller: number;
  invoicesAsProvider: number;
  invoicesAsContributor: number;
  /** `earned` by role 0..4 (0 = the tax, as treasury). */
  earnedByRole: [bigint, bigint, bigint, bigint, bigint];
};

export type InvoiceState = {
  id: bigint;
  caller: Hex;
  modelId: Hex;
  agentId: Hex;
  provider: Hex;
  owner: Hex;
  status: InvoiceStatus;
  amount: bigint;
  feeMultiplierBps: number;
  taxRateBps: number;
  providerStake: bigint;
  dueAt: number;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  sloLatencyMs: number;
  penaltyBps: number;
  sloMet: boolean;
  modelVersion: Hex;
  trainingLogHash: Hex;
  datasets: LedgerDatasetUse[];
  /** What each dataset use was attributed at settlement (docs/rules.md); null until then. */
  attributed: bigint[] | null;
  shares: { contributor: Hex; role: 1 | 2 | 3; shareBps: number; credited: bigint | null }[];
  holderCredited: bigint | null;
  payer: Hex | null;
  settleAt: number | null;
  paid: bigint | null;
  tax: bigint | null;
  refund: bigint | null;
  distributed: bigint | null;
  bundleId: bigint;
  issuedAt: number;
  issuedBlock: number;
  settledAt: number | null;
  voidReason: number | null;
  transferCount: number;
  /** ERC-721 single-token approval, cleared by every transfer. */
  approved: Hex | null;
  escrow: { payer: Hex; settleAt: number; amount: bigint } | null;
};

export type UnstakeRequestState = {
  id: bigint;
  staker: Hex;
  amount: bigint;
  amountLeft: bigint;
  /** null until the request's block is known (rate mode). */
  unlockAt: number | null;
  open: boolean;
  withdrawn: bigint | null;
};

export type BundleState = {
  id: bigint;
  owner: Hex;
  name: string;
  members: bigint[];
  faceValue: bigint;
  outstanding: bigint;
  earned: bigint;
  active: boolean;
};

export type ModelState = {
  provider: Hex;
  pricePerKToken: bigint;
  sloLatencyMs: number;
  penaltyBps: number;
  invoices: number;
  tokens: number;
  gross: bigint;
  sloMet: number;
};

export type DatasetState = { datanetId: Hex; version: number; invoices: number; tokens: number; attributed: bigint };
export type DatanetState = { datasetCount: number; invoices: number; tokens: number; attributed: bigint };
/** A dataset's or datanet's day (`key` is its hash or id). */
export type AttributionDailyState = { key: Hex; day: number; invoices: number; tokens: number; attributed: bigint };
export type EarningsDailyState = {
  account: Hex;
  role: 0 | 1 | 2 | 3 | 4;
  day: number;
  amount: bigint;
  payouts: number;
};
export type ModelDailyState = {
  modelId: Hex;
  day: number;
  invoices: number;
  inputTokens: number;
  outputTokens: number;
  gross: bigint;
  sloMet: number;
  latencySum: number;
  latencyMax: number;
  settled: number;
  paid: bigint;
  refunds: bigint;
};
export type ProtocolDailyState = {
  day: number;
  invoices: number;
  gross: bigint;
  settled: number;
  paid: bigint;
  tax: bigint;
  refunds: bigint;
  slashed: bigint;
  unattributed: bigint;
};

/** What `issue` takes: the service record, its revenue shares and its dataset uses. */
export type IssueArgs = ServiceRecordArgs & {
  shares: { contributor: Hex; role: 1 | 2 | 3; shareBps: number }[];
  datasets: LedgerDatasetUse[];
};

export type ProtocolParameters = {
  taxRateBps: number;
  treasury: Hex;
  cooldownSeconds: number;
  minProviderStake: bigint;
};

/** The smaller of two amounts. */
export const min = (a: bigint, b: bigint) => (a < b ? a : b);
/** An effect with no logs and no ledger writes yet. */
export const newEffect = (): Effect => ({ logs: [], onMined: [] });
/** Appends a log to the effect; returns its position among the transaction's expected logs. */
export const add = (effect: Effect, log: LazyLog): number => effect.logs.push(log) - 1;
