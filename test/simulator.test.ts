import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvoiceRegistryAbi } from "../abis/InvoiceRegistry.js";
import { SettlementEngineAbi } from "../abis/SettlementEngine.js";
import { StakeManagerAbi } from "../abis/StakeManager.js";
import { freePort } from "../harness/ports.js";
import { ROOT } from "../scripts/lib/compile.js";
import { type Devnet, startDevnet } from "../scripts/lib/devnet.js";
import { type Ledger, readLedger, runSimulation, type SimulationStats } from "../scripts/simulator/index.js";

const GENESIS = 1_767_225_600;
const SEED = 7;
const INVOICES = 300;

/** Event names straight from the ABIs, not from the simulator's own list. */
const abiEventNames = [StakeManagerAbi, InvoiceRegistryAbi, SettlementEngineAbi].flatMap((abi) =>
  abi.filter((item) => item.type === "event").map((item) => item.name),
);

const devnets: Devnet[] = [];
const workDir = mkdtempSync(path.join(tmpdir(), "openledger-simulator-"));
let ledger: Ledger;
let twin: Ledger;
let stats: SimulationStats;

async function freshRun(ledgerPath?: string) {
  const devnet = await startDevnet({ port: 0, genesisTimestamp: GENESIS });
  devnets.push(devnet);
  return runSimulation({ deployment: devnet.deployment, seed: SEED, invoices: INVOICES, mode: "fast", ledgerPath });
}

beforeAll(async () => {
  const [first, second] = await Promise.all([freshRun(path.join(workDir, "ledger.json")), freshRun()]);
  ({ ledger, stats } = first);
  twin = second.ledger;
});

afterAll(async () => {
  await Promise.all(devnets.map((devnet) => devnet.stop()));
  rmSync(workDir, { recursive: true, force: true });
});

describe("a fast run (seed 7, 300 invoices)", () => {
  it("issues every invoice and emits every event of the three contracts", () => {
    expect(stats.invoices).toBe(INVOICES);
    expect(Object.keys(ledger.invoices)).toHaveLength(INVOICES);
    const missing = abiEventNames.filter((name) => !(ledger.eventCounts[name] > 0));
    expect(missing).toEqual([]);
  });

  it("has every kind of story the indexer must follow", () => {
    const invoices = Object.values(ledger.invoices);
    const statuses = new Set(invoices.map((invoice) => invoice.status));
    expect([...statuses].sort()).toEqual(["issued", "scheduled", "settled", "voided"]);
    const end = ledger.meta.endTimestamp as number;
    expect(invoices.some((i) => i.status === "issued" && i.dueAt > 0 && i.dueAt < end)).toBe(true);
    expect(invoices.some((i) => i.status === "settled" && i.settleAt !== null)).toBe(true);
    expect(invoices.some((i) => i.status === "settled" && i.settleAt === null)).toBe(true);
    expect(invoices.some((i) => i.agentId !== `0x${"0".repeat(64)}`)).toBe(true);
    expect(invoices.some((i) => !i.sloMet && i.status === "settled" && BigInt(i.refund as string) > 0n)).toBe(true);
    expect(new Set(invoices.map((i) => i.taxRateBps)).size).toBeGreaterThan(1);
    expect(invoices.some((i) => i.transferCount > 0 && i.holder !== i.provider)).toBe(true);

    expect(new Set(ledger.slashes.map((slash) => slash.reason))).toEqual(new Set([1, 2, 3, 4, 5]));
    expect(ledger.slashes.some((slash) => slash.amount === "0")).toBe(true);
    const requests = Object.values(ledger.unstakeRequests);
    expect(requests.some((r) => r.status === "withdrawn")).toBe(true);
    const slashedRequests = requests.filter(
      (r) => BigInt(r.status === "withdrawn" ? (r.withdrawn as string) : r.amountLeft) < BigInt(r.amount),
    );
    expect(slashedRequests.length).toBeGreaterThan(0);

    const bundles = Object.values(ledger.bundles);
    expect(bundles.some((bundle) => bundle.dissolved)).toBe(true);
    expect(ledger.eventCounts.BundleTransferred).toBeGreaterThan(0);
    expect(bundles.some((bundle) => BigInt(bundle.earned) > 0n)).toBe(true);
    expect(Object.values(ledger.accounts).some((account) => BigInt(account.claimed) > 0n)).toBe(true);
    expect(BigInt(ledger.accounts[ledger.meta.treasury].earned)).toBeGreaterThan(0n);
    expect(Object.keys(ledger.protocolDaily).length).toBeGreaterThanOrEqual(28);
  });

  it("counts agree with the ledger's own rows", () => {
    const invoices = Object.values(ledger.invoices);
    const count = (name: string) => ledger.eventCounts[name];
    expect(count("InvoiceIssued")).toBe(invoices.length);
    expect(count("InvoiceSettled")).toBe(invoices.filter((i) => i.status === "settled").length);
    expect(count("InvoiceVoided")).toBe(invoices.filter((i) => i.status === "voided").length);
    expect(count("Slashed")).toBe(ledger.slashes.length);
    expect(count("BundleCreated")).toBe(Object.keys(ledger.bundles).length);
    expect(count("UnstakeRequested")).toBe(Object.keys(ledger.unstakeRequests).length);
    expect(count("Staked") + count("UnstakeRequested") + count("Unstaked") + count("Slashed")).toBe(
      ledger.stakeChanges.length,
    );
    const settled = invoices.filter((i) => i.status === "settled");
    expect(count("PayoutCredited")).toBe(settled.reduce((sum, i) => sum + i.shares.length + 1, 0));
    expect(count("DatasetUsed")).toBe(invoices.reduce((sum, i) => sum + i.datasets.length, 0));
    expect(count("ShareAssigned")).toBe(invoices.reduce((sum, i) => sum + i.shares.length, 0));
    const transfers = invoices.reduce((sum, i) => sum + i.transferCount, 0);
    expect(count("Transfer")).toBe(invoices.length + transfers);
    const constructorEvents = 3 + 1 + 1 + 1; // OwnershipTransferred x3, CooldownUpdated, TaxRateUpdated, TreasuryUpdated
    expect(stats.events).toBe(Object.values(ledger.eventCounts).reduce((a, b) => a + b, 0) - constructorEvents);
  });

  it("keeps the ledger's invariants", () => {
    for (const invoice of Object.values(ledger.invoices)) {
      if (invoice.status !== "settled") {
        expect(invoice.paid).toBeNull();
        expect(invoice.holderCredited).toBeNull();
        continue;
      }
      const [amount, paid, refund, tax, distributed] = [
        invoice.amount,
        invoice.paid,
        invoice.refund,
        invoice.tax,
        invoice.distributed,
      ].map((value) => BigInt(value as string));
      expect(paid + refund).toBe(amount);
      expect(tax + distributed).toBe(paid);
      const credited = invoice.shares.reduce((sum, share) => sum + BigInt(share.credited as string), 0n);
      expect(credited + BigInt(invoice.holderCredited as string)).toBe(distributed);
      expect(invoice.settledAt).toBeGreaterThanOrEqual(invoice.issuedAt);
      expect(invoice.shares.reduce((sum, share) => sum + share.shareBps, 0)).toBeLessThanOrEqual(10_000);
    }
    for (const account of Object.values(ledger.accounts)) {
      expect(BigInt(account.claimable)).toBe(BigInt(account.earned) - BigInt(account.claimed));
    }
    const datanetOf = new Map<string, string>();
    for (const invoice of Object.values(ledger.invoices)) {
      for (const use of invoice.datasets) {
        expect(datanetOf.get(use.datasetHash) ?? use.datanetId).toBe(use.datanetId);
        datanetOf.set(use.datasetHash, use.datanetId);
      }
    }
    const earnedByDay = Object.values(ledger.earningsDaily).reduce((sum, row) => sum + BigInt(row.amount), 0n);
    const earned = Object.values(ledger.accounts).reduce((sum, account) => sum + BigInt(account.earned), 0n);
    expect(earnedByDay).toBe(earned);
  });

  it("keeps the contributor figures' identities (docs/rules.md, Contributors and datasets)", () => {
    const sum = (values: (string | null | undefined)[]) => values.reduce((total, v) => total + BigInt(v ?? 0), 0n);
    let attributedTotal = 0n;
    for (const invoice of Object.values(ledger.invoices)) {
      if (invoice.status !== "settled") {
        expect(invoice.datasets.every((use) => use.attributed === null)).toBe(true);
        continue;
      }
      // Every data-provider payout goes to the invoice's datasets: the parts add up to D.
      const dataProvider = sum(invoice.shares.filter((share) => share.role === 1).map((share) => share.credited));
      if (invoice.datasets.length > 0) expect(sum(invoice.datasets.map((use) => use.attributed))).toBe(dataProvider);
      attributedTotal += invoice.datasets.length > 0 ? dataProvider : 0n;
    }
    expect(sum(Object.values(ledger.datasets).map((dataset) => dataset.attributed))).toBe(attributedTotal);
    expect(sum(Object.values(ledger.datanets).map((datanet) => datanet.attributed))).toBe(attributedTotal);
    expect(sum(Object.values(ledger.datasetDaily).map((row) => row.attributed))).toBe(attributedTotal);
    expect(sum(Object.values(ledger.datanetDaily).map((row) => row.attributed))).toBe(attributedTotal);
    expect(attributedTotal).toBeGreaterThan(0n);
    for (const [address, account] of Object.entries(ledger.accounts)) {
      const byRole = sum([
        account.earnedAsTreasury,
        account.earnedAsDataProvider,
        account.earnedAsModelOptimizer,
        account.earnedAsRouter,
        account.earnedAsHolder,
      ]);
      expect(byRole).toBe(BigInt(account.earned));
      expect(sum(ledger.credits.filter((c) => c.account === address).map((c) => c.amount))).toBe(
        BigInt(account.earned),
      );
      expect(sum(ledger.claims.filter((c) => c.account === address).map((c) => c.amount))).toBe(
        BigInt(account.claimed),
      );
    }
  });

  it("is deterministic: the same seed on a fresh chain gives the same ledger", () => {
    expect(twin).toEqual(ledger);
  });

  it("writes the ledger it returns", () => {
    expect(readLedger(path.join(workDir, "ledger.json"))).toEqual(ledger);
  });
});

describe("a real-time run", () => {
  it("follows the rate, stops on its signal and still verifies what it did", async () => {
    const devnet = await startDevnet({ port: 0 });
    devnets.push(devnet);
    const abort = new AbortController();
    const { ledger: partial, stats: partialStats } = await runSimulation({
      deployment: devnet.deployment,
      seed: 3,
      invoices: 200,
      mode: { rate: 20 },
      signal: abort.signal,
      onProgress: ({ round }) => {
        if (round === 3) abort.abort();
      },
    });
    expect(partialStats.aborted).toBe(true);
    expect(partial.meta.complete).toBe(false);
    expect(partialStats.invoices).toBe(Object.keys(partial.invoices).length);
    expect(partialStats.invoices).toBeGreaterThanOrEqual(40);
    expect(partialStats.invoices).toBeLessThan(200);
  });
});

describe("the simulate command", () => {
  const run = (...args: string[]) =>
    spawnSync(path.join(ROOT, "node_modules/.bin/tsx"), ["scripts/simulate.ts", ...args], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 30_000,
    });

  const expectOneLine = (result: ReturnType<typeof run>, pattern: RegExp) => {
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  };

  it("refuses an unknown flag with one line and status 2", () => {
    expectOneLine(run("--bogus"), /^simulate: .*--bogus.*--help/);
  });

  it("refuses a missing deployment file with one line and status 2", () => {
    expectOneLine(run("--deployment", path.join(workDir, "nope.json")), /^simulate: .*not found.*npm run devnet/);
  });

  it("refuses a chain that is down with one line and status 2", async () => {
    const file = path.join(workDir, "down.json");
    const deployment = { ...devnets[0].deployment, rpcUrl: `http://127.0.0.1:${await freePort()}` };
    writeFileSync(file, JSON.stringify(deployment));
    expectOneLine(run("--deployment", file, "--no-ledger"), /^simulate: cannot reach the chain .*npm run devnet/);
  });
});
