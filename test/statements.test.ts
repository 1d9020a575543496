/**
 * GET /statements/:address end to end: a simulator run indexed by a real Ponder (PGlite), each
 * statement checked against the one the simulator's ledger gives (its own credits and claims) and
 * its closing balance against the contract's `claimable` at the last block before `to`.
 */
import path from "node:path";
import { type Address, createPublicClient, http } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SettlementEngineAbi } from "../abis/SettlementEngine.js";
import { type PonderProcess, startPonder } from "../harness/ponder.js";
import type { Hex, Ledger } from "../scripts/simulator/ledger.js";
import { type SimulatedChain, simulatedChain } from "./helpers/indexed-chain.js";

type StatementAnswer = {
  address: string;
  opening: { open: string; wei: string };
  credited: { wei: string };
  claimed: { wei: string };
  closing: { open: string; wei: string };
  lines: {
    kind: "credit" | "claim";
    timestamp: number;
    invoiceId?: string;
    role?: number;
    shareBps?: number | null;
    modelId?: string;
    amount: { wei: string };
  }[];
};

/** The statement by docs/rules.md, from the ledger's credits and claims alone. */
function ledgerStatement(ledger: Ledger, account: Hex, from: number, to: number) {
  const credits = ledger.credits.filter((credit) => credit.account === account);
  const claims = ledger.claims.filter((claim) => claim.account === account);
  const sum = (rows: { amount: string }[]) => rows.reduce((total, row) => total + BigInt(row.amount), 0n);
  const opening = sum(credits.filter((c) => c.timestamp < from)) - sum(claims.filter((c) => c.timestamp < from));
  const periodCredits = credits.filter((c) => c.timestamp >= from && c.timestamp < to);
  const periodClaims = claims.filter((c) => c.timestamp >= from && c.timestamp < to);
  const credited = sum(periodCredits);
  const claimed = sum(periodClaims);
  return { opening, credited, claimed, closing: opening + credited - claimed, periodCredits, periodClaims };
}

describe("statements", () => {
  let chain: SimulatedChain;
  let ponder: PonderProcess;

  beforeAll(async () => {
    chain = await simulatedChain(11, 400);
    ponder = await startPonder({
      DEPLOYMENT_FILE: chain.deploymentFile,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: path.join(chain.workDir, "pglite"),
    });
    await ponder.waitForBlock(chain.head);
  });

  afterAll(async () => {
    await ponder?.stop();
    await chain?.stop();
  });

  const statement = async (account: string, from: number, to: number, extra = "") => {
    const response = await fetch(`${ponder.url}/statements/${account}?from=${from}&to=${to}${extra}`);
    return response;
  };

  /** The account's claimable on the contract at the last block whose timestamp is before `to`. */
  const claimableBefore = async (account: Hex, to: number) => {
    const client = createPublicClient({ transport: http(chain.deployment.rpcUrl) });
    let low = 0n;
    let high = await client.getBlockNumber();
    while (low < high) {
      const middle = (low + high + 1n) / 2n;
      if ((await client.getBlock({ blockNumber: middle })).timestamp < BigInt(to)) low = middle;
      else high = middle - 1n;
    }
    return client.readContract({
      address: chain.deployment.contracts.SettlementEngine,
      abi: SettlementEngineAbi,
      functionName: "claimable",
      args: [account as Address],
      blockNumber: low,
    });
  };

  /** Checks the endpoint's statement against the ledger's, line by line, and against the contract. */
  const checkStatement = async (account: Hex, from: number, to: number) => {
    const expected = ledgerStatement(chain.ledger, account, from, to);
    const response = await statement(account, from, to);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as StatementAnswer;
    expect(answer.opening.wei).toBe(expected.opening.toString());
    expect(answer.credited.wei).toBe(expected.credited.toString());
    expect(answer.claimed.wei).toBe(expected.claimed.toString());
    expect(answer.closing.wei).toBe(expected.closing.toString());
    const credits = answer.lines.filter((line) => line.kind === "credit");
    // A contributor may hold two shares of one role on an invoice: lines are compared as a multiset.
    const key = (line: {
      invoiceId?: string;
      role?: number;
      shareBps?: number | null;
      modelId?: string;
      timestamp: number;
    }) => `${line.invoiceId}:${line.role}:${line.shareBps ?? null}:${line.modelId}:${line.timestamp}`;
    expect(credits.map((line) => `${key(line)}:${line.amount.wei}`).sort()).toEqual(
      expected.periodCredits.map((credit) => `${key(credit)}:${credit.amount}`).sort(),
    );
    expect(answer.lines.filter((line) => line.kind === "claim").map((line) => line.amount.wei)).toEqual(
      expected.periodClaims.map((claim) => claim.amount),
    );
    expect(BigInt(answer.closing.wei)).toBe(await claimableBefore(account, to));
    return answer;
  };

  it("lists a contributor's credits and claims, with claims before, inside and after the period", async () => {
    const ledger = chain.ledger;
    const contributors = new Set(ledger.credits.filter((c) => c.role >= 1 && c.role <= 3).map((c) => c.account));
    const claimsOf = (account: Hex) => ledger.claims.filter((claim) => claim.account === account);
    const contributor = [...contributors].sort((a, b) => claimsOf(b).length - claimsOf(a).length)[0];
    const claims = claimsOf(contributor);
    expect(claims.length).toBeGreaterThanOrEqual(3);
    // From between its first two claims to its last claim: one claim before, one at `to` (after
    // the period, which ends before `to`), the rest inside.
    const from = Math.floor((claims[0].timestamp + claims[1].timestamp) / 2) + 1;
    const to = claims[claims.length - 1].timestamp;
    const answer = await checkStatement(contributor, from, to);
    expect(answer.lines.some((line) => line.kind === "claim")).toBe(true);
    expect(answer.lines.some((line) => line.kind === "credit")).toBe(true);
    // The whole history: opening 0, closing the claimable at the end.
    const end = ledger.meta.endTimestamp as number;
    await checkStatement(contributor, end - 300 * 86_400, end + 1);
  });

  it("serves a contributor's invoices through account relations, filtered by the invoice's status", async () => {
    const ledger = chain.ledger;
    const contributor = ledger.credits.find((credit) => credit.role === 1)?.account as Hex;
    const invoices = Object.values(ledger.invoices).filter((invoice) =>
      invoice.shares.some((share) => share.contributor === contributor),
    );
    const settled = invoices.filter((invoice) => invoice.status === "settled");
    const shares = invoices.flatMap((invoice) => invoice.shares.filter((share) => share.contributor === contributor));
    const answer = await ponder.graphql<{
      account: {
        invoicesAsContributor: number;
        shares: { totalCount: number };
        contributions: { totalCount: number; items: { invoiceId: string; status: string }[] };
      };
    }>(
      `query ($address: String!) { account(chainId: 31337, address: $address) { invoicesAsContributor
        shares { totalCount }
        contributions(where: { status: "settled" }, orderBy: "invoiceId", limit: 1000) { totalCount items { invoiceId status } } } }`,
      { address: contributor },
    );
    expect(answer.errors).toBeUndefined();
    const account = answer.data?.account;
    expect(account?.invoicesAsContributor).toBe(invoices.length);
    expect(account?.shares.totalCount).toBe(shares.length);
    expect(account?.contributions.totalCount).toBe(settled.length);
    expect(account?.contributions.items.map((item) => item.invoiceId)).toEqual(
      settled.map((invoice) => invoice.invoiceId).sort((a, b) => Number(a) - Number(b)),
    );
  });

  it("lists the treasury's tax of each invoice settled in the period as role 0", async () => {
    const treasury = chain.ledger.meta.treasury;
    const taxes = chain.ledger.credits.filter((credit) => credit.account === treasury && credit.role === 0);
    expect(taxes.length).toBeGreaterThan(10);
    const from = taxes[Math.floor(taxes.length / 3)].timestamp;
    const to = taxes[Math.floor((2 * taxes.length) / 3)].timestamp;
    const answer = await checkStatement(treasury, from, to);
    expect(answer.lines.length).toBeGreaterThan(0);
    expect(answer.lines.every((line) => line.kind === "claim" || line.role === 0 || line.role === 4)).toBe(true);
  });

  it("answers CSV with the same lines between the opening and closing rows", async () => {
    const treasury = chain.ledger.meta.treasury;
    const end = chain.ledger.meta.endTimestamp as number;
    const json = (await (await statement(treasury, end - 86_400, end + 1)).json()) as StatementAnswer;
    const response = await statement(treasury, end - 86_400, end + 1, "&format=csv");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/csv/);
    const rows = (await response.text()).trim().split("\n");
    expect(rows[0]).toBe("line,timestamp,invoiceId,role,shareBps,modelId,txHash,amount");
    expect(rows.length).toBe(json.lines.length + 3);
    expect(rows.at(-1)).toBe(`closing,${end + 1},,,,,,${json.closing.open}`);
  });

  it("refuses a bad address, from after to and a period over the limit with a 400 naming the parameter", async () => {
    const treasury = chain.ledger.meta.treasury;
    for (const [response, parameter] of [
      [await statement("0x1234", 0, 10), '"address"'],
      [await statement(treasury, 20, 10), '"from"'],
      [await statement(treasury, 0, 400 * 86_400), '"to"'],
      [await statement(treasury, 0, 10, "&format=pdf"), '"format"'],
    ] as const) {
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toContain(parameter);
    }
  });
});
