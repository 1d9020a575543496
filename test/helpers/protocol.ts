/**
 * A small fixture for the contract tests: a fresh anvil on a free port, the four contracts deployed
 * (owner = eth_accounts[0], treasury = eth_accounts[1]), every other account funded with OPEN and
 * approving the StakeManager and the SettlementEngine, and typed helpers to send, read and decode.
 */
import {
  type Abi,
  type Address,
  BaseError,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type ContractFunctionReturnType,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  encodeFunctionData,
  getAddress,
  type Hex,
  http,
  maxUint256,
  parseEther,
  parseEventLogs,
  type TransactionReceipt,
} from "viem";
import { InvoiceRegistryAbi } from "../../abis/InvoiceRegistry.js";
import { OpenTokenAbi } from "../../abis/OpenToken.js";
import { SettlementEngineAbi } from "../../abis/SettlementEngine.js";
import { StakeManagerAbi } from "../../abis/StakeManager.js";
import type { Deployment } from "../../config/deployment.js";
import { type Anvil, rpc, startAnvil } from "../../scripts/lib/anvil.js";
import { deployProtocol, fundWithOpen } from "../../scripts/lib/deploy.js";

export const ABIS = {
  OpenToken: OpenTokenAbi,
  StakeManager: StakeManagerAbi,
  InvoiceRegistry: InvoiceRegistryAbi,
  SettlementEngine: SettlementEngineAbi,
} as const;
export type ContractKey = keyof typeof ABIS;
type AbiOf<N extends ContractKey> = (typeof ABIS)[N];
type Writable = "nonpayable" | "payable";
type Readable = "view" | "pure";

/** Every custom error of the four contracts, to name errors bubbled up from another contract. */
const ALL_ERRORS = Object.values(ABIS).flatMap((abi) => (abi as Abi).filter((item) => item.type === "error"));

export type DecodedEvent = { contract: ContractKey; eventName: string; args: Record<string, unknown> };
export type Sent = { receipt: TransactionReceipt; events: DecodedEvent[]; timestamp: bigint };

export type ServiceRecord = {
  caller: Address;
  modelId: Hex;
  agentId: Hex;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  feeMultiplierBps: number;
  dueAt: bigint;
  modelVersion: Hex;
  trainingLogHash: Hex;
};
export type Share = { contributor: Address; role: number; shareBps: number };
export type DatasetRef = { datasetHash: Hex; datanetId: Hex; version: number };

/** Enough gas for any call here; a fixed limit skips anvil's estimation (blocks have no gas limit). */
const GAS = 15_000_000n;
export const INITIAL_OPEN = parseEther("1000000");
export const ZERO_HASH: Hex = `0x${"0".repeat(64)}`;

/** bytes32 from a short ASCII label, for readable model, agent and dataset ids. */
export function b32(label: string): Hex {
  return `0x${Buffer.from(label, "utf8").toString("hex").padEnd(64, "0")}`;
}

export async function startProtocol() {
  const anvil: Anvil = await startAnvil({ accounts: 10 });
  const onExit = () => anvil.process.kill("SIGKILL");
  process.once("exit", onExit);
  const stop = async () => {
    process.removeListener("exit", onExit);
    await anvil.stop();
  };
  try {
    return await setUp(anvil, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

export type Protocol = Awaited<ReturnType<typeof startProtocol>>;

async function setUp(anvil: Anvil, stop: () => Promise<void>) {
  const { rpcUrl } = anvil;
  const transport = http(rpcUrl);
  const publicClient = createPublicClient({ transport });
  const walletClient = createWalletClient({ transport });
  const all = await rpc<Address[]>(rpcUrl, "eth_accounts");
  const [owner, treasury, provider, caller, dataProvider, optimizer, router, buyer, provider2, stranger] = all.map(
    (a) => getAddress(a),
  );
  const accounts = { owner, treasury, provider, caller, dataProvider, optimizer, router, buyer, provider2, stranger };
  const deployment: Deployment = await deployProtocol(rpcUrl, { owner, treasury });
  const addresses = deployment.contracts;
  const minProviderStake = await publicClient.readContract({
    address: addresses.InvoiceRegistry,
    abi: InvoiceRegistryAbi,
    functionName: "minProviderStake",
  });

  const funded = [provider, caller, dataProvider, optimizer, router, buyer, provider2, stranger];
  await fundWithOpen(deployment, funded, INITIAL_OPEN);

  const addressToKey = new Map<string, ContractKey>(
    (Object.keys(ABIS) as ContractKey[]).map((key) => [addresses[key].toLowerCase(), key]),
  );

  /** The logs of a receipt, each decoded with the ABI of the contract that emitted it, in log order. */
  function decodeEvents(receipt: TransactionReceipt): DecodedEvent[] {
    return receipt.logs.map((log) => {
      const contract = addressToKey.get(log.address.toLowerCase());
      if (!contract) throw new Error(`log from an unknown address ${log.address}`);
      const [parsed] = parseEventLogs({ abi: ABIS[contract] as Abi, logs: [log] });
      if (!parsed) throw new Error(`undecodable log of ${contract}: ${log.topics[0]}`);
      return { contract, eventName: parsed.eventName, args: parsed.args as Record<string, unknown> };
    });
  }

  async function receiptOf(hash: Hex): Promise<TransactionReceipt> {
    try {
      return await publicClient.getTransactionReceipt({ hash });
    } catch {
      return publicClient.waitForTransactionReceipt({ hash, pollingInterval: 10 });
    }
  }

  /**
   * Sends `functionName(args)` from `from` (an unlocked account). It is first simulated against the
   * pending block, so a revert rejects with viem's decoded ContractFunctionRevertedError and sends nothing.
   */
  async function send<N extends ContractKey, F extends ContractFunctionName<AbiOf<N>, Writable>>(
    from: Address,
    contract: N,
    functionName: F,
    args: ContractFunctionArgs<AbiOf<N>, Writable, F>,
  ): Promise<Sent> {
    const call = {
      address: addresses[contract],
      abi: ABIS[contract] as Abi,
      functionName: functionName as string,
      args: args as unknown[],
    };
    await publicClient.simulateContract({ ...call, account: from, blockTag: "pending" });
    const hash = await walletClient.sendTransaction({
      account: from,
      chain: null,
      to: addresses[contract],
      data: encodeFunctionData(call),
      gas: GAS,
    });
    const receipt = await receiptOf(hash);
    if (receipt.status !== "success") throw new Error(`${contract}.${functionName} reverted on chain (${hash})`);
    const block = await publicClient.getBlock({ blockNumber: receipt.blockNumber });
    return { receipt, events: decodeEvents(receipt), timestamp: block.timestamp };
  }

  async function read<N extends ContractKey, F extends ContractFunctionName<AbiOf<N>, Readable>>(
    contract: N,
    functionName: F,
    args: ContractFunctionArgs<AbiOf<N>, Readable, F>,
  ): Promise<ContractFunctionReturnType<AbiOf<N>, Readable, F>> {
    const call = {
      address: addresses[contract],
      abi: ABIS[contract] as Abi,
      functionName: functionName as string,
      args: args as unknown[],
    };
    return (await publicClient.readContract(call)) as ContractFunctionReturnType<AbiOf<N>, Readable, F>;
  }

  const balanceOf = (account: Address) => read("OpenToken", "balanceOf", [account]);
  const stakeOf = (account: Address) => read("StakeManager", "stakeOf", [account]);
  const claimable = (account: Address) => read("SettlementEngine", "claimable", [account]);
  const ownerOf = (invoiceId: bigint) => read("InvoiceRegistry", "ownerOf", [invoiceId]);
  /** The registry's record: status 1 issued, 2 scheduled, 3 settled, 4 voided. */
  const invoice = async (invoiceId: bigint) => {
    const [caller, provider, amount, taxRateBps, penaltyBps, sloMet, status, bundleId] = await read(
      "InvoiceRegistry",
      "invoices",
      [invoiceId],
    );
    return { caller, provider, amount, taxRateBps, penaltyBps, sloMet, status, bundleId };
  };

  // Every funded account lets the StakeManager and the SettlementEngine move its OPEN.
  for (const account of funded) {
    await send(account, "OpenToken", "approve", [addresses.StakeManager, maxUint256]);
    await send(account, "OpenToken", "approve", [addresses.SettlementEngine, maxUint256]);
  }

  const stake = (account: Address, amount: bigint) => send(account, "StakeManager", "stake", [amount]);

  /** Stakes `minProviderStake` first when the provider's active stake is below it, then registers. */
  async function registerModel(
    from: Address,
    modelId: Hex,
    terms: { pricePerKToken: bigint; sloLatencyMs: number; penaltyBps: number },
  ): Promise<Sent> {
    const active = await stakeOf(from);
    if (active < minProviderStake) await stake(from, minProviderStake - active);
    return send(from, "InvoiceRegistry", "registerModel", [
      modelId,
      terms.pricePerKToken,
      terms.sloLatencyMs,
      terms.penaltyBps,
    ]);
  }

  /** A plain service record: override what the test is about. */
  function record(fields: Partial<ServiceRecord> & Pick<ServiceRecord, "caller" | "modelId">): ServiceRecord {
    return {
      agentId: ZERO_HASH,
      inputTokens: 1000,
      outputTokens: 1000,
      latencyMs: 100,
      feeMultiplierBps: 10_000,
      dueAt: 0n,
      modelVersion: b32("model-version"),
      trainingLogHash: b32("training-log"),
      ...fields,
    };
  }

  /** Issues an invoice from the model's provider; returns its id (read from InvoiceIssued). */
  async function issue(
    from: Address,
    serviceRecord: ServiceRecord,
    shares: readonly Share[] = [],
    datasets: readonly DatasetRef[] = [],
  ): Promise<Sent & { invoiceId: bigint }> {
    const sent = await send(from, "InvoiceRegistry", "issue", [serviceRecord, shares, datasets]);
    const issued = sent.events.find((e) => e.eventName === "InvoiceIssued");
    if (!issued) throw new Error("issue emitted no InvoiceIssued");
    return { ...sent, invoiceId: issued.args.invoiceId as bigint };
  }

  // ------------------------------------------------------------------ chain control

  const snapshot = () => rpc<Hex>(rpcUrl, "evm_snapshot");
  const revert = async (id: Hex) => {
    const ok = await rpc<boolean>(rpcUrl, "evm_revert", [id]);
    if (!ok) throw new Error(`evm_revert ${id} failed`);
  };
  const now = async () => (await publicClient.getBlock()).timestamp;
  /** The timestamp of the next block (and of pending-block simulations until it is mined). */
  const setNextTimestamp = (timestamp: bigint) => rpc(rpcUrl, "evm_setNextBlockTimestamp", [Number(timestamp)]);
  const increaseTime = async (seconds: bigint) => {
    await rpc(rpcUrl, "evm_increaseTime", [Number(seconds)]);
    await rpc(rpcUrl, "evm_mine");
  };
  /** Impersonates any address (a contract, say) and gives it ETH for gas. */
  const impersonate = async (address: Address) => {
    await rpc(rpcUrl, "anvil_impersonateAccount", [address]);
    await rpc(rpcUrl, "anvil_setBalance", [address, "0x56bc75e2d63100000"]);
  };

  return {
    rpcUrl,
    publicClient,
    accounts,
    addresses,
    minProviderStake,
    stop,
    send,
    read,
    decodeEvents,
    balanceOf,
    stakeOf,
    claimable,
    ownerOf,
    invoice,
    stake,
    registerModel,
    record,
    issue,
    snapshot,
    revert,
    now,
    setNextTimestamp,
    increaseTime,
    impersonate,
  };
}

/**
 * Awaits `promise`, which must reject with a revert whose custom error is `errorName` (as viem decodes
 * it; errors bubbled up from another of the four contracts are decoded too). Returns the error's args.
 */
export async function expectRevert(promise: Promise<unknown>, errorName: string): Promise<readonly unknown[]> {
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  if (error === undefined) throw new Error(`expected a revert with ${errorName}, but the call succeeded`);
  const reverted =
    error instanceof BaseError
      ? (error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null)
      : null;
  if (!reverted) throw new Error(`expected a revert with ${errorName}, got: ${(error as Error).message}`);
  let name = reverted.data?.errorName;
  let args = reverted.data?.args ?? [];
  if (!name && reverted.raw) {
    try {
      const decoded = decodeErrorResult({ abi: ALL_ERRORS, data: reverted.raw });
      name = decoded.errorName;
      args = decoded.args ?? [];
    } catch {
      name = `unknown error ${reverted.signature ?? reverted.raw}`;
    }
  }
  if (name !== errorName) {
    throw new Error(`expected a revert with ${errorName}, got ${name ?? reverted.reason ?? "no error data"}`);
  }
  return args;
}
