/**
 * The StakeManager rules of `ProtocolMirror`: stakes, unstake requests and withdrawals, slashes
 * (active stake first, then open requests oldest first) and the cooldown.
 */
import type { Hex, LedgerSlash, StakeChangeKind } from "../ledger.js";
import { MirrorState } from "./state.js";
import { add, dayOf, type Effect, min, newEffect, type UnstakeRequestState } from "./types.js";

/** `MirrorState` plus the StakeManager's rules. */
export class StakesMirror extends MirrorState {
  stake(staker: Hex, amount: bigint): Effect {
    if (amount <= 0n) throw this.bug("stake of 0");
    const account = this.account(staker);
    account.stake += amount;
    const effect = newEffect();
    const position = add(effect, this.events.staked(staker, amount, account.stake));
    this.recordStakeChange(effect, position, staker, "stake", amount);
    return effect;
  }

  /** `knownTimestamp`: the block's timestamp when it is fixed in advance (fast mode); else set once mined. */
  requestUnstake(staker: Hex, amount: bigint, knownTimestamp: number | null): { effect: Effect; requestId: bigint } {
    const account = this.account(staker);
    if (amount <= 0n || amount > account.stake) throw this.bug(`unstake of ${amount} from ${staker}`);
    account.stake -= amount;
    account.pendingUnstake += amount;
    const requestId = ++this.lastRequestId;
    const cooldown = this.cooldownSeconds;
    const request: UnstakeRequestState = {
      id: requestId,
      staker,
      amount,
      amountLeft: amount,
      unlockAt: knownTimestamp === null ? null : knownTimestamp + cooldown,
      open: true,
      withdrawn: null,
    };
    this.requests.set(requestId, request);
    this.openRequests.push(request);
    let queue = this.requestQueues.get(staker);
    if (!queue) {
      queue = { ids: [], first: 0 };
      this.requestQueues.set(staker, queue);
    }
    queue.ids.push(requestId);
    const effect = newEffect();
    const position = add(effect, (timestamp) =>
      this.events.unstakeRequested(staker, requestId, amount, timestamp + cooldown),
    );
    effect.onMined.push((context) => {
      request.unlockAt ??= context.timestamp + cooldown;
    });
    this.recordStakeChange(effect, position, staker, "unstakeRequest", amount);
    return { effect, requestId };
  }

  /** The caller checks that the request's cooldown has passed at the block's timestamp. */
  unstake(staker: Hex, requestId: bigint): Effect {
    const request = this.requests.get(requestId);
    if (!request || request.staker !== staker || !request.open) throw this.bug(`unstake of request ${requestId}`);
    const amount = request.amountLeft;
    request.open = false;
    request.amountLeft = 0n;
    request.withdrawn = amount;
    this.openRequests.splice(this.openRequests.indexOf(request), 1);
    this.account(staker).pendingUnstake -= amount;
    const effect = newEffect();
    const position = add(effect, this.events.unstaked(staker, requestId, amount));
    this.recordStakeChange(effect, position, staker, "unstake", amount);
    return effect;
  }

  /** Governance slash by the owner. */
  slash(staker: Hex, invoiceId: bigint, reason: number, amount: bigint, evidence: Hex): Effect {
    if (reason < 1 || reason > 5 || amount <= 0n) throw this.bug(`slash reason ${reason} amount ${amount}`);
    const effect = newEffect();
    this.slashInto(effect, staker, invoiceId, reason, amount, evidence);
    return effect;
  }

  /** Active stake first, then open requests oldest first (StakeManager.slash and _slashPending). */
  protected slashInto(effect: Effect, staker: Hex, invoiceId: bigint, reason: number, amount: bigint, evidence: Hex) {
    const account = this.account(staker);
    let taken = min(amount, account.stake);
    account.stake -= taken;
    if (taken < amount) taken += this.slashPending(staker, amount - taken);
    account.slashed += taken;
    const remainingStake = account.stake;
    const position = add(effect, this.events.slashed(staker, invoiceId, reason, taken, remainingStake, evidence));
    this.recordStakeChange(effect, position, staker, "slash", taken);
    effect.onMined.push((context) => {
      this.slashes.push({
        blockNumber: context.blockNumber,
        txHash: context.txHash,
        logIndex: context.logIndexes[position],
        staker,
        invoiceId: invoiceId.toString(),
        reason: reason as LedgerSlash["reason"],
        amount: taken.toString(),
        remainingStake: remainingStake.toString(),
        evidence,
      });
      this.protocolDay(dayOf(context.timestamp)).slashed += taken;
    });
  }

  private slashPending(staker: Hex, wanted: bigint): bigint {
    const queue = this.requestQueues.get(staker);
    if (!queue) return 0n;
    let taken = 0n;
    let index = queue.first;
    while (taken < wanted && index < queue.ids.length) {
      const request = this.requests.get(queue.ids[index]) as UnstakeRequestState;
      const left = request.open ? request.amountLeft : 0n;
      const take = min(wanted - taken, left);
      request.amountLeft = left - take;
      taken += take;
      if (request.amountLeft === 0n) index++;
      else break;
    }
    queue.first = index;
    this.account(staker).pendingUnstake -= taken;
    return taken;
  }

  private recordStakeChange(effect: Effect, position: number, staker: Hex, kind: StakeChangeKind, amount: bigint) {
    const account = this.account(staker);
    const stakeAfter = account.stake.toString();
    const pendingAfter = account.pendingUnstake.toString();
    effect.onMined.push((context) => {
      this.stakeChanges.push({
        blockNumber: context.blockNumber,
        txHash: context.txHash,
        logIndex: context.logIndexes[position],
        staker,
        kind,
        amount: amount.toString(),
        stakeAfter,
        pendingAfter,
      });
    });
  }

  setCooldown(seconds: number): Effect {
    const effect = newEffect();
    add(effect, this.events.cooldownUpdated(this.cooldownSeconds, seconds));
    this.cooldownSeconds = seconds;
    return effect;
  }
}
