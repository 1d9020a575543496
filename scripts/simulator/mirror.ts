/**
 * `ProtocolMirror`, the simulator's model of the contracts, in layers (folder `mirror/`), each
 * adding the rules of one part of the protocol to the one below:
 *
 *   types.ts       the state's shapes, effects, constants
 *   state.ts       MirrorState: the state, lookups, the ledger's daily buckets
 *   stakes.ts      StakesMirror: StakeManager
 *   invoices.ts    InvoicesMirror: models and invoices (InvoiceRegistry)
 *   settlement.ts  SettlementMirror: bundles (InvoiceRegistry) and SettlementEngine
 *   this file      ProtocolMirror: the ledger sections built from the state
 */
import type {
  Hex,
  Ledger,
  LedgerAccount,
  LedgerEarningsDaily,
  LedgerInvoice,
  LedgerModelDaily,
  LedgerProtocolDaily,
} from "./ledger.js";
import { SettlementMirror } from "./mirror/settlement.js";

export {
  BPS,
  type BundleState,
  dayOf,
  type Effect,
  HOLDER_ROLE,
  type InvoiceState,
  type IssueArgs,
  type LazyLog,
  type MinedContext,
  type ModelState,
  type ProtocolParameters,
  SECONDS_PER_DAY,
  SLO_BREACH,
  type UnstakeRequestState,
  ZERO_ADDRESS,
  ZERO_BYTES32,
} from "./mirror/types.js";

/**
 * The simulator's own model of the four contracts' rules (docs/rules.md, "Contracts"), fed with every transaction it
 * sends, in the order the chain executes them. Each method checks what the contract would check
 * (a failed check is a simulator bug, so it throws), updates the state, and returns the logs the
 * transaction must emit plus the ledger writes that need the block (timestamps, days, log
 * indexes). The ledger is built from this state alone, never from indexer code.
 */
export class ProtocolMirror extends SettlementMirror {
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
        datasets: invoice.datasets.map((use, position) => ({
          ...use,
          attributed: wei(invoice.attributed?.[position] ?? null),
        })),
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
        invoicesAsContributor: account.invoicesAsContributor,
        earnedAsTreasury: account.earnedByRole[0].toString(),
        earnedAsDataProvider: account.earnedByRole[1].toString(),
        earnedAsModelOptimizer: account.earnedByRole[2].toString(),
        earnedAsRouter: account.earnedByRole[3].toString(),
        earnedAsHolder: account.earnedByRole[4].toString(),
      };
    }
    const models: Ledger["models"] = {};
    for (const [modelId, model] of this.models) {
      models[modelId] = { ...model, pricePerKToken: model.pricePerKToken.toString(), gross: model.gross.toString() };
    }
    const datasets: Ledger["datasets"] = {};
    for (const [hash, dataset] of this.datasets) {
      datasets[hash] = { ...dataset, attributed: dataset.attributed.toString() };
    }
    const datanets: Ledger["datanets"] = {};
    for (const [id, datanet] of this.datanets) datanets[id] = { ...datanet, attributed: datanet.attributed.toString() };
    const datasetDaily: Ledger["datasetDaily"] = {};
    for (const [mapKey, { key, ...row }] of this.datasetDaily) {
      datasetDaily[mapKey] = { datasetHash: key, ...row, attributed: row.attributed.toString() };
    }
    const datanetDaily: Ledger["datanetDaily"] = {};
    for (const [mapKey, { key, ...row }] of this.datanetDaily) {
      datanetDaily[mapKey] = { datanetId: key, ...row, attributed: row.attributed.toString() };
    }
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
        unattributed: row.unattributed.toString(),
      };
    }
    return {
      invoices,
      accounts,
      models,
      datasets,
      datanets,
      bundles,
      unstakeRequests,
      slashes: this.slashes,
      stakeChanges: this.stakeChanges,
      earningsDaily,
      modelDaily,
      protocolDaily,
      datasetDaily,
      datanetDaily,
      credits: this.credits,
      claims: this.claims,
    };
  }
}
