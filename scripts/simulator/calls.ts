import { encodeFunctionData, maxUint256 } from "viem";
import { InvoiceRegistryAbi } from "../../abis/InvoiceRegistry.js";
import { OpenTokenAbi } from "../../abis/OpenToken.js";
import { SettlementEngineAbi } from "../../abis/SettlementEngine.js";
import { StakeManagerAbi } from "../../abis/StakeManager.js";
import type { Hex, LedgerDatasetUse } from "./ledger.js";

/** The service record of `issue`, as the registry's ABI takes it. */
export type ServiceRecordArgs = {
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
};

export type ShareArgs = { contributor: Hex; role: number; shareBps: number };

/** Calldata of every contract function the simulator calls, encoded from the generated ABIs. */
export const calls = {
  mint: (to: Hex, amount: bigint) =>
    encodeFunctionData({ abi: OpenTokenAbi, functionName: "mint", args: [to, amount] }),
  approveMax: (spender: Hex) =>
    encodeFunctionData({ abi: OpenTokenAbi, functionName: "approve", args: [spender, maxUint256] }),

  stake: (amount: bigint) => encodeFunctionData({ abi: StakeManagerAbi, functionName: "stake", args: [amount] }),
  requestUnstake: (amount: bigint) =>
    encodeFunctionData({ abi: StakeManagerAbi, functionName: "requestUnstake", args: [amount] }),
  unstake: (requestId: bigint) =>
    encodeFunctionData({ abi: StakeManagerAbi, functionName: "unstake", args: [requestId] }),
  slash: (staker: Hex, invoiceId: bigint, reason: number, amount: bigint, evidence: Hex) =>
    encodeFunctionData({
      abi: StakeManagerAbi,
      functionName: "slash",
      args: [staker, invoiceId, reason, amount, evidence],
    }),
  setCooldown: (seconds: number) =>
    encodeFunctionData({ abi: StakeManagerAbi, functionName: "setCooldown", args: [BigInt(seconds)] }),

  registerModel: (modelId: Hex, price: bigint, sloLatencyMs: number, penaltyBps: number) =>
    encodeFunctionData({
      abi: InvoiceRegistryAbi,
      functionName: "registerModel",
      args: [modelId, price, sloLatencyMs, penaltyBps],
    }),
  updateModelTerms: (modelId: Hex, price: bigint, sloLatencyMs: number, penaltyBps: number) =>
    encodeFunctionData({
      abi: InvoiceRegistryAbi,
      functionName: "updateModelTerms",
      args: [modelId, price, sloLatencyMs, penaltyBps],
    }),
  issue: (record: ServiceRecordArgs, shares: readonly ShareArgs[], datasets: readonly LedgerDatasetUse[]) =>
    encodeFunctionData({
      abi: InvoiceRegistryAbi,
      functionName: "issue",
      args: [{ ...record, dueAt: BigInt(record.dueAt) }, shares, datasets],
    }),
  voidInvoice: (invoiceId: bigint, reason: number) =>
    encodeFunctionData({ abi: InvoiceRegistryAbi, functionName: "voidInvoice", args: [invoiceId, reason] }),
  transferFrom: (from: Hex, to: Hex, invoiceId: bigint) =>
    encodeFunctionData({ abi: InvoiceRegistryAbi, functionName: "transferFrom", args: [from, to, invoiceId] }),
  approveInvoice: (to: Hex, invoiceId: bigint) =>
    encodeFunctionData({ abi: InvoiceRegistryAbi, functionName: "approve", args: [to, invoiceId] }),
  setApprovalForAll: (operator: Hex, approved: boolean) =>
    encodeFunctionData({ abi: InvoiceRegistryAbi, functionName: "setApprovalForAll", args: [operator, approved] }),
  createBundle: (name: string, invoiceIds: bigint[]) =>
    encodeFunctionData({ abi: InvoiceRegistryAbi, functionName: "createBundle", args: [name, invoiceIds] }),
  transferBundle: (bundleId: bigint, to: Hex) =>
    encodeFunctionData({ abi: InvoiceRegistryAbi, functionName: "transferBundle", args: [bundleId, to] }),
  dissolveBundle: (bundleId: bigint) =>
    encodeFunctionData({ abi: InvoiceRegistryAbi, functionName: "dissolveBundle", args: [bundleId] }),

  setTaxRate: (bps: number) =>
    encodeFunctionData({ abi: SettlementEngineAbi, functionName: "setTaxRate", args: [bps] }),
  setTreasury: (treasury: Hex) =>
    encodeFunctionData({ abi: SettlementEngineAbi, functionName: "setTreasury", args: [treasury] }),
  settle: (invoiceId: bigint) =>
    encodeFunctionData({ abi: SettlementEngineAbi, functionName: "settle", args: [invoiceId] }),
  schedule: (invoiceId: bigint, settleAt: number) =>
    encodeFunctionData({ abi: SettlementEngineAbi, functionName: "schedule", args: [invoiceId, BigInt(settleAt)] }),
  settleDue: (invoiceIds: bigint[]) =>
    encodeFunctionData({ abi: SettlementEngineAbi, functionName: "settleDue", args: [invoiceIds] }),
  claim: () => encodeFunctionData({ abi: SettlementEngineAbi, functionName: "claim" }),
};
