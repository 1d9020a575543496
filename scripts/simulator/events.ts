import { type Abi, type AbiEvent, encodeAbiParameters, toEventSelector } from "viem";
import { InvoiceRegistryAbi } from "../../abis/InvoiceRegistry.js";
import { SettlementEngineAbi } from "../../abis/SettlementEngine.js";
import { StakeManagerAbi } from "../../abis/StakeManager.js";
import type { Hex } from "./ledger.js";

/**
 * A log the simulator expects a transaction to emit, in the node's encoding (lowercase hex), so
 * that it compares to the log the node returns as strings. Only the three indexed contracts'
 * logs are expected; the token's own Transfer/Approval logs are not part of the ledger.
 */
export type ExpectedLog = { address: Hex; topics: Hex[]; data: Hex };

export type IndexedAddresses = { stakeManager: Hex; registry: Hex; engine: Hex };

function selectorsOf(abi: Abi): Map<string, Hex> {
  const selectors = new Map<string, Hex>();
  for (const item of abi) if (item.type === "event") selectors.set(item.name, toEventSelector(item as AbiEvent));
  return selectors;
}

function eventNames(abi: Abi): string[] {
  return abi.filter((item) => item.type === "event").map((item) => (item as AbiEvent).name);
}

/** Every event name each indexed contract can emit, from the generated ABIs. */
export const EVENT_NAMES = {
  StakeManager: eventNames(StakeManagerAbi),
  InvoiceRegistry: eventNames(InvoiceRegistryAbi),
  SettlementEngine: eventNames(SettlementEngineAbi),
} as const;

const SM = selectorsOf(StakeManagerAbi);
const IR = selectorsOf(InvoiceRegistryAbi);
const SE = selectorsOf(SettlementEngineAbi);

function selector(selectors: Map<string, Hex>, name: string): Hex {
  const found = selectors.get(name);
  if (!found) throw new Error(`event ${name} is not in the ABI`);
  return found;
}

const word = (value: bigint | number): string => value.toString(16).padStart(64, "0");
const addressWord = (address: Hex): string => address.slice(2).padStart(64, "0");
const topicOf = (value: bigint | number): Hex => `0x${word(value)}`;
const addressTopic = (address: Hex): Hex => `0x${addressWord(address)}`;
const data = (...words: string[]): Hex => `0x${words.join("")}`;

/**
 * Encodes the logs of the indexed contracts as the contracts emit them (topic order, indexed
 * arguments, ABI words). Amounts are non-negative bigints; addresses and bytes32 are lowercase.
 */
export class EventEncoder {
  /** `${address}:${topic0}` -> event name, to count logs by name. */
  readonly names = new Map<string, string>();

  constructor(readonly addresses: IndexedAddresses) {
    for (const [address, selectors] of [
      [addresses.stakeManager, SM],
      [addresses.registry, IR],
      [addresses.engine, SE],
    ] as const) {
      for (const [name, topic0] of selectors) this.names.set(`${address}:${topic0}`, name);
    }
  }

  nameOf(address: string, topic0: string): string | undefined {
    return this.names.get(`${address.toLowerCase()}:${topic0}`);
  }

  // ------------------------------------------------------------- StakeManager

  staked(staker: Hex, amount: bigint, totalStake: bigint): ExpectedLog {
    const topics = [selector(SM, "Staked"), addressTopic(staker)];
    return { address: this.addresses.stakeManager, topics, data: data(word(amount), word(totalStake)) };
  }

  unstakeRequested(staker: Hex, requestId: bigint, amount: bigint, unlockAt: number): ExpectedLog {
    const topics = [selector(SM, "UnstakeRequested"), addressTopic(staker), topicOf(requestId)];
    return { address: this.addresses.stakeManager, topics, data: data(word(amount), word(unlockAt)) };
  }

  unstaked(staker: Hex, requestId: bigint, amount: bigint): ExpectedLog {
    const topics = [selector(SM, "Unstaked"), addressTopic(staker), topicOf(requestId)];
    return { address: this.addresses.stakeManager, topics, data: data(word(amount)) };
  }

  slashed(
    staker: Hex,
    invoiceId: bigint,
    reason: number,
    amount: bigint,
    remainingStake: bigint,
    evidence: Hex,
  ): ExpectedLog {
    const topics = [selector(SM, "Slashed"), addressTopic(staker), topicOf(invoiceId), topicOf(reason)];
    return {
      address: this.addresses.stakeManager,
      topics,
      data: data(word(amount), word(remainingStake), evidence.slice(2)),
    };
  }

  cooldownUpdated(oldSeconds: number, newSeconds: number): ExpectedLog {
    const topics = [selector(SM, "CooldownUpdated")];
    return { address: this.addresses.stakeManager, topics, data: data(word(oldSeconds), word(newSeconds)) };
  }

  // ---------------------------------------------------------- InvoiceRegistry

  modelRegistered(modelId: Hex, provider: Hex, price: bigint, sloLatencyMs: number, penaltyBps: number): ExpectedLog {
    const topics = [selector(IR, "ModelRegistered"), modelId, addressTopic(provider)];
    return { address: this.addresses.registry, topics, data: data(word(price), word(sloLatencyMs), word(penaltyBps)) };
  }

  modelTermsUpdated(modelId: Hex, price: bigint, sloLatencyMs: number, penaltyBps: number): ExpectedLog {
    const topics = [selector(IR, "ModelTermsUpdated"), modelId];
    return { address: this.addresses.registry, topics, data: data(word(price), word(sloLatencyMs), word(penaltyBps)) };
  }

  /** ERC-721 Transfer: every argument indexed. */
  transfer(from: Hex, to: Hex, tokenId: bigint): ExpectedLog {
    const topics = [selector(IR, "Transfer"), addressTopic(from), addressTopic(to), topicOf(tokenId)];
    return { address: this.addresses.registry, topics, data: "0x" };
  }

  approval(owner: Hex, approved: Hex, tokenId: bigint): ExpectedLog {
    const topics = [selector(IR, "Approval"), addressTopic(owner), addressTopic(approved), topicOf(tokenId)];
    return { address: this.addresses.registry, topics, data: "0x" };
  }

  approvalForAll(owner: Hex, operator: Hex, approved: boolean): ExpectedLog {
    const topics = [selector(IR, "ApprovalForAll"), addressTopic(owner), addressTopic(operator)];
    return { address: this.addresses.registry, topics, data: data(word(approved ? 1 : 0)) };
  }

  invoiceIssued(args: {
    invoiceId: bigint;
    caller: Hex;
    modelId: Hex;
    provider: Hex;
    agentId: Hex;
    amount: bigint;
    feeMultiplierBps: number;
    taxRateBps: number;
    providerStake: bigint;
    dueAt: number;
  }): ExpectedLog {
    const topics = [selector(IR, "InvoiceIssued"), topicOf(args.invoiceId), addressTopic(args.caller), args.modelId];
    return {
      address: this.addresses.registry,
      topics,
      data: data(
        addressWord(args.provider),
        args.agentId.slice(2),
        word(args.amount),
        word(args.feeMultiplierBps),
        word(args.taxRateBps),
        word(args.providerStake),
        word(args.dueAt),
      ),
    };
  }

  serviceMeasured(args: {
    invoiceId: bigint;
    inputTokens: number;
    outputTokens: number;
    latencyMs: number;
    sloLatencyMs: number;
    penaltyBps: number;
    sloMet: boolean;
  }): ExpectedLog {
    const topics = [selector(IR, "ServiceMeasured"), topicOf(args.invoiceId)];
    return {
      address: this.addresses.registry,
      topics,
      data: data(
        word(args.inputTokens),
        word(args.outputTokens),
        word(args.latencyMs),
        word(args.sloLatencyMs),
        word(args.penaltyBps),
        word(args.sloMet ? 1 : 0),
      ),
    };
  }

  provenanceRecorded(invoiceId: bigint, modelVersion: Hex, trainingLogHash: Hex): ExpectedLog {
    const topics = [selector(IR, "ProvenanceRecorded"), topicOf(invoiceId), modelVersion];
    return { address: this.addresses.registry, topics, data: trainingLogHash };
  }

  datasetUsed(invoiceId: bigint, datasetHash: Hex, datanetId: Hex, version: number): ExpectedLog {
    const topics = [selector(IR, "DatasetUsed"), topicOf(invoiceId), datasetHash, datanetId];
    return { address: this.addresses.registry, topics, data: data(word(version)) };
  }

  shareAssigned(invoiceId: bigint, contributor: Hex, role: number, shareBps: number): ExpectedLog {
    const topics = [selector(IR, "ShareAssigned"), topicOf(invoiceId), addressTopic(contributor), topicOf(role)];
    return { address: this.addresses.registry, topics, data: data(word(shareBps)) };
  }

  invoiceVoided(invoiceId: bigint, reason: number): ExpectedLog {
    const topics = [selector(IR, "InvoiceVoided"), topicOf(invoiceId)];
    return { address: this.addresses.registry, topics, data: data(word(reason)) };
  }

  bundleCreated(bundleId: bigint, owner: Hex, name: string, invoiceIds: bigint[]): ExpectedLog {
    const topics = [selector(IR, "BundleCreated"), topicOf(bundleId), addressTopic(owner)];
    const encoded = encodeAbiParameters([{ type: "string" }, { type: "uint256[]" }], [name, invoiceIds]);
    return { address: this.addresses.registry, topics, data: encoded };
  }

  bundleTransferred(bundleId: bigint, from: Hex, to: Hex): ExpectedLog {
    const topics = [selector(IR, "BundleTransferred"), topicOf(bundleId), addressTopic(from), addressTopic(to)];
    return { address: this.addresses.registry, topics, data: "0x" };
  }

  bundleDissolved(bundleId: bigint): ExpectedLog {
    return {
      address: this.addresses.registry,
      topics: [selector(IR, "BundleDissolved"), topicOf(bundleId)],
      data: "0x",
    };
  }

  // --------------------------------------------------------- SettlementEngine

  taxRateUpdated(oldBps: number, newBps: number): ExpectedLog {
    const topics = [selector(SE, "TaxRateUpdated")];
    return { address: this.addresses.engine, topics, data: data(word(oldBps), word(newBps)) };
  }

  treasuryUpdated(oldTreasury: Hex, newTreasury: Hex): ExpectedLog {
    const topics = [selector(SE, "TreasuryUpdated"), addressTopic(oldTreasury), addressTopic(newTreasury)];
    return { address: this.addresses.engine, topics, data: "0x" };
  }

  settlementScheduled(invoiceId: bigint, payer: Hex, settleAt: number, escrowed: bigint): ExpectedLog {
    const topics = [selector(SE, "SettlementScheduled"), topicOf(invoiceId), addressTopic(payer)];
    return { address: this.addresses.engine, topics, data: data(word(settleAt), word(escrowed)) };
  }

  invoiceSettled(
    invoiceId: bigint,
    payer: Hex,
    holder: Hex,
    paid: bigint,
    tax: bigint,
    refund: bigint,
    distributed: bigint,
  ): ExpectedLog {
    const topics = [selector(SE, "InvoiceSettled"), topicOf(invoiceId), addressTopic(payer), addressTopic(holder)];
    return {
      address: this.addresses.engine,
      topics,
      data: data(word(paid), word(tax), word(refund), word(distributed)),
    };
  }

  payoutCredited(invoiceId: bigint, account: Hex, role: number, amount: bigint): ExpectedLog {
    const topics = [selector(SE, "PayoutCredited"), topicOf(invoiceId), addressTopic(account), topicOf(role)];
    return { address: this.addresses.engine, topics, data: data(word(amount)) };
  }

  earningsClaimed(account: Hex, amount: bigint): ExpectedLog {
    const topics = [selector(SE, "EarningsClaimed"), addressTopic(account)];
    return { address: this.addresses.engine, topics, data: data(word(amount)) };
  }
}
