/** Length of the UTC day the daily tables are keyed by (SPEC: `floor(timestamp / 86400)`). */
export const SECONDS_PER_DAY = 86_400;

const SECONDS_PER_DAY_BIGINT = BigInt(SECONDS_PER_DAY);

/**
 * The UTC day number of a block timestamp (unix seconds). The one place the daily tables get their
 * key from, so issuance, settlement and slash figures of one block always land on the same day.
 * Block timestamps are never negative, so truncating division is the floor.
 */
export function dayOf(timestamp: bigint): number {
  return Number(timestamp / SECONDS_PER_DAY_BIGINT);
}
