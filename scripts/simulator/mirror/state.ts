/**
 * The first layer of `ProtocolMirror`: the state it keeps of the contracts and of the ledger's
 * daily aggregates, the lookups every rule needs, and how a rule reports a planning bug. The
 * layers above add the rules of one part of the protocol each (stakes, invoices, settlement).
 */
import { SimulatorMismatchError } from "../errors.js";
import type { EventEncoder } from "../events.js";
import type { Hex, LedgerClaim, LedgerCredit, LedgerSlash, LedgerStakeChange } from "../ledger.js";
import type {
  AccountState,
  AttributionDailyState,
  BundleState,
  DatanetState,
  DatasetState,
  EarningsDailyState,
  InvoiceState,
  ModelDailyState,
  ModelState,
  ProtocolDailyState,
  ProtocolParameters,
  UnstakeRequestState,
} from "./types.js";

/** State and lookups of the mirror (see `ProtocolMirror`). */
export class MirrorState {
  taxRateBps: number;
  treasury: Hex;
  cooldownSeconds: number;
  readonly minProviderStake: bigint;

  lastInvoiceId = 0n;
  lastBundleId = 0n;
  lastRequestId = 0n;

  readonly accounts = new Map<Hex, AccountState>();
  readonly invoices = new Map<bigint, InvoiceState>();
  readonly models = new Map<Hex, ModelState>();
  readonly datasets = new Map<Hex, DatasetState>();
  readonly datanets = new Map<Hex, DatanetState>();
  readonly bundles = new Map<bigint, BundleState>();
  readonly requests = new Map<bigint, UnstakeRequestState>();
  /** Open unstake requests in creation order (what `unstake` may still close). */
  readonly openRequests: UnstakeRequestState[] = [];
  /** Invoices each account received lately, newest last, for the traffic's choices (capped). */
  readonly recentlyOwned = new Map<Hex, bigint[]>();
  readonly slashes: LedgerSlash[] = [];
  readonly stakeChanges: LedgerStakeChange[] = [];
  /** Every credit to a claimable balance and every claim, in chain order: the statements' lines. */
  readonly credits: LedgerCredit[] = [];
  readonly claims: LedgerClaim[] = [];

  protected readonly requestQueues = new Map<Hex, { ids: bigint[]; first: number }>();
  protected readonly operatorApprovals = new Set<string>();
  protected readonly earningsDaily = new Map<string, EarningsDailyState>();
  protected readonly modelDaily = new Map<string, ModelDailyState>();
  protected readonly protocolDaily = new Map<number, ProtocolDailyState>();
  protected readonly datasetDaily = new Map<string, AttributionDailyState>();
  protected readonly datanetDaily = new Map<string, AttributionDailyState>();

  constructor(
    protected readonly events: EventEncoder,
    parameters: ProtocolParameters,
  ) {
    this.taxRateBps = parameters.taxRateBps;
    this.treasury = parameters.treasury;
    this.cooldownSeconds = parameters.cooldownSeconds;
    this.minProviderStake = parameters.minProviderStake;
    this.account(parameters.treasury);
  }

  account(address: Hex): AccountState {
    let account = this.accounts.get(address);
    if (!account) {
      account = {
        spent: 0n,
        earned: 0n,
        claimed: 0n,
        claimable: 0n,
        stake: 0n,
        pendingUnstake: 0n,
        slashed: 0n,
        invoicesAsCaller: 0,
        invoicesAsProvider: 0,
        invoicesAsContributor: 0,
        earnedByRole: [0n, 0n, 0n, 0n, 0n],
      };
      this.accounts.set(address, account);
    }
    return account;
  }

  invoice(id: bigint): InvoiceState {
    const invoice = this.invoices.get(id);
    if (!invoice) throw this.bug(`invoice ${id} does not exist`);
    return invoice;
  }

  datanet(datanetId: Hex): DatanetState {
    let datanet = this.datanets.get(datanetId);
    if (!datanet) {
      datanet = { datasetCount: 0, invoices: 0, tokens: 0, attributed: 0n };
      this.datanets.set(datanetId, datanet);
    }
    return datanet;
  }

  isOperator(owner: Hex, operator: Hex): boolean {
    return this.operatorApprovals.has(`${owner}:${operator}`);
  }

  protected bug(message: string): SimulatorMismatchError {
    return new SimulatorMismatchError(`simulator planned an invalid transaction: ${message}`);
  }

  // ------------------------------------------------------------------ ledger

  protected credit(account: Hex, role: 0 | 1 | 2 | 3 | 4, day: number, amount: bigint) {
    const key = `${account}:${role}:${day}`;
    let row = this.earningsDaily.get(key);
    if (!row) {
      row = { account, role, day, amount: 0n, payouts: 0 };
      this.earningsDaily.set(key, row);
    }
    row.amount += amount;
    row.payouts++;
  }

  protected modelDay(modelId: Hex, day: number): ModelDailyState {
    const key = `${modelId}:${day}`;
    let row = this.modelDaily.get(key);
    if (!row) {
      row = {
        modelId,
        day,
        invoices: 0,
        inputTokens: 0,
        outputTokens: 0,
        gross: 0n,
        sloMet: 0,
        latencySum: 0,
        latencyMax: 0,
        settled: 0,
        paid: 0n,
        refunds: 0n,
      };
      this.modelDaily.set(key, row);
    }
    return row;
  }

  protected protocolDay(day: number): ProtocolDailyState {
    let row = this.protocolDaily.get(day);
    if (!row) {
      row = {
        day,
        invoices: 0,
        gross: 0n,
        settled: 0,
        paid: 0n,
        tax: 0n,
        refunds: 0n,
        slashed: 0n,
        unattributed: 0n,
      };
      this.protocolDaily.set(day, row);
    }
    return row;
  }

  /** The day of a dataset (`daily` = datasetDaily, keyed by hash) or datanet (datanetDaily, by id). */
  protected attributionDay(daily: Map<string, AttributionDailyState>, key: Hex, day: number): AttributionDailyState {
    const mapKey = `${key}:${day}`;
    let row = daily.get(mapKey);
    if (!row) {
      row = { key, day, invoices: 0, tokens: 0, attributed: 0n };
      daily.set(mapKey, row);
    }
    return row;
  }
}
