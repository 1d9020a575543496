/**
 * Two chains, one indexer (README, "Several chains"): two anvil instances with different chain ids,
 * the simulator on each with its own seed, and one Ponder on PostgreSQL over a multi-chain
 * deployment file. Both chains start from the same dev accounts and hand out the same invoice,
 * bundle and request ids, so every key collides unless it includes the chain. Each chain's rows
 * are compared with that chain's ledger and contracts; the totals across chains with the sum of the
 * two ledgers. The first chain's first RPC URL is a closed port: Ponder indexes it through the
 * second, and the failover is one log line.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient, sql, sum } from "@ponder/client";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PonderProcess, startPonder } from "../../harness/ponder.js";
import { freePort } from "../../harness/ports.js";
import { type PostgresCluster, postgresUnavailableReason, startPostgres } from "../../harness/postgres.js";
import { waitFor } from "../../harness/wait.js";
import * as schema from "../../ponder.schema.js";
import type { Ledger } from "../../scripts/simulator/ledger.js";
import { SseClient } from "../helpers/bots.js";
import { checkInvariants, compareWithContracts, compareWithLedger, readTables } from "../helpers/compare.js";
import { type SimulatedChain, simulatedChain } from "../helpers/indexed-chain.js";

const INVOICES = 300;
const HOME = { name: "home", chainId: 31337, seed: 101 };
const L2 = { name: "l2", chainId: 31338, seed: 202 };

const skip = postgresUnavailableReason();
if (skip) console.log(skip);

/** Waits until /status shows every chain at (or past) its head. */
async function waitForChains(ponder: PonderProcess, heads: Record<string, number>, timeoutMs = 600_000) {
  await ponder.waitReady(timeoutMs);
  await waitFor(
    async () => {
      const status = (await (await fetch(`${ponder.url}/status`)).json()) as Record<
        string,
        { block: { number: number } }
      >;
      return Object.entries(heads).every(([name, head]) => (status[name]?.block.number ?? -1) >= head);
    },
    timeoutMs,
    `every chain at its head (${JSON.stringify(heads)})`,
    { failIf: () => (ponder.exited() ? `ponder exited:\n${ponder.logs().slice(-5000)}` : undefined) },
  );
}

/** The ledgers' protocolDaily figures added up per day: the expected totals across chains. */
function ledgerTotals(ledgers: Ledger[]) {
  const totals = new Map<number, Record<string, bigint>>();
  for (const ledger of ledgers) {
    for (const row of Object.values(ledger.protocolDaily)) {
      const total = totals.get(row.day) ?? {};
      for (const figure of ["invoices", "gross", "settled", "paid", "tax", "refunds", "slashed"] as const) {
        total[figure] = (total[figure] ?? 0n) + BigInt(String(row[figure]));
      }
      totals.set(row.day, total);
    }
  }
  return totals;
}

describe.skipIf(skip !== undefined)("two chains indexed by one Ponder on PostgreSQL", () => {
  let home: SimulatedChain;
  let l2: SimulatedChain;
  let postgres: PostgresCluster;
  let ponder: PonderProcess;
  let deadUrl: string;

  beforeAll(async () => {
    // One after the other: the simulator is CPU-bound and the machine has two cores.
    home = await simulatedChain(HOME.seed, INVOICES, { chainId: HOME.chainId });
    l2 = await simulatedChain(L2.seed, INVOICES, { chainId: L2.chainId });
    postgres = await startPostgres();
    deadUrl = `http://127.0.0.1:${await freePort()}`;
    const deploymentFile = path.join(home.workDir, "chains.json");
    writeFileSync(
      deploymentFile,
      JSON.stringify({
        chains: [
          { ...home.deployment, name: HOME.name, rpcUrls: [deadUrl, home.deployment.rpcUrl] },
          { ...l2.deployment, name: L2.name, rpcUrls: [l2.deployment.rpcUrl], requestsPerSecond: 500 },
        ].map(({ rpcUrl: _single, owner: _owner, treasury: _treasury, ...chain }) => chain),
      }),
    );
    const started = Date.now();
    ponder = await startPonder({ DEPLOYMENT_FILE: deploymentFile, DATABASE_URL: postgres.url });
    await waitForChains(ponder, { [HOME.name]: home.head, [L2.name]: l2.head });
    const events = [home, l2].reduce(
      (all, chain) => all + Object.values(chain.ledger.eventCounts).reduce((sum, n) => sum + n, 0),
      0,
    );
    console.log(
      `[multichain] ordering ${process.env.ORDERING || "multichain"}: indexed ${events} events of two chains (${INVOICES} invoices each) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  afterAll(async () => {
    await ponder?.stop();
    await postgres?.stop();
    await home?.stop();
    await l2?.stop();
  });

  for (const [label, chain] of [
    [HOME, () => home],
    [L2, () => l2],
  ] as const) {
    it(`matches ${label.name}'s ledger and contracts row by row, with chainId ${label.chainId} on every row`, async () => {
      const all = await readTables(ponder.url);
      const tables = await readTables(ponder.url, label.chainId);
      expect(tables.invoice.length).toBe(INVOICES);
      expect(compareWithLedger(tables, chain().ledger)).toEqual([]);
      expect(checkInvariants(tables)).toEqual([]);
      expect(await compareWithContracts(tables, chain().deployment)).toEqual([]);
      // Every row of every table belongs to one of the two chains.
      for (const [name, rows] of Object.entries(all)) {
        const strays = rows.filter((row) => row.chainId !== HOME.chainId && row.chainId !== L2.chainId);
        expect(strays, name).toEqual([]);
      }
    });
  }

  it("keeps colliding ids apart: invoice 1 and the same accounts exist once per chain", async () => {
    const all = await readTables(ponder.url);
    expect(
      all.invoice
        .filter((row) => row.invoiceId === 1n)
        .map((row) => row.chainId)
        .sort(),
    ).toEqual([HOME.chainId, L2.chainId]);
    // The two chains share the dev accounts (the treasury at least): such an address has a row on
    // each chain, each equal to that chain's ledger (above), and never two rows on one chain.
    const keys = all.account.map((row) => `${row.chainId}:${row.address}`);
    expect(new Set(keys).size).toBe(keys.length);
    const homeAddresses = new Set(all.account.filter((row) => row.chainId === HOME.chainId).map((row) => row.address));
    const shared = all.account.filter((row) => row.chainId === L2.chainId && homeAddresses.has(row.address));
    expect(shared.length).toBeGreaterThan(0);
  });

  it("answers GraphQL lookups by (chainId, id), with nested relations on the same chain", async () => {
    const answer = await ponder.graphql<{
      invoice: {
        chainId: number;
        caller: string;
        model: { chainId: number; modelId: string };
        callerAccount: { chainId: number; address: string };
        shares: { items: { chainId: number }[] };
        activity: { items: { chainId: number }[] };
      };
      l2Invoices: { totalCount: number };
      everyInvoice: { totalCount: number };
      states: { items: { chainId: number; treasury: string }[] };
    }>(
      `query ($chainId: Float!, $chain: Int!) {
        invoice(chainId: $chainId, invoiceId: "1") {
          chainId caller
          model { chainId modelId }
          callerAccount { chainId address }
          shares { items { chainId } }
          activity { items { chainId } }
        }
        l2Invoices: invoices(where: { chainId: $chain }) { totalCount }
        everyInvoice: invoices { totalCount }
        states: protocolStates { items { chainId treasury } }
      }`,
      { chainId: L2.chainId, chain: L2.chainId },
    );
    expect(answer.errors).toBeUndefined();
    const invoice = answer.data!.invoice;
    const expected = l2.ledger.invoices["1"]!;
    expect(invoice.caller).toBe(expected.caller.toLowerCase());
    expect(invoice.model).toEqual({ chainId: L2.chainId, modelId: expected.modelId.toLowerCase() });
    expect(invoice.callerAccount).toEqual({ chainId: L2.chainId, address: expected.caller.toLowerCase() });
    expect(invoice.shares.items.length).toBe(expected.shares.length);
    expect(new Set([...invoice.shares.items, ...invoice.activity.items].map((row) => row.chainId))).toEqual(
      new Set([L2.chainId]),
    );
    expect(answer.data!.l2Invoices.totalCount).toBe(INVOICES);
    expect(answer.data!.everyInvoice.totalCount).toBe(2 * INVOICES);
    // One protocol state (treasury, tax rate, cooldown) per chain.
    expect(answer.data!.states.items.map((row) => row.chainId).sort()).toEqual([HOME.chainId, L2.chainId]);
  });

  it("adds the chains up per day: /aggregates/protocol-daily and SQL's GROUP BY day equal the two ledgers' sum", async () => {
    const expected = ledgerTotals([home.ledger, l2.ledger]);
    const days = [...expected.keys()].sort((a, b) => a - b);
    const [from, to] = [days[0]!, days[days.length - 1]!];

    const response = await fetch(`${ponder.url}/aggregates/protocol-daily?from=${from}&to=${to}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      perChain: { chainId: number; day: number; gross: string }[];
      totals: ({ day: number; chains: number[] } & Record<string, string>)[];
    };
    expect(body.totals.map((row) => row.day)).toEqual(days);
    for (const total of body.totals) {
      const want = expected.get(total.day)!;
      for (const [figure, value] of Object.entries(want))
        expect(`${total.day}.${figure}=${total[figure]}`).toBe(`${total.day}.${figure}=${value}`);
    }
    const perChainCount = Object.keys(home.ledger.protocolDaily).length + Object.keys(l2.ledger.protocolDaily).length;
    expect(body.perChain.length).toBe(perChainCount);

    const onlyL2 = (await (
      await fetch(`${ponder.url}/aggregates/protocol-daily?from=${from}&to=${to}&chainId=${L2.chainId}`)
    ).json()) as typeof body;
    expect(new Set(onlyL2.perChain.map((row) => row.chainId))).toEqual(new Set([L2.chainId]));
    expect(onlyL2.totals.length).toBe(Object.keys(l2.ledger.protocolDaily).length);

    for (const bad of ["from=abc", "from=5&to=4", "chain=1", "chainId=0", "from=1&from=2"]) {
      const refused = await fetch(`${ponder.url}/aggregates/protocol-daily?${bad}`);
      expect(refused.status, bad).toBe(400);
      expect(((await refused.json()) as { error: string }).error, bad).toMatch(/from|to|chain|parameter/);
    }

    // The SQL way (README): GROUP BY day over /sql with @ponder/client.
    const client = createClient(`${ponder.url}/sql`, { schema });
    const { protocolDaily } = schema;
    const rows = await client.db
      .select({ day: protocolDaily.day, gross: sum(protocolDaily.gross), chains: sql<number>`count(*)::int` })
      .from(protocolDaily)
      .groupBy(protocolDaily.day)
      .orderBy(protocolDaily.day);
    expect(rows.map((row) => `${row.day}:${row.gross}`)).toEqual(
      days.map((day) => `${day}:${expected.get(day)!.gross}`),
    );
  });

  it("streams every slash of both chains, each with its chainId, in checkpoint order", async () => {
    const expected = [
      ...home.ledger.slashes.map((slash) => `${HOME.chainId}:${slash.txHash.toLowerCase()}:${slash.logIndex}`),
      ...l2.ledger.slashes.map((slash) => `${L2.chainId}:${slash.txHash.toLowerCase()}:${slash.logIndex}`),
    ].sort();
    expect(home.ledger.slashes.length).toBeGreaterThan(0);
    expect(l2.ledger.slashes.length).toBeGreaterThan(0);
    const client = await new SseClient(`${ponder.url}/streams/slashes?after=0`).open();
    try {
      await client.waitLive();
      await waitFor(() => client.payloads("slash").length >= expected.length, 30_000, "every slash");
      const payloads = client.payloads("slash");
      expect(payloads.map((payload) => String(payload.id)).sort()).toEqual(expected);
      for (const payload of payloads) expect(String(payload.id).startsWith(`${payload.chainId}:`)).toBe(true);
      const cursors = payloads.map((payload) => String(payload.cursor));
      expect(cursors).toEqual([...cursors].sort());
    } finally {
      await client.close();
    }
  });

  const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  it.runIf(existsSync(CHROMIUM))("shows one chain at a time in the dashboard: ?chain= picks it", async () => {
    const profile = mkdtempSync(path.join(tmpdir(), "openledger-chromium-"));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const show = async (query: string, hash: string) => {
        await page.goto(`${ponder.url}/dashboard/${query}${hash}`);
        const main = page.locator('main[data-state="ready"]');
        await main.waitFor({ timeout: 20_000 });
        return (await main.textContent()) ?? "";
      };
      // Invoice 1 exists on both chains, with different callers.
      // The page abbreviates addresses as 0x1234ab…cdef01.
      const short = (address: string) => `${address.slice(0, 8).toLowerCase()}…${address.slice(-6).toLowerCase()}`;
      const homeCaller = short(home.ledger.invoices["1"]!.caller);
      const l2Caller = short(l2.ledger.invoices["1"]!.caller);
      expect(homeCaller).not.toBe(l2Caller);
      const onL2 = await show(`?chain=${L2.chainId}`, "#/invoice/1");
      expect(onL2).toContain(l2Caller);
      expect(onL2).not.toContain(homeCaller);
      // Without ?chain=, the first chain.
      const byDefault = await show("", "#/invoice/1");
      expect(byDefault).toContain(homeCaller);
      expect(await show("?chain=999", "#/overview")).toMatch(
        /Chain “999” is not indexed here: the chains are 31337, 31338/,
      );
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it("logs the failover of the first chain's dead URL once, in one line", () => {
    const lines = ponder
      .logs()
      .split("\n")
      .filter((line) => line.startsWith("rpc[home]:"));
    expect(lines[0]).toBe(`rpc[home]: ${deadUrl} failed (fetch failed); failing over to ${home.deployment.rpcUrl}`);
    expect(ponder.logs()).not.toMatch(/rpc\[l2\]/);
  });
});
