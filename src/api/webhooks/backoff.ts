/**
 * When a failed webhook delivery is tried again: exponential backoff with full jitter (a random
 * delay between 0 and min(cap, base * 2^(attempt-1))), so that many deliveries failing together
 * against one receiver do not come back in lockstep. Pure: the random source is a parameter.
 */

export type BackoffPolicy = {
  /** Delay ceiling of the first retry, in ms. */
  baseMs: number;
  /** No delay ceiling above this, in ms. */
  capMs: number;
  /** Attempts in all (the first included); after the last failure the delivery is parked as failed. */
  maxAttempts: number;
};

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 60 * 60 * 1000, maxAttempts: 12 };

/** The ceiling of the delay after `attempts` failed attempts (1 for the first failure). */
export function backoffCeiling(policy: BackoffPolicy, attempts: number): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 40);
  return Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
}

/**
 * After `attempts` failed attempts: undefined when the delivery is to be parked, else the delay
 * in ms before the next attempt (full jitter: uniform in [0, ceiling]).
 */
export function nextRetryDelay(policy: BackoffPolicy, attempts: number, random: () => number = Math.random) {
  if (attempts >= policy.maxAttempts) return undefined;
  return Math.floor(random() * (backoffCeiling(policy, attempts) + 1));
}
