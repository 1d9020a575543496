/**
 * StakeManager: stakes, unstake requests, withdrawals, slashes and the cooldown.
 *
 * Each stake-moving event writes a `stakeChange` with the active and pending stake after it, so a
 * staker's stake as of any block is one indexed lookup. A slash says only how much it took and the
 * active stake left; what it took beyond the active stake came out of pending requests, oldest
 * first. Like the contract, the indexer keeps each staker's requests as a list (account
 * `firstPendingRequestId` → request `nextRequestId` → ...) and walks it by primary key.
 *
 * Rows returned by `context.db.find` are live views of Ponder's cache: an update of the same row
 * changes them. Handlers read what they need from a row before updating it.
 */
import { ponder } from "ponder:registry";
import { account, protocolDaily, slash, stakeChange, unstakeRequest } from "ponder:schema";
import { ANOMALY_CODES, type Problem, unknownRequest } from "./lib/anomaly.js";
import { finishFor } from "./lib/finish.js";
import { invoiceIdOrNull, normalizeHex } from "./lib/ids.js";
import { eventColumns } from "./lib/rows.js";
import { splitSlash, stakedViolations, walkPendingRequests } from "./lib/stake.js";
import { bumpDaily, changeProtocolParameter } from "./lib/store.js";
import { dayOf } from "./lib/time.js";

const finish = finishFor("StakeManager");

ponder.on("StakeManager:Staked", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { amount, totalStake } = event.args;
  const staker = normalizeHex(event.args.staker);
  let stakeBefore = 0n;
  const after = await context.db
    .insert(account)
    .values({ chainId, address: staker, stake: totalStake })
    .onConflictDoUpdate((row) => {
      stakeBefore = row.stake;
      return { stake: totalStake };
    });
  const problems: Problem[] = stakedViolations(stakeBefore, amount, totalStake).map((message) => ({
    code: ANOMALY_CODES.stakeMismatch,
    message,
    account: staker,
  }));
  await context.db.insert(stakeChange).values({
    chainId,
    id: event.id,
    staker,
    kind: "stake",
    amount,
    stakeAfter: after.stake,
    pendingAfter: after.pendingUnstake,
    ...eventColumns(event),
  });
  await finish(context, event, { type: "Staked", account: staker, amount }, problems);
});

ponder.on("StakeManager:UnstakeRequested", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { requestId, amount, unlockAt } = event.args;
  const staker = normalizeHex(event.args.staker);
  const problems: Problem[] = [];
  const created = await context.db
    .insert(unstakeRequest)
    .values({
      chainId,
      requestId,
      staker,
      amount,
      amountLeft: amount,
      unlockAt,
      status: "pending",
      requestedAt: event.block.timestamp,
      blockNumber: event.block.number,
      txHash: normalizeHex(event.transaction.hash),
    })
    .onConflictDoNothing();
  if (created === null) {
    problems.push({
      code: ANOMALY_CODES.duplicateId,
      message: `unstake request ${requestId} made twice`,
      account: staker,
    });
    await finish(context, event, { type: "UnstakeRequested", account: staker, amount }, problems);
    return;
  }
  const before = { stake: 0n, lastRequestId: null as bigint | null };
  const after = await context.db
    .insert(account)
    .values({
      chainId,
      address: staker,
      stake: -amount,
      pendingUnstake: amount,
      firstPendingRequestId: requestId,
      lastRequestId: requestId,
    })
    .onConflictDoUpdate((row) => {
      before.stake = row.stake;
      before.lastRequestId = row.lastRequestId;
      return {
        stake: row.stake - amount,
        pendingUnstake: row.pendingUnstake + amount,
        // A walk that used up every request left the list empty: this one starts it again.
        firstPendingRequestId: row.firstPendingRequestId ?? requestId,
        lastRequestId: requestId,
      };
    });
  // Append to the staker's list of requests, which slashes walk oldest first.
  if (before.lastRequestId !== null) {
    await context.db
      .update(unstakeRequest, { chainId, requestId: before.lastRequestId })
      .set({ nextRequestId: requestId });
  }
  const stakeBefore = before.stake;
  if (stakeBefore < amount) {
    problems.push({
      code: ANOMALY_CODES.stakeMismatch,
      message: `unstake of ${amount} requested with an indexed stake of ${stakeBefore}`,
      account: staker,
    });
  }
  await context.db.insert(stakeChange).values({
    chainId,
    id: event.id,
    staker,
    kind: "unstakeRequest",
    amount,
    stakeAfter: after.stake,
    pendingAfter: after.pendingUnstake,
    requestId,
    ...eventColumns(event),
  });
  await finish(context, event, { type: "UnstakeRequested", account: staker, amount }, problems);
});

ponder.on("StakeManager:Unstaked", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { requestId, amount } = event.args;
  const staker = normalizeHex(event.args.staker);
  const request = await context.db.find(unstakeRequest, { chainId, requestId });
  if (!request) {
    await finish(context, event, { type: "Unstaked", account: staker, amount }, [unknownRequest(requestId, staker)]);
    return;
  }
  const problems: Problem[] = [];
  if (request.status !== "pending" || request.staker !== staker) {
    problems.push({
      code: ANOMALY_CODES.statusMismatch,
      message: `unstake request ${requestId} of ${request.staker} (${request.status}) withdrawn by ${staker}`,
      account: staker,
    });
  }
  // The contract pays what slashes left of the request.
  if (request.amountLeft !== amount) {
    problems.push({
      code: ANOMALY_CODES.stakeMismatch,
      message: `unstaked ${amount} from request ${requestId}, whose indexed amount left is ${request.amountLeft}`,
      account: staker,
    });
  }
  // Read before the update: rows from context.db.find are live views of the cached row.
  const pendingTaken = request.status === "pending" ? request.amountLeft : 0n;
  await context.db
    .update(unstakeRequest, { chainId, requestId })
    .set({ status: "withdrawn", withdrawn: amount, amountLeft: 0n });
  const after = await context.db
    .insert(account)
    .values({ chainId, address: staker, pendingUnstake: -pendingTaken })
    .onConflictDoUpdate((row) => ({ pendingUnstake: row.pendingUnstake - pendingTaken }));
  await context.db.insert(stakeChange).values({
    chainId,
    id: event.id,
    staker,
    kind: "unstake",
    amount,
    stakeAfter: after.stake,
    pendingAfter: after.pendingUnstake,
    requestId,
    ...eventColumns(event),
  });
  await finish(context, event, { type: "Unstaked", account: staker, amount }, problems);
});

ponder.on("StakeManager:Slashed", async ({ event, context }) => {
  const chainId = context.chain.id;
  const { reason, amount, remainingStake } = event.args;
  const staker = normalizeHex(event.args.staker);
  const invoiceId = invoiceIdOrNull(event.args.invoiceId);
  const problems: Problem[] = [];
  const mismatch = (message: string): Problem => ({
    code: ANOMALY_CODES.stakeMismatch,
    message: `slash of ${amount}: ${message}`,
    invoiceId,
    account: staker,
  });

  await context.db.insert(slash).values({
    chainId,
    id: event.id,
    staker,
    invoiceId,
    reason,
    amount,
    remainingStake,
    evidence: normalizeHex(event.args.evidence),
    ...eventColumns(event),
  });

  const before = await context.db.find(account, { chainId, address: staker });
  const split = splitSlash({ amount, stakeBefore: before?.stake ?? 0n, remainingStake });
  problems.push(...split.violations.map(mismatch));

  // What active stake could not cover came out of pending requests, oldest first: walk the staker's
  // list from its first open request, as StakeManager._slashPending does, and move that pointer on.
  let firstPendingRequestId = before?.firstPendingRequestId ?? null;
  if (split.fromPending > 0n) {
    const walk = await walkPendingRequests(
      firstPendingRequestId,
      split.fromPending,
      (requestId) => context.db.find(unstakeRequest, { chainId, requestId }),
      async (requestId, amountLeft) => {
        await context.db.update(unstakeRequest, { chainId, requestId }).set({ amountLeft });
      },
    );
    firstPendingRequestId = walk.firstPendingRequestId;
    if (walk.missingRequestId !== null) {
      problems.push(mismatch(`unstake request ${walk.missingRequestId} of the pending list is not indexed`));
    }
    if (walk.taken < split.fromPending) {
      problems.push(
        mismatch(
          `pending requests held ${walk.taken}, ${split.fromPending - walk.taken} short of ${split.fromPending}`,
        ),
      );
    }
  }

  const after = await context.db
    .insert(account)
    .values({ chainId, address: staker, stake: remainingStake, pendingUnstake: -split.fromPending, slashed: amount })
    .onConflictDoUpdate((row) => ({
      stake: remainingStake,
      pendingUnstake: row.pendingUnstake - split.fromPending,
      slashed: row.slashed + amount,
      firstPendingRequestId,
    }));
  await context.db.insert(stakeChange).values({
    chainId,
    id: event.id,
    staker,
    kind: "slash",
    amount,
    stakeAfter: after.stake,
    pendingAfter: after.pendingUnstake,
    ...eventColumns(event),
  });
  await bumpDaily(context, protocolDaily, { day: dayOf(event.block.timestamp) }, { slashed: amount });
  await finish(context, event, { type: "Slashed", invoiceId, account: staker, amount }, problems);
});

ponder.on("StakeManager:CooldownUpdated", async ({ event, context }) => {
  const { oldSeconds, newSeconds } = event.args;
  await changeProtocolParameter(
    context,
    event,
    { cooldown: newSeconds },
    { kind: "cooldown", oldCooldown: oldSeconds, newCooldown: newSeconds },
  );
  await finish(context, event, { type: "CooldownUpdated" });
});
