/**
 * Unit tests of the indexer's pure modules (src/lib), with numbers worked out by hand: they must
 * agree with the arithmetic of docs/rules.md and the contracts' rules, not with the code under test.
 */
import { describe, expect, it } from "vitest";
import {
  ANOMALY_CODES,
  anomalyRows,
  unknownBundle,
  unknownInvoice,
  unknownModel,
  unknownRequest,
} from "../src/lib/anomaly.js";
import { derivedRowId, invoiceIdOrNull, isZeroAddress, normalizeHex, ZERO_ADDRESS } from "../src/lib/ids.js";
import { activityValues, eventColumns } from "../src/lib/rows.js";
import {
  crossesShareTotal,
  expectedRefund,
  expectedShareCredit,
  expectedTax,
  isShareRole,
  payoutTotalViolations,
  ROLE,
  settlementViolations,
  sharePayoutViolations,
} from "../src/lib/settlement.js";
import {
  type ListedRequest,
  splitSlash,
  stakedViolations,
  takeFromRequest,
  walkPendingRequests,
} from "../src/lib/stake.js";
import { dayOf } from "../src/lib/time.js";

// Ponder checkpoints are 75 digits: timestamp(10) chain(16) block(16) tx index(16) type(1) log index(16).
const EVENT_ID = "176722560000000000000313370000000000000042000000000000000350000000000000007";
const NEXT_EVENT_ID = "176722560000000000000313370000000000000042000000000000000350000000000000008";
const CHECKSUMMED = "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B";
const LOWER = "0xab5801a7d398351b8be11c439e05c5b3259aec9b";
const EVENT = {
  id: EVENT_ID,
  block: { number: 42n, timestamp: 1_767_225_600n },
  log: { logIndex: 7 },
  transaction: { hash: "0xABCDEF0000000000000000000000000000000000000000000000000000000001" as const },
};

describe("time", () => {
  it("keys a timestamp by its UTC day", () => {
    expect(dayOf(0n)).toBe(0);
    expect(dayOf(86_399n)).toBe(0);
    expect(dayOf(86_400n)).toBe(1);
    // 2026-01-01T00:00:00Z is day 20454; one second earlier is still 2025-12-31.
    expect(dayOf(1_767_225_600n)).toBe(20_454);
    expect(dayOf(1_767_225_599n)).toBe(20_453);
  });
});

describe("ids", () => {
  it("spells addresses and bytes32 in lowercase", () => {
    expect(normalizeHex(CHECKSUMMED)).toBe(LOWER);
    expect(normalizeHex(LOWER)).toBe(LOWER);
  });

  it("recognises the zero address in any case, and nothing else", () => {
    expect(isZeroAddress(ZERO_ADDRESS)).toBe(true);
    expect(isZeroAddress("0x0000000000000000000000000000000000000000")).toBe(true);
    expect(isZeroAddress("0x0000000000000000000000000000000000000001")).toBe(false);
    expect(isZeroAddress(LOWER)).toBe(false);
  });

  it("stores invoice id 0 (not tied to an invoice) as null", () => {
    expect(invoiceIdOrNull(0n)).toBeNull();
    expect(invoiceIdOrNull(7n)).toBe(7n);
  });

  it("gives extra rows of one event unique ids that still sort in chain order", () => {
    const ids = [derivedRowId(EVENT_ID, 0), derivedRowId(EVENT_ID, 1), derivedRowId(EVENT_ID, 2)];
    expect(ids).toEqual([EVENT_ID, `${EVENT_ID}:1`, `${EVENT_ID}:2`]);
    const shuffled = [NEXT_EVENT_ID, ids[2], ids[0], ids[1]];
    expect([...shuffled].sort()).toEqual([...ids, NEXT_EVENT_ID]);
    expect(() => derivedRowId(EVENT_ID, -1)).toThrow(RangeError);
  });
});

describe("rows", () => {
  it("takes block number, log index, timestamp and lowercase tx hash from the event", () => {
    expect(eventColumns(EVENT)).toEqual({
      blockNumber: 42n,
      logIndex: 7,
      timestamp: 1_767_225_600n,
      txHash: "0xabcdef0000000000000000000000000000000000000000000000000000000001",
    });
  });

  it("builds an activity row keyed by the event, with absent fields null", () => {
    const row = activityValues(EVENT, {
      type: "InvoiceIssued",
      contract: "InvoiceRegistry",
      invoiceId: 3n,
      account: CHECKSUMMED,
      amount: 1_000n,
    });
    expect(row).toMatchObject({
      id: EVENT_ID,
      type: "InvoiceIssued",
      contract: "InvoiceRegistry",
      invoiceId: 3n,
      bundleId: null,
      account: LOWER,
      counterparty: null,
      amount: 1_000n,
      blockNumber: 42n,
      logIndex: 7,
    });
  });
});

describe("anomaly", () => {
  it("turns an event's problems into rows with distinct, ordered ids", () => {
    const rows = anomalyRows(EVENT, "SettlementEngine:InvoiceSettled", [
      unknownInvoice(9n),
      { code: ANOMALY_CODES.unknownTreasury, message: "no treasury", account: CHECKSUMMED },
    ]);
    expect(rows.map((row) => row.id)).toEqual([EVENT_ID, `${EVENT_ID}:1`]);
    expect(rows[0]).toMatchObject({
      event: "SettlementEngine:InvoiceSettled",
      code: "unknown_invoice",
      invoiceId: 9n,
      account: null,
      txHash: "0xabcdef0000000000000000000000000000000000000000000000000000000001",
    });
    expect(rows[0]?.message).toContain("invoice 9");
    expect(rows[1]).toMatchObject({ code: "unknown_treasury", invoiceId: null, account: LOWER });
  });

  it("writes nothing when there is no problem", () => {
    expect(anomalyRows(EVENT, "StakeManager:Staked", [])).toEqual([]);
  });

  it("names the unknown model, bundle or request, and the invoice or staker that points at it", () => {
    const model = `0x${"ab".repeat(32)}` as const;
    const rows = anomalyRows(EVENT, "InvoiceRegistry:InvoiceIssued", [
      unknownModel(model, 5n),
      unknownModel(model),
      unknownBundle(2n, 5n),
      unknownBundle(2n),
      unknownRequest(4n, LOWER),
    ]);
    expect(rows.map(({ code, invoiceId, account }) => ({ code, invoiceId, account }))).toEqual([
      { code: "unknown_model", invoiceId: 5n, account: null },
      { code: "unknown_model", invoiceId: null, account: null },
      { code: "unknown_bundle", invoiceId: 5n, account: null },
      { code: "unknown_bundle", invoiceId: null, account: null },
      { code: "unknown_request", invoiceId: null, account: LOWER },
    ]);
    expect(rows.map((row) => row.message)).toEqual([
      `model ${model} is not indexed`,
      `model ${model} is not indexed`,
      "bundle 2 of invoice 5 is not indexed",
      "bundle 2 is not indexed",
      "unstake request 4 is not indexed",
    ]);
  });
});

describe("settlement arithmetic", () => {
  // amount 1_000_000 wei, SLO missed with a 25% penalty, tax 5% at issuance, shares 30% and 15%.
  const terms = { amount: 1_000_000n, taxRateBps: 500, penaltyBps: 2_500, sloMet: false };
  const settled = { paid: 750_000n, tax: 37_500n, refund: 250_000n, distributed: 712_500n };

  it("computes refund, tax and share credits rounded down", () => {
    expect(expectedRefund(1_000_000n, 2_500, false)).toBe(250_000n);
    expect(expectedRefund(1_000_000n, 2_500, true)).toBe(0n);
    expect(expectedRefund(999n, 3_333, false)).toBe(332n); // 3_329_667 / 10_000
    expect(expectedTax(750_000n, 500)).toBe(37_500n);
    expect(expectedTax(19n, 500)).toBe(0n); // 0.95 rounds down to nothing
    expect(expectedShareCredit(712_500n, 3_000)).toBe(213_750n);
    expect(expectedShareCredit(712_500n, 1_500)).toBe(106_875n);
    expect(expectedShareCredit(999n, 3_333)).toBe(332n);
  });

  it("accepts a settlement that follows the spec", () => {
    expect(settlementViolations(terms, settled)).toEqual([]);
    const metSlo = { ...terms, sloMet: true };
    expect(settlementViolations(metSlo, { paid: 1_000_000n, tax: 50_000n, refund: 0n, distributed: 950_000n })).toEqual(
      [],
    );
  });

  it("reports paid + refund != amount", () => {
    const violations = settlementViolations(terms, { ...settled, paid: 760_000n, tax: 38_000n, distributed: 722_000n });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain("760000 + refund 250000 != amount 1000000");
  });

  it("reports a tax taken at a rate other than the rate of issuance", () => {
    // 10% (the rate now) instead of the 5% fixed at issuance.
    const violations = settlementViolations(terms, { ...settled, tax: 75_000n, distributed: 675_000n });
    expect(violations).toEqual(["tax 75000 != paid 750000 * 500 / 10000 = 37500"]);
  });

  it("reports tax + distributed != paid, and a refund the SLO did not call for", () => {
    expect(settlementViolations(terms, { ...settled, distributed: 712_499n })).toEqual([
      "tax 37500 + distributed 712499 != paid 750000",
    ]);
    const violations = settlementViolations({ ...terms, sloMet: true }, settled);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain("refund 250000 != 0");
  });

  it("checks each share payout against its contributor, role and part", () => {
    const share = { contributor: CHECKSUMMED, role: ROLE.dataProvider, shareBps: 3_000 };
    expect(sharePayoutViolations(share, { account: LOWER, role: 1, amount: 213_750n }, 712_500n)).toEqual([]);
    expect(sharePayoutViolations(share, { account: LOWER, role: 1, amount: 213_751n }, 712_500n)).toEqual([
      "credited 213751, but 3000 bps of 712500 is 213750",
    ]);
    const wrong = sharePayoutViolations(share, { account: ZERO_ADDRESS, role: 2, amount: 213_750n }, 712_500n);
    expect(wrong).toHaveLength(2);
  });

  it("checks that shares and holder add up to distributed, every share paid once", () => {
    // 213_750 + 106_875 to the shares, the holder gets the rest: 391_875.
    const complete = {
      distributed: 712_500n,
      sharesCredited: 320_625n,
      holderCredited: 391_875n,
      sharePayouts: 2,
      shareCount: 2,
    };
    expect(payoutTotalViolations(complete)).toEqual([]);
    expect(payoutTotalViolations({ ...complete, holderCredited: 391_874n })).toEqual([
      "shares 320625 + holder 391874 = 712499 != distributed 712500",
    ]);
    expect(payoutTotalViolations({ ...complete, sharePayouts: 1 })).toEqual(["1 share payouts for 2 shares"]);
  });

  it("knows the share roles and reports shares over 100% once", () => {
    expect([0, 1, 2, 3, 4].map(isShareRole)).toEqual([false, true, true, true, false]);
    expect(crossesShareTotal(9_000, 1_000)).toBe(false);
    expect(crossesShareTotal(9_000, 1_001)).toBe(true);
    expect(crossesShareTotal(10_001, 5)).toBe(false);
  });
});

describe("stake", () => {
  it("takes a slash from active stake first", () => {
    expect(splitSlash({ amount: 60n, stakeBefore: 100n, remainingStake: 40n })).toEqual({
      fromActive: 60n,
      fromPending: 0n,
      violations: [],
    });
  });

  it("takes the rest from pending once active stake is gone", () => {
    expect(splitSlash({ amount: 130n, stakeBefore: 100n, remainingStake: 0n })).toEqual({
      fromActive: 100n,
      fromPending: 30n,
      violations: [],
    });
    // A slash of a staker with nothing left: Slashed is emitted with amount 0.
    expect(splitSlash({ amount: 0n, stakeBefore: 0n, remainingStake: 0n })).toEqual({
      fromActive: 0n,
      fromPending: 0n,
      violations: [],
    });
  });

  it("reports slashes that cannot come from the indexed stake, and clamps them", () => {
    const above = splitSlash({ amount: 10n, stakeBefore: 50n, remainingStake: 80n });
    expect(above.fromActive).toBe(0n);
    expect(above.fromPending).toBe(10n);
    expect(above.violations).toHaveLength(2); // remaining above before; pending touched with stake left
    const overdrawn = splitSlash({ amount: 10n, stakeBefore: 100n, remainingStake: 50n });
    expect(overdrawn.fromActive).toBe(10n);
    expect(overdrawn.fromPending).toBe(0n);
    expect(overdrawn.violations).toEqual(["active stake fell by 50, more than the slashed 10"]);
  });

  it("takes from one request at most what is left of it, nothing from a withdrawn one", () => {
    expect(takeFromRequest(30n, { amountLeft: 50n, status: "pending" })).toEqual({
      taken: 30n,
      amountLeft: 20n,
      exhausted: false,
    });
    expect(takeFromRequest(80n, { amountLeft: 50n, status: "pending" })).toEqual({
      taken: 50n,
      amountLeft: 0n,
      exhausted: true,
    });
    expect(takeFromRequest(50n, { amountLeft: 50n, status: "pending" })).toEqual({
      taken: 50n,
      amountLeft: 0n,
      exhausted: true,
    });
    expect(takeFromRequest(10n, { amountLeft: 0n, status: "withdrawn" })).toEqual({
      taken: 0n,
      amountLeft: 0n,
      exhausted: true,
    });
  });

  /** A staker's requests 1 → 2 → 5 → 9 (2 already withdrawn), in a Map standing for the table. */
  function requestList(): Map<bigint, ListedRequest> {
    return new Map<bigint, ListedRequest>([
      [1n, { amountLeft: 20n, status: "pending", nextRequestId: 2n }],
      [2n, { amountLeft: 0n, status: "withdrawn", nextRequestId: 5n }],
      [5n, { amountLeft: 50n, status: "pending", nextRequestId: 9n }],
      [9n, { amountLeft: 40n, status: "pending", nextRequestId: null }],
    ]);
  }
  async function walk(list: Map<bigint, ListedRequest>, first: bigint | null, wanted: bigint) {
    const saved: [bigint, bigint][] = [];
    const result = await walkPendingRequests(
      first,
      wanted,
      async (id) => list.get(id) ?? null,
      async (id, amountLeft) => {
        saved.push([id, amountLeft]);
        const request = list.get(id);
        if (request) request.amountLeft = amountLeft;
      },
    );
    return { ...result, saved };
  }

  it("walks a staker's requests oldest first, skipping withdrawn ones, and moves the first-open pointer", async () => {
    // 45 = 20 (all of #1) + 0 (#2 withdrawn) + 25 of #5, which keeps 25 and stays first.
    expect(await walk(requestList(), 1n, 45n)).toEqual({
      taken: 45n,
      firstPendingRequestId: 5n,
      missingRequestId: null,
      saved: [
        [1n, 0n],
        [5n, 25n],
      ],
    });
    // Exactly #1 and #5: both used up, the pointer moves on to #9.
    expect((await walk(requestList(), 1n, 70n)).firstPendingRequestId).toBe(9n);
  });

  it("reports what the requests could not cover, and an empty list once all are used up", async () => {
    const all = await walk(requestList(), 1n, 200n);
    expect(all.taken).toBe(110n);
    expect(all.firstPendingRequestId).toBeNull();
    expect(await walk(requestList(), null, 10n)).toEqual({
      taken: 0n,
      firstPendingRequestId: null,
      missingRequestId: null,
      saved: [],
    });
    const broken = requestList();
    broken.delete(5n);
    expect(await walk(broken, 1n, 45n)).toMatchObject({ taken: 20n, firstPendingRequestId: 5n, missingRequestId: 5n });
  });

  it("checks Staked.totalStake against the previous stake", () => {
    expect(stakedViolations(100n, 50n, 150n)).toEqual([]);
    expect(stakedViolations(100n, 50n, 160n)).toEqual(["indexed stake 100 + staked 50 != totalStake 160"]);
  });
});
