import { decodeFunctionResult, toFunctionSelector } from "viem";
import { InvoiceRegistryAbi } from "../../abis/InvoiceRegistry.js";
import { SimulatorMismatchError } from "./errors.js";
import type { Hex } from "./ledger.js";
import type { ProtocolMirror } from "./mirror.js";
import type { JsonRpc } from "./rpc.js";
import type { Contracts } from "./traffic.js";

const selectors = {
  stakeOf: toFunctionSelector("stakeOf(address)"),
  pendingUnstake: toFunctionSelector("pendingUnstake(address)"),
  unstakeRequests: toFunctionSelector("unstakeRequests(uint256)"),
  lastRequestId: toFunctionSelector("lastRequestId()"),
  cooldown: toFunctionSelector("cooldown()"),
  claimable: toFunctionSelector("claimable(address)"),
  taxRateBps: toFunctionSelector("taxRateBps()"),
  treasury: toFunctionSelector("treasury()"),
  ownerOf: toFunctionSelector("ownerOf(uint256)"),
  invoices: toFunctionSelector("invoices(uint256)"),
  bundleOf: toFunctionSelector("bundleOf(uint256)"),
  lastInvoiceId: toFunctionSelector("lastInvoiceId()"),
  lastBundleId: toFunctionSelector("lastBundleId()"),
  minProviderStake: toFunctionSelector("minProviderStake()"),
  owner: toFunctionSelector("owner()"),
} as const;

type View = keyof typeof selectors;

const argument = (value: Hex | bigint) =>
  typeof value === "bigint" ? value.toString(16).padStart(64, "0") : value.slice(2).padStart(64, "0");

/** The 32-byte words of an ABI-encoded answer. */
const words = (answer: string): string[] => {
  const result: string[] = [];
  for (let i = 2; i < answer.length; i += 64) result.push(answer.slice(i, i + 64));
  return result;
};
const uint = (word: string) => BigInt(`0x${word}`);
const address = (word: string): Hex => `0x${word.slice(24)}`;

/** Contract views in batched eth_calls, decoded into 32-byte words. */
export class ContractViews {
  constructor(
    private readonly rpc: JsonRpc,
    private readonly contracts: Contracts,
  ) {}

  private target(view: View): Hex {
    const { stakeManager, registry, engine } = this.contracts;
    if (["stakeOf", "pendingUnstake", "unstakeRequests", "lastRequestId", "cooldown"].includes(view))
      return stakeManager;
    if (["claimable", "taxRateBps", "treasury"].includes(view)) return engine;
    return registry;
  }

  async read(requests: readonly [View, (Hex | bigint)?][]): Promise<string[]> {
    return this.rpc.batch<string>(
      requests.map(([view, arg]) => [
        "eth_call",
        [{ to: this.target(view), data: `${selectors[view]}${arg === undefined ? "" : argument(arg)}` }, "latest"],
      ]),
    );
  }

  /** The protocol parameters and counters a run starts from. */
  async parameters() {
    const [taxRateBps, treasury, cooldown, minProviderStake, owner, lastInvoiceId, lastBundleId, lastRequestId] =
      await this.read([
        ["taxRateBps"],
        ["treasury"],
        ["cooldown"],
        ["minProviderStake"],
        ["owner"],
        ["lastInvoiceId"],
        ["lastBundleId"],
        ["lastRequestId"],
      ]);
    return {
      taxRateBps: Number(uint(words(taxRateBps)[0])),
      treasury: address(words(treasury)[0]),
      cooldownSeconds: Number(uint(words(cooldown)[0])),
      minProviderStake: uint(words(minProviderStake)[0]),
      owner: address(words(owner)[0]),
      lastInvoiceId: uint(words(lastInvoiceId)[0]),
      lastBundleId: uint(words(lastBundleId)[0]),
      lastRequestId: uint(words(lastRequestId)[0]),
    };
  }
}

const STATUS_CODES = { issued: 1n, scheduled: 2n, settled: 3n, voided: 4n } as const;

/**
 * Compares the mirror with the contracts' own views, for every account (stakeOf, pendingUnstake,
 * claimable), invoice (ownerOf and the stored terms, status and bundle), unstake request and
 * bundle, and the global counters. Throws a SimulatorMismatchError listing the first differences.
 */
export async function verifyMirror(views: ContractViews, mirror: ProtocolMirror): Promise<{ checks: number }> {
  const problems: string[] = [];
  const expect = (what: string, actual: unknown, expected: unknown) => {
    if (actual !== expected && problems.length < 20) problems.push(`${what}: chain ${actual}, mirror ${expected}`);
  };
  let checks = 0;

  const parameters = await views.parameters();
  expect("taxRateBps", parameters.taxRateBps, mirror.taxRateBps);
  expect("treasury", parameters.treasury, mirror.treasury);
  expect("cooldown", parameters.cooldownSeconds, mirror.cooldownSeconds);
  expect("lastInvoiceId", parameters.lastInvoiceId, mirror.lastInvoiceId);
  expect("lastBundleId", parameters.lastBundleId, mirror.lastBundleId);
  expect("lastRequestId", parameters.lastRequestId, mirror.lastRequestId);
  checks += 6;

  const accounts = [...mirror.accounts.entries()];
  const accountAnswers = await views.read(
    accounts.flatMap(([account]) => [
      ["stakeOf", account],
      ["pendingUnstake", account],
      ["claimable", account],
    ]) as [View, Hex][],
  );
  accounts.forEach(([account, state], index) => {
    const [stake, pending, claimable] = accountAnswers
      .slice(index * 3, index * 3 + 3)
      .map((answer) => uint(answer.slice(2)));
    expect(`stakeOf(${account})`, stake, state.stake);
    expect(`pendingUnstake(${account})`, pending, state.pendingUnstake);
    expect(`claimable(${account})`, claimable, state.claimable);
    expect(`claimable(${account}) = earned - claimed`, claimable, state.earned - state.claimed);
  });
  checks += accounts.length * 3;

  const invoices = [...mirror.invoices.values()];
  const chunk = 5_000;
  for (let start = 0; start < invoices.length; start += chunk) {
    const slice = invoices.slice(start, start + chunk);
    const answers = await views.read(
      slice.flatMap((invoice) => [
        ["ownerOf", invoice.id],
        ["invoices", invoice.id],
      ]) as [View, bigint][],
    );
    slice.forEach((invoice, index) => {
      const owner = address(words(answers[index * 2])[0]);
      const [caller, provider, amount, taxRate, penalty, sloMet, status, bundleId] = words(answers[index * 2 + 1]);
      const id = invoice.id;
      expect(`ownerOf(${id})`, owner, invoice.owner);
      expect(`invoice ${id} caller`, address(caller), invoice.caller);
      expect(`invoice ${id} provider`, address(provider), invoice.provider);
      expect(`invoice ${id} amount`, uint(amount), invoice.amount);
      expect(`invoice ${id} taxRateBps`, Number(uint(taxRate)), invoice.taxRateBps);
      expect(`invoice ${id} penaltyBps`, Number(uint(penalty)), invoice.penaltyBps);
      expect(`invoice ${id} sloMet`, uint(sloMet) === 1n, invoice.sloMet);
      expect(`invoice ${id} status`, uint(status), STATUS_CODES[invoice.status]);
      expect(`invoice ${id} bundleId`, uint(bundleId), invoice.bundleId);
    });
    checks += slice.length * 2;
  }

  const requests = [...mirror.requests.values()];
  const requestAnswers = await views.read(requests.map((request) => ["unstakeRequests", request.id]));
  requests.forEach((request, index) => {
    const [staker, amountLeft, unlockAt, open] = words(requestAnswers[index]);
    expect(`request ${request.id} staker`, address(staker), request.staker);
    expect(`request ${request.id} amountLeft`, uint(amountLeft), request.amountLeft);
    expect(`request ${request.id} unlockAt`, Number(uint(unlockAt)), request.unlockAt);
    expect(`request ${request.id} open`, uint(open) === 1n, request.open);
  });
  checks += requests.length;

  const bundles = [...mirror.bundles.values()];
  const bundleAnswers = await views.read(bundles.map((bundle) => ["bundleOf", bundle.id]));
  bundles.forEach((bundle, index) => {
    const [owner, active, members] = decodeFunctionResult({
      abi: InvoiceRegistryAbi,
      functionName: "bundleOf",
      data: bundleAnswers[index] as Hex,
    });
    expect(`bundle ${bundle.id} owner`, owner.toLowerCase(), bundle.owner);
    expect(`bundle ${bundle.id} active`, active, bundle.active);
    expect(`bundle ${bundle.id} members`, members.join(","), bundle.members.join(","));
  });
  checks += bundles.length;

  if (problems.length > 0) {
    throw new SimulatorMismatchError(`the mirror disagrees with the contracts' views:\n  ${problems.join("\n  ")}`);
  }
  return { checks };
}
