/**
 * The derived contributor figures of docs/rules.md ("Contributors and datasets"), as pure
 * arithmetic: how a settlement's data-provider OPEN is split among its dataset uses, and which
 * `account` column counts a credit of each role.
 */
import { ROLE } from "./settlement.js";

/**
 * The parts of `dataProviderTotal` (D, the settlement's role-1 payouts) attributed to an invoice's
 * `uses` dataset uses, by position: `floor(D / k)` each, the remainder to position 0. Empty when
 * the invoice lists no dataset (D is then unattributed).
 */
export function attributionParts(dataProviderTotal: bigint, uses: number): bigint[] {
  if (uses <= 0) return [];
  const k = BigInt(uses);
  const part = dataProviderTotal / k;
  const parts = Array.from({ length: uses }, () => part);
  parts[0] = part + (dataProviderTotal - k * part);
  return parts;
}

/** The `account` columns of `earned` by role; role 0 is the treasury's tax. */
export type EarnedByRoleColumn =
  | "earnedAsTreasury"
  | "earnedAsDataProvider"
  | "earnedAsModelOptimizer"
  | "earnedAsRouter"
  | "earnedAsHolder";

const EARNED_BY_ROLE: Record<number, EarnedByRoleColumn> = {
  [ROLE.treasury]: "earnedAsTreasury",
  [ROLE.dataProvider]: "earnedAsDataProvider",
  [ROLE.modelOptimizer]: "earnedAsModelOptimizer",
  [ROLE.router]: "earnedAsRouter",
  [ROLE.holder]: "earnedAsHolder",
};

/** The column that counts a credit of `role`, or null for a role outside 0..4 (an anomaly). */
export function earnedByRoleColumn(role: number): EarnedByRoleColumn | null {
  return EARNED_BY_ROLE[role] ?? null;
}
