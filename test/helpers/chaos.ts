import { type Address, encodeFunctionData, type Hex, keccak256, toHex } from "viem";
import { InvoiceRegistryAbi } from "../../abis/InvoiceRegistry.js";
import { SettlementEngineAbi } from "../../abis/SettlementEngine.js";
import { StakeManagerAbi } from "../../abis/StakeManager.js";
import type { Deployment } from "../../config/deployment.js";
import { rpc } from "../../scripts/lib/anvil.js";
import type { Ledger } from "../../scripts/simulator/ledger.js";
import { Rng } from "../../scripts/simulator/prng.js";

/**
 * Hand-made traffic for fault tests: one transaction per block, sent from impersonated accounts on
 * anvil (automine), so that a branch of a given depth is exactly that many blocks. Transactions carry
 * a fixed gas, so one that reverts is still mined (a block with no indexed event).
 */
export type ChaosAction =
  | { kind: "slash"; staker: Address; amount: bigint; evidence: Hex }
  | { kind: "transfer"; invoiceId: bigint; to: Address }
  | { kind: "settle"; invoiceId: bigint; caller: Address };

export type ChaosStats = Record<ChaosAction["kind"], { sent: number; reverted: number }>;

const GAS = "0x4c4b40";

export class ChaosTraffic {
  private readonly rng: Rng;
  private readonly stakers: Address[];
  private readonly invoices: bigint[];
  private readonly issued: { invoiceId: bigint; caller: Address }[];
  private readonly recipients: Address[];
  private readonly funded = new Set<string>();
  private nonce = 0;
  readonly stats: ChaosStats = {
    slash: { sent: 0, reverted: 0 },
    transfer: { sent: 0, reverted: 0 },
    settle: { sent: 0, reverted: 0 },
  };

  constructor(
    private readonly rpcUrl: string,
    private readonly deployment: Deployment,
    private readonly owner: Address,
    ledger: Ledger,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    this.stakers = Object.entries(ledger.accounts)
      .filter(([, account]) => BigInt(account.stake) > 0n)
      .map(([address]) => address as Address);
    this.invoices = Object.keys(ledger.invoices).map(BigInt);
    this.issued = Object.values(ledger.invoices)
      .filter((invoice) => invoice.status === "issued")
      .map((invoice) => ({ invoiceId: BigInt(invoice.invoiceId), caller: invoice.caller }));
    this.recipients = Array.from(
      { length: 8 },
      (_, i) => `0x${keccak256(toHex(`chaos-recipient-${seed}-${i}`)).slice(26)}` as Address,
    );
  }

  /** A random action; settlements draw from invoices still issued in the ledger (each at most once per call site). */
  randomAction(): ChaosAction {
    const roll = this.rng.next();
    if (roll < 0.35 && this.stakers.length > 0) return this.slashAction();
    if (roll < 0.65 && this.issued.length > 0) {
      const { invoiceId, caller } = this.issued.splice(this.rng.int(0, this.issued.length - 1), 1)[0];
      return { kind: "settle", invoiceId, caller };
    }
    return this.transferAction();
  }

  slashAction(): ChaosAction {
    this.nonce += 1;
    return {
      kind: "slash",
      staker: this.rng.pick(this.stakers),
      amount: BigInt(this.rng.int(1, 1_000)) * 10n ** 15n,
      evidence: keccak256(toHex(`chaos-evidence-${this.nonce}`)),
    };
  }

  transferAction(invoiceId?: bigint, not?: Address): ChaosAction {
    const id = invoiceId ?? this.rng.pick(this.invoices);
    const choices = this.recipients.filter((r) => r !== not);
    return { kind: "transfer", invoiceId: id, to: this.rng.pick(choices) };
  }

  /** `depth` random actions: the branch a reorg will drop. */
  original(depth: number): ChaosAction[] {
    return Array.from({ length: depth }, () => this.randomAction());
  }

  /**
   * The branch replacing `original`: one block more at least (a transfer first, so the first
   * replaced block differs), its slashes gone or of another amount, its transfers sent elsewhere, its
   * settlements one block later or more, then new random actions up to a greater height.
   */
  replacement(original: ChaosAction[]): ChaosAction[] {
    const branch: ChaosAction[] = [this.transferAction()];
    for (const action of original) {
      if (action.kind === "slash") {
        if (this.rng.chance(0.5)) branch.push(this.slashAction());
      } else if (action.kind === "transfer") {
        branch.push(this.transferAction(action.invoiceId, action.to));
      } else {
        branch.push(action);
      }
    }
    const length = original.length + 1 + this.rng.int(0, 2);
    while (branch.length < length) branch.push(this.randomAction());
    return branch;
  }

  private async impersonate(address: Address) {
    if (address.toLowerCase() === this.owner.toLowerCase() || this.funded.has(address)) return;
    await rpc(this.rpcUrl, "anvil_impersonateAccount", [address]);
    this.funded.add(address);
  }

  private async ensureBalance(address: Address) {
    const balance = BigInt(await rpc<string>(this.rpcUrl, "eth_getBalance", [address, "latest"]));
    if (balance < 10n ** 17n) await rpc(this.rpcUrl, "anvil_setBalance", [address, toHex(10n ** 19n)]);
  }

  /** Sends one action and mines it in a block of its own; returns whether it took effect. */
  async send(action: ChaosAction): Promise<boolean> {
    const { contracts } = this.deployment;
    let from: Address;
    let to: Address;
    let data: Hex;
    if (action.kind === "slash") {
      from = this.owner;
      to = contracts.StakeManager;
      data = encodeFunctionData({
        abi: StakeManagerAbi,
        functionName: "slash",
        args: [action.staker, 0n, 1, action.amount, action.evidence],
      });
    } else if (action.kind === "settle") {
      from = action.caller;
      to = contracts.SettlementEngine;
      data = encodeFunctionData({ abi: SettlementEngineAbi, functionName: "settle", args: [action.invoiceId] });
    } else {
      const ownerData = encodeFunctionData({
        abi: InvoiceRegistryAbi,
        functionName: "ownerOf",
        args: [action.invoiceId],
      });
      const holderWord = await rpc<Hex>(this.rpcUrl, "eth_call", [
        { to: contracts.InvoiceRegistry, data: ownerData },
        "latest",
      ]);
      from = `0x${holderWord.slice(26)}` as Address;
      to = contracts.InvoiceRegistry;
      data = encodeFunctionData({
        abi: InvoiceRegistryAbi,
        functionName: "transferFrom",
        args: [from, action.to, action.invoiceId],
      });
    }
    await this.impersonate(from);
    await this.ensureBalance(from);
    const hash = await rpc<Hex>(this.rpcUrl, "eth_sendTransaction", [{ from, to, data, gas: GAS }]);
    let receipt: { status: Hex } | null = null;
    for (let i = 0; i < 100 && !receipt; i++) {
      receipt = await rpc<{ status: Hex } | null>(this.rpcUrl, "eth_getTransactionReceipt", [hash]);
      if (!receipt) await new Promise((r) => setTimeout(r, 20));
    }
    if (!receipt) throw new Error(`transaction ${hash} (${action.kind}) was not mined`);
    const ok = receipt.status === "0x1";
    this.stats[action.kind].sent += 1;
    if (!ok) this.stats[action.kind].reverted += 1;
    return ok;
  }

  async sendAll(actions: ChaosAction[]) {
    for (const action of actions) await this.send(action);
  }
}
