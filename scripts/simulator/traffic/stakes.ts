/**
 * What stakers and the owner do with stakes in `Traffic`: stake, top up, request unstakes and
 * withdraw after the cooldown, and the owner's occasional slash.
 */
import { calls } from "../calls.js";
import type { Hex } from "../ledger.js";
import { simHash } from "../population.js";
import { DAY, GAS, OPEN } from "./base.js";
import { InvoiceTraffic } from "./invoices.js";

/** `InvoiceTraffic` plus stakes. */
export class StakeTraffic extends InvoiceTraffic {
  protected stake(staker: Hex, amount: bigint) {
    const effect = this.mirror.stake(staker, amount);
    this.push(staker, this.contracts.stakeManager, calls.stake(amount), GAS.simple, `stake by ${staker}`, effect);
  }

  protected requestUnstake(staker: Hex, amount: bigint) {
    if (amount <= 0n) return;
    const { effect, requestId } = this.mirror.requestUnstake(staker, amount, this.window.knownTimestamp);
    const data = calls.requestUnstake(amount);
    this.push(staker, this.contracts.stakeManager, data, GAS.simple, `unstake request by ${staker}`, effect);
    this.withdrawDelays.set(requestId, this.rngStake.int(0, 2 * DAY));
  }

  protected governanceSlash(staker: Hex, invoiceId: bigint, reason: number, amount: bigint) {
    const evidence = simHash(this.seed, `evidence:${this.evidenceCount++}`);
    const effect = this.mirror.slash(staker, invoiceId, reason, amount, evidence);
    const data = calls.slash(staker, invoiceId, reason, amount, evidence);
    this.push(
      this.owner,
      this.contracts.stakeManager,
      data,
      GAS.simple,
      `slash of ${staker} for reason ${reason}`,
      effect,
    );
  }

  /** Top-ups, unstake requests, withdrawals after the cooldown, and the owner's occasional slash. */
  protected stakeActivity() {
    const rng = this.rngStake;
    const tickShare = this.plan.tickSeconds;
    for (const staker of this.stakers) {
      if (this.banned.has(staker)) continue;
      if (rng.chance(tickShare / (6 * DAY))) {
        this.stake(staker, BigInt(Math.max(1, Math.round(rng.logNormal(300, 0.8)))) * OPEN);
      } else if (rng.chance(tickShare / (9 * DAY))) {
        const stake = this.mirror.account(staker).stake;
        this.requestUnstake(staker, (stake * BigInt(rng.int(5, 30))) / 100n);
      }
    }
    for (const request of [...this.mirror.openRequests]) {
      if (request.unlockAt === null) continue;
      if (request.unlockAt + (this.withdrawDelays.get(request.id) ?? 0) > this.window.earliest) continue;
      const effect = this.mirror.unstake(request.staker, request.id);
      const data = calls.unstake(request.id);
      this.push(
        request.staker,
        this.contracts.stakeManager,
        data,
        GAS.simple,
        `withdrawal of request ${request.id}`,
        effect,
      );
    }
    if (rng.chance(tickShare / (4 * DAY))) {
      const staker = rng.pick([...this.stakers, ...this.banned]);
      const stake = this.mirror.account(staker).stake;
      const amount = stake > 0n ? (stake * BigInt(rng.int(1, 5))) / 100n + 1n : 10n * OPEN;
      const invoiceId = rng.chance(0.5) ? (this.lastInvoiceOf.get(staker) ?? 0n) : 0n;
      this.governanceSlash(staker, invoiceId, rng.int(1, 5), amount);
    }
  }
}
