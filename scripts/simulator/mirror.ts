import { SimulatorMismatchError } from "./errors.js";
import type { EventEncoder, ExpectedLog } from "./events.js";
import type {
  Hex,
  InvoiceStatus,
  Ledger,
  LedgerAccount,
  LedgerDatasetUse,
  LedgerEarningsDaily,
  LedgerInvoice,
  LedgerModelDaily,
  LedgerProtocolDaily,
  LedgerSlash,
  LedgerStakeChange,
  StakeChangeKind,
} from "./ledger.js";

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

type AccountState = {
  spent: bigint;
  earned: bigint;
  claimed: bigint;
  claimable: bigint;
  stake: bigint;
  pendingUnstake: bigint;
  slashed: bigint;
  invoicesAsCaller: number;
  invoicesAsProvider: number;
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

type DatasetState = { datanetId: Hex; version: number; invoices: number; tokens: number };
type EarningsDailyState = { account: Hex; role: 0 | 1 | 2 | 3 | 4; day: number; amount: bigint; payouts: number };
type ModelDailyState = {
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
type ProtocolDailyState = {
  day: number;
  invoices: number;
  gross: bigint;
  settled: number;
  paid: bigint;
  tax: bigint;
  refunds: bigint;
  slashed: bigint;
};

export type IssueArgs = {
  caller: Hex;
  modelId: Hex;
  agentId: Hex;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  feeMultiplierBps: number;
  dueAt: number;
  modelVersion: Hex;
  trainingLogHash: Hex;
  shares: { contributor: Hex; role: 1 | 2 | 3; shareBps: number }[];
  datasets: LedgerDatasetUse[];
};

export type ProtocolParameters = {
  taxRateBps: number;
  treasury: Hex;
  cooldownSeconds: number;
  minProviderStake: bigint;
};

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const newEffect = (): Effect => ({ logs: [], onMined: [] });
const add = (effect: Effect, log: LazyLog): number => effect.logs.push(log) - 1;

/**
 * The simulator's own model of the four contracts' rules (SPEC.md), fed with every transaction it
 * sends, in the order the chain executes them. Each method checks what the contract would check
 * (a failed check is a simulator bug, so it throws), updates the state, and returns the logs the
 * transaction must emit plus the ledger writes that need the block (timestamps, days, log
 * indexes). The ledger is built from this state alone, never from indexer code.
 */
export class ProtocolMirror {
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
  readonly bundles = new Map<bigint, BundleState>();
  readonly requests = new Map<bigint, UnstakeRequestState>();
  /** Open unstake requests in creation order (what `unstake` may still close). */
  readonly openRequests: UnstakeRequestState[] = [];
  /** Invoices each account received lately, newest last, for the traffic's choices (capped). */
  readonly recentlyOwned = new Map<Hex, bigint[]>();
  readonly slashes: LedgerSlash[] = [];
  readonly stakeChanges: LedgerStakeChange[] = [];

  private readonly requestQueues = new Map<Hex, { ids: bigint[]; first: number }>();
  private readonly operatorApprovals = new Set<string>();
  private readonly earningsDaily = new Map<string, EarningsDailyState>();
  private readonly modelDaily = new Map<string, ModelDailyState>();
  private readonly protocolDaily = new Map<number, ProtocolDailyState>();

  constructor(
    private readonly events: EventEncoder,
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

  isOperator(owner: Hex, operator: Hex): boolean {
    return this.operatorApprovals.has(`${owner}:${operator}`);
  }

  private bug(message: string): SimulatorMismatchError {
    return new SimulatorMismatchError(`simulator planned an invalid transaction: ${message}`);
  }

  // ------------------------------------------------------------------ stakes

  stake(staker: Hex, amount: bigint): Effect {
    if (amount <= 0n) throw this.bug("stake of 0");
    const account = this.account(staker);
    account.stake += amount;
    const effect = newEffect();
    const position = add(effect, this.events.staked(staker, amount, account.stake));
    this.recordStakeChange(effect, position, staker, "stake", amount);
    return effect;
  }

  /** `knownTimestamp`: the block's timestamp when it is fixed in advance (fast mode); else set once mined. */
  requestUnstake(staker: Hex, amount: bigint, knownTimestamp: number | null): { effect: Effect; requestId: bigint } {
    const account = this.account(staker);
    if (amount <= 0n || amount > account.stake) throw this.bug(`unstake of ${amount} from ${staker}`);
    account.stake -= amount;
    account.pendingUnstake += amount;
    const requestId = ++this.lastRequestId;
    const cooldown = this.cooldownSeconds;
    const request: UnstakeRequestState = {
      id: requestId,
      staker,
      amount,
      amountLeft: amount,
      unlockAt: knownTimestamp === null ? null : knownTimestamp + cooldown,
      open: true,
      withdrawn: null,
    };
    this.requests.set(requestId, request);
    this.openRequests.push(request);
    let queue = this.requestQueues.get(staker);
    if (!queue) {
      queue = { ids: [], first: 0 };
      this.requestQueues.set(staker, queue);
    }
    queue.ids.push(requestId);
    const effect = newEffect();
    const position = add(effect, (timestamp) =>
      this.events.unstakeRequested(staker, requestId, amount, timestamp + cooldown),
    );
    effect.onMined.push((context) => {
      request.unlockAt ??= context.timestamp + cooldown;
    });
    this.recordStakeChange(effect, position, staker, "unstakeRequest", amount);
    return { effect, requestId };
  }

  /** The caller checks that the request's cooldown has passed at the block's timestamp. */
  unstake(staker: Hex, requestId: bigint): Effect {
    const request = this.requests.get(requestId);
    if (!request || request.staker !== staker || !request.open) throw this.bug(`unstake of request ${requestId}`);
    const amount = request.amountLeft;
    request.open = false;
    request.amountLeft = 0n;
    request.withdrawn = amount;
    this.openRequests.splice(this.openRequests.indexOf(request), 1);
    this.account(staker).pendingUnstake -= amount;
    const effect = newEffect();
    const position = add(effect, this.events.unstaked(staker, requestId, amount));
    this.recordStakeChange(effect, position, staker, "unstake", amount);
    return effect;
  }

  /** Governance slash by the owner. */
  slash(staker: Hex, invoiceId: bigint, reason: number, amount: bigint, evidence: Hex): Effect {
    if (reason < 1 || reason > 5 || amount <= 0n) throw this.bug(`slash reason ${reason} amount ${amount}`);
    const effect = newEffect();
    this.slashInto(effect, staker, invoiceId, reason, amount, evidence);
    return effect;
  }

  /** Active stake first, then open requests oldest first (StakeManager.slash and _slashPending). */
  private slashInto(effect: Effect, staker: Hex, invoiceId: bigint, reason: number, amount: bigint, evidence: Hex) {
    const account = this.account(staker);
    let taken = min(amount, account.stake);
    account.stake -= taken;
    if (taken < amount) taken += this.slashPending(staker, amount - taken);
    account.slashed += taken;
    const remainingStake = account.stake;
    const position = add(effect, this.events.slashed(staker, invoiceId, reason, taken, remainingStake, evidence));
    this.recordStakeChange(effect, position, staker, "slash", taken);
    effect.onMined.push((context) => {
      this.slashes.push({
        blockNumber: context.blockNumber,
        txHash: context.txHash,
        logIndex: context.logIndexes[position],
        staker,
        invoiceId: invoiceId.toString(),
        reason: reason as LedgerSlash["reason"],
        amount: taken.toString(),
        remainingStake: remainingStake.toString(),
        evidence,
      });
      this.protocolDay(dayOf(context.timestamp)).slashed += taken;
    });
  }

  private slashPending(staker: Hex, wanted: bigint): bigint {
    const queue = this.requestQueues.get(staker);
    if (!queue) return 0n;
    let taken = 0n;
    let index = queue.first;
    while (taken < wanted && index < queue.ids.length) {
      const request = this.requests.get(queue.ids[index]) as UnstakeRequestState;
      const left = request.open ? request.amountLeft : 0n;
      const take = min(wanted - taken, left);
      request.amountLeft = left - take;
      taken += take;
      if (request.amountLeft === 0n) index++;
      else break;
    }
    queue.first = index;
    this.account(staker).pendingUnstake -= taken;
    return taken;
  }

  private recordStakeChange(effect: Effect, position: number, staker: Hex, kind: StakeChangeKind, amount: bigint) {
    const account = this.account(staker);
    const stakeAfter = account.stake.toString();
    const pendingAfter = account.pendingUnstake.toString();
    effect.onMined.push((context) => {
      this.stakeChanges.push({
        blockNumber: context.blockNumber,
        txHash: context.txHash,
        logIndex: context.logIndexes[position],
        staker,
        kind,
        amount: amount.toString(),
        stakeAfter,
        pendingAfter,
      });
    });
  }

  setCooldown(seconds: number): Effect {
    const effect = newEffect();
    add(effect, this.events.cooldownUpdated(this.cooldownSeconds, seconds));
    this.cooldownSeconds = seconds;
    return effect;
  }

  // ------------------------------------------------------------------ models

  registerModel(provider: Hex, modelId: Hex, price: bigint, sloLatencyMs: number, penaltyBps: number): Effect {
    if (this.models.has(modelId)) throw this.bug(`model ${modelId} registered twice`);
    if (penaltyBps > 10_000) throw this.bug(`penalty ${penaltyBps}`);
    if (this.account(provider).stake < this.minProviderStake) throw this.bug(`${provider} stakes too little`);
    this.models.set(modelId, {
      provider,
      pricePerKToken: price,
      sloLatencyMs,
      penaltyBps,
      invoices: 0,
      tokens: 0,
      gross: 0n,
      sloMet: 0,
    });
    const effect = newEffect();
    add(effect, this.events.modelRegistered(modelId, provider, price, sloLatencyMs, penaltyBps));
    return effect;
  }

  updateModelTerms(provider: Hex, modelId: Hex, price: bigint, sloLatencyMs: number, penaltyBps: number): Effect {
    const model = this.models.get(modelId);
    if (!model || model.provider !== provider || penaltyBps > 10_000) throw this.bug(`terms of ${modelId}`);
    model.pricePerKToken = price;
    model.sloLatencyMs = sloLatencyMs;
    model.penaltyBps = penaltyBps;
    const effect = newEffect();
    add(effect, this.events.modelTermsUpdated(modelId, price, sloLatencyMs, penaltyBps));
    return effect;
  }

  // ---------------------------------------------------------------- invoices

  issue(provider: Hex, args: IssueArgs): { effect: Effect; invoiceId: bigint } {
    const model = this.models.get(args.modelId);
    if (!model || model.provider !== provider) throw this.bug(`issue on ${args.modelId} by ${provider}`);
    if (args.feeMultiplierBps < 5_000 || args.feeMultiplierBps > 50_000) throw this.bug("fee multiplier");
    let totalBps = 0;
    for (const share of args.shares) totalBps += share.shareBps;
    if (totalBps > 10_000) throw this.bug(`shares of ${totalBps} bps`);

    const invoiceId = ++this.lastInvoiceId;
    const tokens = args.inputTokens + args.outputTokens;
    const amount = (((BigInt(tokens) * model.pricePerKToken) / 1000n) * BigInt(args.feeMultiplierBps)) / BPS;
    const sloMet = args.latencyMs <= model.sloLatencyMs;
    const providerStake = this.account(provider).stake;
    const invoice: InvoiceState = {
      id: invoiceId,
      caller: args.caller,
      modelId: args.modelId,
      agentId: args.agentId,
      provider,
      owner: provider,
      status: "issued",
      amount,
      feeMultiplierBps: args.feeMultiplierBps,
      taxRateBps: this.taxRateBps,
      providerStake,
      dueAt: args.dueAt,
      inputTokens: args.inputTokens,
      outputTokens: args.outputTokens,
      latencyMs: args.latencyMs,
      sloLatencyMs: model.sloLatencyMs,
      penaltyBps: model.penaltyBps,
      sloMet,
      modelVersion: args.modelVersion,
      trainingLogHash: args.trainingLogHash,
      datasets: args.datasets,
      shares: args.shares.map((share) => ({ ...share, credited: null })),
      holderCredited: null,
      payer: null,
      settleAt: null,
      paid: null,
      tax: null,
      refund: null,
      distributed: null,
      bundleId: 0n,
      issuedAt: 0,
      issuedBlock: 0,
      settledAt: null,
      voidReason: null,
      transferCount: 0,
      approved: null,
      escrow: null,
    };
    this.invoices.set(invoiceId, invoice);
    this.noteOwner(provider, invoiceId);
    this.account(args.caller).invoicesAsCaller++;
    this.account(provider).invoicesAsProvider++;
    for (const share of args.shares) this.account(share.contributor);
    model.invoices++;
    model.tokens += tokens;
    model.gross += amount;
    if (sloMet) model.sloMet++;
    const seen = new Set<Hex>();
    for (const use of args.datasets) {
      let dataset = this.datasets.get(use.datasetHash);
      if (!dataset) {
        dataset = { datanetId: use.datanetId, version: use.version, invoices: 0, tokens: 0 };
        this.datasets.set(use.datasetHash, dataset);
      }
      dataset.datanetId = use.datanetId;
      dataset.version = use.version;
      if (seen.has(use.datasetHash)) continue;
      seen.add(use.datasetHash);
      dataset.invoices++;
      dataset.tokens += tokens;
    }

    const effect = newEffect();
    add(effect, this.events.transfer(ZERO_ADDRESS, provider, invoiceId));
    add(
      effect,
      this.events.invoiceIssued({
        invoiceId,
        caller: args.caller,
        modelId: args.modelId,
        provider,
        agentId: args.agentId,
        amount,
        feeMultiplierBps: args.feeMultiplierBps,
        taxRateBps: invoice.taxRateBps,
        providerStake,
        dueAt: args.dueAt,
      }),
    );
    add(
      effect,
      this.events.serviceMeasured({
        invoiceId,
        inputTokens: args.inputTokens,
        outputTokens: args.outputTokens,
        latencyMs: args.latencyMs,
        sloLatencyMs: model.sloLatencyMs,
        penaltyBps: model.penaltyBps,
        sloMet,
      }),
    );
    add(effect, this.events.provenanceRecorded(invoiceId, args.modelVersion, args.trainingLogHash));
    for (const use of args.datasets) {
      add(effect, this.events.datasetUsed(invoiceId, use.datasetHash, use.datanetId, use.version));
    }
    for (const share of args.shares) {
      add(effect, this.events.shareAssigned(invoiceId, share.contributor, share.role, share.shareBps));
    }
    effect.onMined.push((context) => {
      invoice.issuedAt = context.timestamp;
      invoice.issuedBlock = context.blockNumber;
      const day = dayOf(context.timestamp);
      const modelDay = this.modelDay(args.modelId, day);
      modelDay.invoices++;
      modelDay.inputTokens += args.inputTokens;
      modelDay.outputTokens += args.outputTokens;
      modelDay.gross += amount;
      if (sloMet) modelDay.sloMet++;
      modelDay.latencySum += args.latencyMs;
      modelDay.latencyMax = Math.max(modelDay.latencyMax, args.latencyMs);
      const protocolDay = this.protocolDay(day);
      protocolDay.invoices++;
      protocolDay.gross += amount;
    });
    return { effect, invoiceId };
  }

  voidInvoice(provider: Hex, invoiceId: bigint, reason: number): Effect {
    const invoice = this.invoice(invoiceId);
    if (invoice.provider !== provider || invoice.status !== "issued" || invoice.bundleId !== 0n) {
      throw this.bug(`void of invoice ${invoiceId}`);
    }
    if (reason < 1 || reason > 3) throw this.bug(`void reason ${reason}`);
    invoice.status = "voided";
    invoice.voidReason = reason;
    const effect = newEffect();
    add(effect, this.events.invoiceVoided(invoiceId, reason));
    return effect;
  }

  /** ERC-721 transferFrom sent by the owner, the approved account or an operator. */
  transferInvoice(sender: Hex, from: Hex, to: Hex, invoiceId: bigint): Effect {
    const invoice = this.invoice(invoiceId);
    const authorized = sender === from || invoice.approved === sender || this.isOperator(from, sender);
    if (invoice.owner !== from || invoice.bundleId !== 0n || !authorized || to === ZERO_ADDRESS) {
      throw this.bug(`transfer of invoice ${invoiceId} by ${sender}`);
    }
    const effect = newEffect();
    this.moveInvoice(effect, invoice, to);
    return effect;
  }

  private moveInvoice(effect: Effect, invoice: InvoiceState, to: Hex) {
    add(effect, this.events.transfer(invoice.owner, to, invoice.id));
    invoice.owner = to;
    invoice.approved = null;
    invoice.transferCount++;
    this.account(to);
    this.noteOwner(to, invoice.id);
  }

  private noteOwner(owner: Hex, invoiceId: bigint) {
    let owned = this.recentlyOwned.get(owner);
    if (!owned) {
      owned = [];
      this.recentlyOwned.set(owner, owned);
    }
    owned.push(invoiceId);
    if (owned.length > 256) owned.splice(0, 128);
  }

  approveInvoice(owner: Hex, approved: Hex, invoiceId: bigint): Effect {
    const invoice = this.invoice(invoiceId);
    if (invoice.owner !== owner) throw this.bug(`approval of invoice ${invoiceId} by ${owner}`);
    invoice.approved = approved;
    const effect = newEffect();
    add(effect, this.events.approval(owner, approved, invoiceId));
    return effect;
  }

  setApprovalForAll(owner: Hex, operator: Hex, approved: boolean): Effect {
    if (approved) this.operatorApprovals.add(`${owner}:${operator}`);
    else this.operatorApprovals.delete(`${owner}:${operator}`);
    const effect = newEffect();
    add(effect, this.events.approvalForAll(owner, operator, approved));
    return effect;
  }

  // ----------------------------------------------------------------- bundles

  createBundle(owner: Hex, name: string, invoiceIds: bigint[]): { effect: Effect; bundleId: bigint } {
    if (invoiceIds.length === 0) throw this.bug("empty bundle");
    const bundleId = ++this.lastBundleId;
    let faceValue = 0n;
    for (const id of invoiceIds) {
      const invoice = this.invoice(id);
      const bundleable = invoice.status === "issued" || invoice.status === "scheduled";
      if (invoice.owner !== owner || !bundleable || invoice.bundleId !== 0n) throw this.bug(`bundling invoice ${id}`);
      invoice.bundleId = bundleId;
      faceValue += invoice.amount;
    }
    this.bundles.set(bundleId, {
      id: bundleId,
      owner,
      name,
      members: invoiceIds,
      faceValue,
      outstanding: faceValue,
      earned: 0n,
      active: true,
    });
    const effect = newEffect();
    add(effect, this.events.bundleCreated(bundleId, owner, name, invoiceIds));
    return { effect, bundleId };
  }

  transferBundle(sender: Hex, bundleId: bigint, to: Hex): Effect {
    const bundle = this.bundles.get(bundleId);
    if (!bundle?.active || bundle.owner !== sender || to === ZERO_ADDRESS) {
      throw this.bug(`transfer of bundle ${bundleId}`);
    }
    const effect = newEffect();
    for (const id of bundle.members) this.moveInvoice(effect, this.invoice(id), to);
    add(effect, this.events.bundleTransferred(bundleId, sender, to));
    bundle.owner = to;
    return effect;
  }

  dissolveBundle(sender: Hex, bundleId: bigint): Effect {
    const bundle = this.bundles.get(bundleId);
    if (!bundle?.active || bundle.owner !== sender) throw this.bug(`dissolving bundle ${bundleId}`);
    bundle.active = false;
    for (const id of bundle.members) this.invoice(id).bundleId = 0n;
    const effect = newEffect();
    add(effect, this.events.bundleDissolved(bundleId));
    return effect;
  }

  // -------------------------------------------------------------- settlement

  setTaxRate(bps: number): Effect {
    if (bps > 2_000) throw this.bug(`tax rate ${bps}`);
    const effect = newEffect();
    add(effect, this.events.taxRateUpdated(this.taxRateBps, bps));
    this.taxRateBps = bps;
    return effect;
  }

  setTreasury(treasury: Hex): Effect {
    const effect = newEffect();
    add(effect, this.events.treasuryUpdated(this.treasury, treasury));
    this.treasury = treasury;
    this.account(treasury);
    return effect;
  }

  refundOf(invoice: InvoiceState): bigint {
    return invoice.sloMet ? 0n : (invoice.amount * BigInt(invoice.penaltyBps)) / BPS;
  }

  settle(sender: Hex, invoiceId: bigint): Effect {
    const invoice = this.invoice(invoiceId);
    if (invoice.status !== "issued" || invoice.caller !== sender) throw this.bug(`settle of invoice ${invoiceId}`);
    const refund = this.refundOf(invoice);
    const effect = newEffect();
    this.settleInto(effect, invoice, sender, invoice.amount - refund, refund);
    return effect;
  }

  /** The caller checks `settleAt >= block.timestamp`. */
  schedule(sender: Hex, invoiceId: bigint, settleAt: number): Effect {
    const invoice = this.invoice(invoiceId);
    if (invoice.status !== "issued" || invoice.caller !== sender) throw this.bug(`schedule of invoice ${invoiceId}`);
    invoice.status = "scheduled";
    invoice.escrow = { payer: sender, settleAt, amount: invoice.amount };
    invoice.payer = sender;
    invoice.settleAt = settleAt;
    const effect = newEffect();
    add(effect, this.events.settlementScheduled(invoiceId, sender, settleAt, invoice.amount));
    return effect;
  }

  /**
   * settleDue at a block whose timestamp lies in [earliest, latest]: settles the escrows due by
   * `earliest`, skips those not due by `latest`; any other escrow in the list is a planning bug.
   */
  settleDue(invoiceIds: bigint[], earliest: number, latest: number): Effect {
    const effect = newEffect();
    for (const id of invoiceIds) {
      const invoice = this.invoices.get(id);
      const escrow = invoice?.escrow;
      if (!invoice || !escrow || escrow.settleAt > latest || invoice.status !== "scheduled") continue;
      if (escrow.settleAt > earliest) throw this.bug(`settleDue of invoice ${id} that may or may not be due`);
      invoice.escrow = null;
      const refund = this.refundOf(invoice);
      this.settleInto(effect, invoice, escrow.payer, escrow.amount - refund, refund);
    }
    return effect;
  }

  /** SettlementEngine._settle: tax, shares, holder (the rest), then the SLO slash. */
  private settleInto(effect: Effect, invoice: InvoiceState, payer: Hex, paid: bigint, refund: bigint) {
    const tax = (paid * BigInt(invoice.taxRateBps)) / BPS;
    const distributed = paid - tax;
    const holder = invoice.owner;
    const treasury = this.treasury;
    const treasuryAccount = this.account(treasury);
    treasuryAccount.claimable += tax;
    treasuryAccount.earned += tax;
    invoice.status = "settled";
    invoice.payer = payer;
    invoice.paid = paid;
    invoice.tax = tax;
    invoice.refund = refund;
    invoice.distributed = distributed;
    this.account(payer).spent += paid;
    add(effect, this.events.invoiceSettled(invoice.id, payer, holder, paid, tax, refund, distributed));
    let remaining = distributed;
    for (const share of invoice.shares) {
      const credit = (distributed * BigInt(share.shareBps)) / BPS;
      remaining -= credit;
      share.credited = credit;
      const account = this.account(share.contributor);
      account.claimable += credit;
      account.earned += credit;
      add(effect, this.events.payoutCredited(invoice.id, share.contributor, share.role, credit));
    }
    invoice.holderCredited = remaining;
    const holderAccount = this.account(holder);
    holderAccount.claimable += remaining;
    holderAccount.earned += remaining;
    add(effect, this.events.payoutCredited(invoice.id, holder, HOLDER_ROLE, remaining));
    if (invoice.bundleId !== 0n) {
      const bundle = this.bundles.get(invoice.bundleId) as BundleState;
      bundle.outstanding -= invoice.amount;
      bundle.earned += remaining;
    }
    const holderCredit = remaining;
    effect.onMined.push((context) => {
      invoice.settledAt = context.timestamp;
      const day = dayOf(context.timestamp);
      const modelDay = this.modelDay(invoice.modelId, day);
      modelDay.settled++;
      modelDay.paid += paid;
      modelDay.refunds += refund;
      const protocolDay = this.protocolDay(day);
      protocolDay.settled++;
      protocolDay.paid += paid;
      protocolDay.tax += tax;
      protocolDay.refunds += refund;
      this.credit(treasury, 0, day, tax);
      for (const share of invoice.shares) this.credit(share.contributor, share.role, day, share.credited as bigint);
      this.credit(holder, HOLDER_ROLE, day, holderCredit);
    });
    if (refund > 0n) this.slashInto(effect, invoice.provider, invoice.id, SLO_BREACH, refund, ZERO_BYTES32);
  }

  claim(account: Hex): Effect {
    const state = this.account(account);
    const amount = state.claimable;
    if (amount === 0n) throw this.bug(`claim of nothing by ${account}`);
    state.claimable = 0n;
    state.claimed += amount;
    const effect = newEffect();
    add(effect, this.events.earningsClaimed(account, amount));
    return effect;
  }

  // ------------------------------------------------------------------ ledger

  private credit(account: Hex, role: 0 | 1 | 2 | 3 | 4, day: number, amount: bigint) {
    const key = `${account}:${role}:${day}`;
    let row = this.earningsDaily.get(key);
    if (!row) {
      row = { account, role, day, amount: 0n, payouts: 0 };
      this.earningsDaily.set(key, row);
    }
    row.amount += amount;
    row.payouts++;
  }

  private modelDay(modelId: Hex, day: number): ModelDailyState {
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

  private protocolDay(day: number): ProtocolDailyState {
    let row = this.protocolDaily.get(day);
    if (!row) {
      row = { day, invoices: 0, gross: 0n, settled: 0, paid: 0n, tax: 0n, refunds: 0n, slashed: 0n };
      this.protocolDaily.set(day, row);
    }
    return row;
  }

  /** The ledger sections built from this state (everything but `meta` and `eventCounts`). */
  toLedgerSections(): Omit<Ledger, "meta" | "eventCounts"> {
    const wei = (value: bigint | null) => (value === null ? null : value.toString());
    const invoices: Record<string, LedgerInvoice> = {};
    for (const invoice of this.invoices.values()) {
      invoices[invoice.id.toString()] = {
        invoiceId: invoice.id.toString(),
        caller: invoice.caller,
        modelId: invoice.modelId,
        agentId: invoice.agentId,
        provider: invoice.provider,
        holder: invoice.owner,
        status: invoice.status,
        amount: invoice.amount.toString(),
        feeMultiplierBps: invoice.feeMultiplierBps,
        taxRateBps: invoice.taxRateBps,
        providerStake: invoice.providerStake.toString(),
        dueAt: invoice.dueAt,
        inputTokens: invoice.inputTokens,
        outputTokens: invoice.outputTokens,
        latencyMs: invoice.latencyMs,
        sloLatencyMs: invoice.sloLatencyMs,
        penaltyBps: invoice.penaltyBps,
        sloMet: invoice.sloMet,
        modelVersion: invoice.modelVersion,
        trainingLogHash: invoice.trainingLogHash,
        datasets: invoice.datasets.map((use) => ({ ...use })),
        shares: invoice.shares.map((share) => ({
          contributor: share.contributor,
          role: share.role,
          shareBps: share.shareBps,
          credited: wei(share.credited),
        })),
        holderCredited: wei(invoice.holderCredited),
        payer: invoice.payer,
        settleAt: invoice.settleAt,
        paid: wei(invoice.paid),
        tax: wei(invoice.tax),
        refund: wei(invoice.refund),
        distributed: wei(invoice.distributed),
        bundleId: invoice.bundleId === 0n ? null : invoice.bundleId.toString(),
        issuedAt: invoice.issuedAt,
        issuedBlock: invoice.issuedBlock,
        settledAt: invoice.settledAt,
        voidReason: invoice.voidReason,
        transferCount: invoice.transferCount,
      };
    }
    const accounts: Record<Hex, LedgerAccount> = {};
    for (const [address, account] of this.accounts) {
      accounts[address] = {
        spent: account.spent.toString(),
        earned: account.earned.toString(),
        claimed: account.claimed.toString(),
        claimable: account.claimable.toString(),
        stake: account.stake.toString(),
        pendingUnstake: account.pendingUnstake.toString(),
        slashed: account.slashed.toString(),
        invoicesAsCaller: account.invoicesAsCaller,
        invoicesAsProvider: account.invoicesAsProvider,
      };
    }
    const models: Ledger["models"] = {};
    for (const [modelId, model] of this.models) {
      models[modelId] = { ...model, pricePerKToken: model.pricePerKToken.toString(), gross: model.gross.toString() };
    }
    const datasets: Ledger["datasets"] = {};
    for (const [hash, dataset] of this.datasets) datasets[hash] = { ...dataset };
    const bundles: Ledger["bundles"] = {};
    for (const bundle of this.bundles.values()) {
      bundles[bundle.id.toString()] = {
        owner: bundle.owner,
        name: bundle.name,
        members: bundle.members.map(String),
        memberCount: bundle.members.length,
        faceValue: bundle.faceValue.toString(),
        outstanding: bundle.outstanding.toString(),
        earned: bundle.earned.toString(),
        dissolved: !bundle.active,
      };
    }
    const unstakeRequests: Ledger["unstakeRequests"] = {};
    for (const request of this.requests.values()) {
      unstakeRequests[request.id.toString()] = {
        staker: request.staker,
        amount: request.amount.toString(),
        amountLeft: request.amountLeft.toString(),
        unlockAt: request.unlockAt ?? 0,
        status: request.open ? "pending" : "withdrawn",
        withdrawn: wei(request.withdrawn),
      };
    }
    const earningsDaily: Record<string, LedgerEarningsDaily> = {};
    for (const [key, row] of this.earningsDaily) earningsDaily[key] = { ...row, amount: row.amount.toString() };
    const modelDaily: Record<string, LedgerModelDaily> = {};
    for (const [key, row] of this.modelDaily) {
      modelDaily[key] = {
        ...row,
        gross: row.gross.toString(),
        paid: row.paid.toString(),
        refunds: row.refunds.toString(),
      };
    }
    const protocolDaily: Record<string, LedgerProtocolDaily> = {};
    for (const [day, row] of [...this.protocolDaily].sort((a, b) => a[0] - b[0])) {
      protocolDaily[String(day)] = {
        ...row,
        gross: row.gross.toString(),
        paid: row.paid.toString(),
        tax: row.tax.toString(),
        refunds: row.refunds.toString(),
        slashed: row.slashed.toString(),
      };
    }
    return {
      invoices,
      accounts,
      models,
      datasets,
      bundles,
      unstakeRequests,
      slashes: this.slashes,
      stakeChanges: this.stakeChanges,
      earningsDaily,
      modelDaily,
      protocolDaily,
    };
  }
}
