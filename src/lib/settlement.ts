/**
 * The settlement arithmetic of docs/rules.md ("Settlement arithmetic"), restated to check what the SettlementEngine emits against the
 * invoice the indexer built from the registry's events. Each check returns the violations it found
 * (empty when the event is what the contracts promise), so a handler can record them and still
 * apply the event: the chain is the truth, the checks only say when it disagrees with the spec.
 */

/** Basis points in a whole: rates and shares are fractions of this. */
export const BPS = 10_000n;

/** Contributor roles of `PayoutCredited` and `earningsDaily` (0 is the treasury's tax, not a payout). */
export const ROLE = {
  treasury: 0,
  dataProvider: 1,
  modelOptimizer: 2,
  router: 3,
  holder: 4,
} as const;

/** True for the roles a share may carry (1..3); the holder is never a share. */
export function isShareRole(role: number): boolean {
  return role === ROLE.dataProvider || role === ROLE.modelOptimizer || role === ROLE.router;
}

/** The SLO refund: `sloMet ? 0 : amount * penaltyBps / 10_000`, rounded down. */
export function expectedRefund(amount: bigint, penaltyBps: number, sloMet: boolean): bigint {
  return sloMet ? 0n : (amount * BigInt(penaltyBps)) / BPS;
}

/** The protocol tax on what was paid, at the invoice's rate of issuance, rounded down. */
export function expectedTax(paid: bigint, taxRateBps: number): bigint {
  return (paid * BigInt(taxRateBps)) / BPS;
}

/** One share's credit: `distributed * shareBps / 10_000`, rounded down (the holder gets the dust). */
export function expectedShareCredit(distributed: bigint, shareBps: number): bigint {
  return (distributed * BigInt(shareBps)) / BPS;
}

/** What the indexer knows of an invoice when it settles: its terms at issuance and the SLO result. */
export type InvoiceTerms = { amount: bigint; taxRateBps: number; penaltyBps: number; sloMet: boolean };

/** The figures of an `InvoiceSettled` event. */
export type SettledFigures = { paid: bigint; tax: bigint; refund: bigint; distributed: bigint };

/**
 * Checks an InvoiceSettled against the invoice: paid + refund = amount, the refund and the tax as
 * the spec computes them (tax at the rate of issuance), and tax + distributed = paid.
 */
export function settlementViolations(terms: InvoiceTerms, settled: SettledFigures): string[] {
  const violations: string[] = [];
  if (settled.paid + settled.refund !== terms.amount) {
    violations.push(`paid ${settled.paid} + refund ${settled.refund} != amount ${terms.amount}`);
  }
  const refund = expectedRefund(terms.amount, terms.penaltyBps, terms.sloMet);
  if (settled.refund !== refund) {
    violations.push(
      `refund ${settled.refund} != ${refund} (sloMet ${terms.sloMet}, penalty ${terms.penaltyBps} bps of ${terms.amount})`,
    );
  }
  const tax = expectedTax(settled.paid, terms.taxRateBps);
  if (settled.tax !== tax) {
    violations.push(`tax ${settled.tax} != paid ${settled.paid} * ${terms.taxRateBps} / 10000 = ${tax}`);
  }
  if (settled.tax + settled.distributed !== settled.paid) {
    violations.push(`tax ${settled.tax} + distributed ${settled.distributed} != paid ${settled.paid}`);
  }
  return violations;
}

/** A share as assigned at issuance. */
export type ShareTerms = { contributor: string; role: number; shareBps: number };

/** A `PayoutCredited` event. */
export type Payout = { account: string; role: number; amount: bigint };

/** Checks a share's payout: the share's contributor and role, and its rounded-down part of `distributed`. */
export function sharePayoutViolations(share: ShareTerms, payout: Payout, distributed: bigint): string[] {
  const violations: string[] = [];
  if (share.contributor.toLowerCase() !== payout.account.toLowerCase()) {
    violations.push(`paid ${payout.account}, but the share belongs to ${share.contributor}`);
  }
  if (share.role !== payout.role) violations.push(`paid as role ${payout.role}, but the share has role ${share.role}`);
  const credit = expectedShareCredit(distributed, share.shareBps);
  if (payout.amount !== credit) {
    violations.push(`credited ${payout.amount}, but ${share.shareBps} bps of ${distributed} is ${credit}`);
  }
  return violations;
}

/** What one settlement's payouts came to, checked when its last (holder) payout arrives. */
export type PayoutTotals = {
  distributed: bigint;
  /** Sum of the share payouts (roles 1..3) of this settlement. */
  sharesCredited: bigint;
  holderCredited: bigint;
  /** Share payouts seen, and shares the invoice has. */
  sharePayouts: number;
  shareCount: number;
};

/** Checks that every share was paid once and that the shares and the holder add up to `distributed`. */
export function payoutTotalViolations(totals: PayoutTotals): string[] {
  const violations: string[] = [];
  if (totals.sharePayouts !== totals.shareCount) {
    violations.push(`${totals.sharePayouts} share payouts for ${totals.shareCount} shares`);
  }
  const sum = totals.sharesCredited + totals.holderCredited;
  if (sum !== totals.distributed) {
    violations.push(
      `shares ${totals.sharesCredited} + holder ${totals.holderCredited} = ${sum} != distributed ${totals.distributed}`,
    );
  }
  return violations;
}

/**
 * True when adding a share takes an invoice's shares over 10_000 bps for the first time (the
 * registry refuses that, so it is reported once per invoice rather than once per later share).
 */
export function crossesShareTotal(previousBps: number, addedBps: number): boolean {
  return previousBps <= Number(BPS) && previousBps + addedBps > Number(BPS);
}
