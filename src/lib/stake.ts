/**
 * Stake bookkeeping that the StakeManager's events leave implicit. `Slashed` says how much was taken
 * and the active stake left, not where it came from: the contract takes active stake first, then
 * the staker's pending unstake requests oldest first. These functions rebuild that split so the
 * indexer's `unstakeRequest.amountLeft` and `account.pendingUnstake` follow the contract's.
 */

/** Where a slash took its amount from. */
export type SlashSplit = {
  fromActive: bigint;
  fromPending: bigint;
  /** Why the event does not fit the indexed stake (empty when it does). */
  violations: string[];
};

/**
 * Splits a slash between active and pending stake: `fromActive = stakeBefore - remainingStake`,
 * the rest from pending. Figures that cannot come from the contract (the remaining stake above the
 * stake before, more taken from active than the slash, pending touched while active stake is left)
 * are reported and clamped, so the caller can still apply the event.
 */
export function splitSlash(input: { amount: bigint; stakeBefore: bigint; remainingStake: bigint }): SlashSplit {
  const { amount, stakeBefore, remainingStake } = input;
  const violations: string[] = [];
  let fromActive = stakeBefore - remainingStake;
  if (fromActive < 0n) {
    violations.push(`remaining stake ${remainingStake} is above the indexed stake ${stakeBefore}`);
    fromActive = 0n;
  }
  if (fromActive > amount) {
    violations.push(`active stake fell by ${fromActive}, more than the slashed ${amount}`);
    fromActive = amount;
  }
  const fromPending = amount - fromActive;
  if (fromPending > 0n && remainingStake > 0n) {
    violations.push(`${fromPending} taken from pending requests while ${remainingStake} active stake is left`);
  }
  return { fromActive, fromPending, violations };
}

/** What one step of the slash walk did to one unstake request. */
export type RequestTake = {
  /** Taken from this request. */
  taken: bigint;
  /** What is left of the request after it. */
  amountLeft: bigint;
  /** True when the request is used up, so the walk moves on to the staker's next request. */
  exhausted: boolean;
};

/**
 * One step of StakeManager._slashPending: takes what is still `wanted` from one request, at most
 * what is left of it; a withdrawn request has nothing left. The walk visits a staker's requests
 * oldest first and stops at the first request it does not use up (or when nothing more is wanted).
 */
export function takeFromRequest(
  wanted: bigint,
  request: { amountLeft: bigint; status: "pending" | "withdrawn" },
): RequestTake {
  const left = request.status === "pending" && request.amountLeft > 0n ? request.amountLeft : 0n;
  const taken = wanted < left ? (wanted > 0n ? wanted : 0n) : left;
  const amountLeft = left - taken;
  return { taken, amountLeft, exhausted: amountLeft === 0n };
}

/** An unstake request as the walk reads it: what is left, whether it is open, and the staker's next one. */
export type ListedRequest = { amountLeft: bigint; status: "pending" | "withdrawn"; nextRequestId: bigint | null };

/** Where the walk ended: what it took, the staker's new first open request, and a request it could not find. */
export type PendingWalk = { taken: bigint; firstPendingRequestId: bigint | null; missingRequestId: bigint | null };

/**
 * StakeManager._slashPending over the indexer's list of a staker's requests: from the first open
 * request, takes what is wanted, request by request, saving each new `amountLeft`, and moves the
 * first-open pointer past every request it used up. Reading and saving are passed in (primary-key
 * lookups in the handler, a Map in tests), so the walk itself has no I/O of its own.
 */
export async function walkPendingRequests(
  firstPendingRequestId: bigint | null,
  wanted: bigint,
  load: (requestId: bigint) => Promise<ListedRequest | null>,
  save: (requestId: bigint, amountLeft: bigint) => Promise<void>,
): Promise<PendingWalk> {
  let first = firstPendingRequestId;
  let taken = 0n;
  while (first !== null && taken < wanted) {
    const request = await load(first);
    if (!request) return { taken, firstPendingRequestId: first, missingRequestId: first };
    const next = request.nextRequestId;
    const step = takeFromRequest(wanted - taken, request);
    if (step.taken > 0n) await save(first, step.amountLeft);
    taken += step.taken;
    if (!step.exhausted) break;
    first = next;
  }
  return { taken, firstPendingRequestId: first, missingRequestId: null };
}

/** Checks `Staked.totalStake` against the indexed stake: it must be the previous stake plus the deposit. */
export function stakedViolations(previousStake: bigint, amount: bigint, totalStake: bigint): string[] {
  return previousStake + amount === totalStake
    ? []
    : [`indexed stake ${previousStake} + staked ${amount} != totalStake ${totalStake}`];
}
