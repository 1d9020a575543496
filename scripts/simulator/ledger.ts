/**
 * The ledger: what the indexer must show after a simulator run, computed by the simulator from
 * what it sent and the receipts it got back (its own mirror of the contracts' rules, checked at
 * the end against the contracts' views). It is the oracle of the indexer's tests, so it must never
 * be computed with the indexer's code.
 *
 * Encoding: addresses and bytes32 in lowercase hex; uint256 amounts and invoice/bundle/request ids
 * as decimal strings; small integers (bps, roles, reasons, tokens, ms, unix seconds, days, block
 * numbers) as JSON numbers. A day is `floor(timestamp / 86400)` of the event's block.
 */
export type Hex = `0x${string}`;
export type Wei = string;

export type InvoiceStatus = "issued" | "scheduled" | "settled" | "voided";

export type LedgerShare = { contributor: Hex; role: 1 | 2 | 3; shareBps: number; credited: Wei | null };
export type LedgerDatasetUse = {
  datasetHash: Hex;
  datanetId: Hex;
  version: number;
  /** In the ledger's invoices: the data-provider OPEN attributed to the use at settlement (docs/rules.md); null until then. */
  attributed?: Wei | null;
};

export type LedgerInvoice = {
  invoiceId: string;
  caller: Hex;
  modelId: Hex;
  agentId: Hex;
  provider: Hex;
  /** Current owner of the invoice NFT. */
  holder: Hex;
  status: InvoiceStatus;
  amount: Wei;
  feeMultiplierBps: number;
  taxRateBps: number;
  providerStake: Wei;
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
  shares: LedgerShare[];
  /** Holder's payout (role 4) once settled. */
  holderCredited: Wei | null;
  /** Who paid or escrowed; null while issued or voided. */
  payer: Hex | null;
  settleAt: number | null;
  paid: Wei | null;
  tax: Wei | null;
  refund: Wei | null;
  distributed: Wei | null;
  /** The bundle it is in now; null when in none (never bundled, or its bundle was dissolved). */
  bundleId: string | null;
  issuedAt: number;
  issuedBlock: number;
  settledAt: number | null;
  voidReason: number | null;
  /** Changes of holder after the mint (ERC-721 transfers with from != 0). */
  transferCount: number;
};

export type LedgerAccount = {
  /** OPEN paid as caller for settled invoices, net of refunds (counted at settlement). */
  spent: Wei;
  /** Everything credited: payouts, and for a treasury the tax credited while it was treasury. */
  earned: Wei;
  claimed: Wei;
  claimable: Wei;
  /** Active stake (= StakeManager.stakeOf). */
  stake: Wei;
  /** Sum of open unstake requests, less what slashes took from them. */
  pendingUnstake: Wei;
  slashed: Wei;
  invoicesAsCaller: number;
  invoicesAsProvider: number;
  /** Invoices with at least one share to the account, once each. */
  invoicesAsContributor: number;
  /** `earned` by role: the tax (0), data provider (1), model optimizer (2), router (3), holder (4). */
  earnedAsTreasury: Wei;
  earnedAsDataProvider: Wei;
  earnedAsModelOptimizer: Wei;
  earnedAsRouter: Wei;
  earnedAsHolder: Wei;
};

export type LedgerModel = {
  provider: Hex;
  pricePerKToken: Wei;
  sloLatencyMs: number;
  penaltyBps: number;
  invoices: number;
  /** inputTokens + outputTokens of its invoices. */
  tokens: number;
  /** Sum of its invoices' amounts at issuance. */
  gross: Wei;
  /** Invoices whose SLO was met. */
  sloMet: number;
};

export type LedgerDataset = {
  /** Of the latest use (the simulator never changes them for one hash). */
  datanetId: Hex;
  version: number;
  /** Invoices that list it (an invoice listing it twice counts once). */
  invoices: number;
  /** inputTokens + outputTokens of those invoices. */
  tokens: number;
  /** Data-provider OPEN attributed to its uses (docs/rules.md). */
  attributed: Wei;
};

export type LedgerDatanet = {
  /** Datasets whose first use named it. */
  datasetCount: number;
  /** Invoices listing at least one of its datasets, once each, and their tokens. */
  invoices: number;
  tokens: number;
  attributed: Wei;
};

/** A dataset's or datanet's day: issuance figures on the day of issuance, attribution on the day of settlement. */
export type LedgerAttributionDaily = { day: number; invoices: number; tokens: number; attributed: Wei };
export type LedgerDatasetDaily = LedgerAttributionDaily & { datasetHash: Hex };
export type LedgerDatanetDaily = LedgerAttributionDaily & { datanetId: Hex };

/** One credit to an account's claimable: a PayoutCredited, or an invoice's tax to the treasury (role 0, no share). */
export type LedgerCredit = {
  account: Hex;
  invoiceId: string;
  role: 0 | 1 | 2 | 3 | 4;
  /** The share's bps for roles 1..3; null for the tax and the holder. */
  shareBps: number | null;
  modelId: Hex;
  amount: Wei;
  blockNumber: number;
  timestamp: number;
};

/** One EarningsClaimed. */
export type LedgerClaim = { account: Hex; amount: Wei; blockNumber: number; timestamp: number };

export type LedgerBundle = {
  owner: Hex;
  name: string;
  members: string[];
  memberCount: number;
  /** Sum of the members' amounts. */
  faceValue: Wei;
  /** Sum of the amounts of members not settled (while the bundle existed). */
  outstanding: Wei;
  /** Holder payouts of members settled while in the bundle. */
  earned: Wei;
  dissolved: boolean;
};

export type LedgerUnstakeRequest = {
  staker: Hex;
  amount: Wei;
  amountLeft: Wei;
  unlockAt: number;
  status: "pending" | "withdrawn";
  /** What `unstake` paid; null while pending. */
  withdrawn: Wei | null;
};

export type LedgerSlash = {
  blockNumber: number;
  txHash: Hex;
  logIndex: number;
  staker: Hex;
  invoiceId: string;
  reason: 1 | 2 | 3 | 4 | 5;
  amount: Wei;
  remainingStake: Wei;
  evidence: Hex;
};

export type StakeChangeKind = "stake" | "unstakeRequest" | "unstake" | "slash";
export type LedgerStakeChange = {
  blockNumber: number;
  txHash: Hex;
  logIndex: number;
  staker: Hex;
  kind: StakeChangeKind;
  amount: Wei;
  /** Active and pending stake after the change. */
  stakeAfter: Wei;
  pendingAfter: Wei;
};

/** Role 0 is the protocol tax credited to the treasury; 1..3 shares; 4 the holder. */
export type LedgerEarningsDaily = { account: Hex; role: 0 | 1 | 2 | 3 | 4; day: number; amount: Wei; payouts: number };

export type LedgerModelDaily = {
  modelId: Hex;
  day: number;
  /** Issuance figures, on the day of issuance. */
  invoices: number;
  inputTokens: number;
  outputTokens: number;
  gross: Wei;
  sloMet: number;
  latencySum: number;
  latencyMax: number;
  /** Settlement figures, on the day of settlement. */
  settled: number;
  paid: Wei;
  refunds: Wei;
};

export type LedgerProtocolDaily = {
  day: number;
  invoices: number;
  gross: Wei;
  /** Settlement figures, on the day of settlement. */
  settled: number;
  paid: Wei;
  tax: Wei;
  refunds: Wei;
  /** Every Slashed.amount of the day, whatever the reason. */
  slashed: Wei;
  /** Data-provider OPEN of the day's settled invoices that list no dataset. */
  unattributed: Wei;
};

export type Ledger = {
  meta: {
    seed: number;
    chainId: number;
    contracts: Record<"OpenToken" | "StakeManager" | "InvoiceRegistry" | "SettlementEngine", Hex>;
    startBlock: number;
    /** Last block the simulator produced or saw. */
    endBlock: number;
    treasury: Hex;
    taxRateBps: number;
    /** First block of the run (the block after the deployment's last). */
    firstSimulatedBlock?: number;
    /** Timestamp of endBlock: an issued invoice with 0 < dueAt < endTimestamp is overdue. */
    endTimestamp?: number;
    invoicesRequested?: number;
    mode?: "fast" | "rate";
    /** false when the run was stopped before all its invoices (AbortSignal, Ctrl-C). */
    complete?: boolean;
  };
  /** Events emitted by the three indexed contracts (StakeManager, InvoiceRegistry, SettlementEngine), by name. */
  eventCounts: Record<string, number>;
  invoices: Record<string, LedgerInvoice>;
  accounts: Record<Hex, LedgerAccount>;
  models: Record<Hex, LedgerModel>;
  datasets: Record<Hex, LedgerDataset>;
  datanets: Record<Hex, LedgerDatanet>;
  bundles: Record<string, LedgerBundle>;
  unstakeRequests: Record<string, LedgerUnstakeRequest>;
  /** In chain order. */
  slashes: LedgerSlash[];
  /** In chain order. */
  stakeChanges: LedgerStakeChange[];
  /** Keyed `${account}:${role}:${day}`. */
  earningsDaily: Record<string, LedgerEarningsDaily>;
  /** Keyed `${modelId}:${day}`. */
  modelDaily: Record<string, LedgerModelDaily>;
  /** Keyed by day. */
  protocolDaily: Record<string, LedgerProtocolDaily>;
  /** Keyed `${datasetHash}:${day}`. */
  datasetDaily: Record<string, LedgerDatasetDaily>;
  /** Keyed `${datanetId}:${day}`. */
  datanetDaily: Record<string, LedgerDatanetDaily>;
  /** Every credit to a claimable balance, in chain order (a statement's lines). */
  credits: LedgerCredit[];
  /** Every claim, in chain order. */
  claims: LedgerClaim[];
};
