/**
 * What earners and holders do in `Traffic`: claim their earnings, and bundle, transfer and dissolve
 * bundles of their receivables.
 */
import { calls } from "../calls.js";
import type { Hex } from "../ledger.js";
import { BUNDLE_NAMES, DAY, GAS, HOUR } from "./base.js";
import { StakeTraffic } from "./stakes.js";

/** `StakeTraffic` plus claims and bundles. */
export class HolderTraffic extends StakeTraffic {
  protected claims() {
    const rng = this.rngOther;
    const expected = (this.earners.length * this.plan.tickSeconds) / (3 * DAY);
    const count = Math.floor(expected) + (rng.chance(expected % 1) ? 1 : 0);
    const claimed = new Set<Hex>();
    for (let i = 0; i < count; i++) {
      const account = rng.pick(this.earners);
      if (claimed.has(account) || this.mirror.account(account).claimable === 0n) continue;
      claimed.add(account);
      const effect = this.mirror.claim(account);
      this.push(account, this.contracts.engine, calls.claim(), GAS.simple, `claim by ${account}`, effect);
    }
  }

  protected bundling() {
    const every = Math.max(1, Math.round((12 * HOUR) / this.plan.tickSeconds));
    if (this.window.tick % every !== every - 1) return;
    const rng = this.rngOther;
    const providers = this.activeModels.map((model) => model.provider);
    const holder = rng.chance(0.7) ? rng.pick(providers) : rng.pick(this.population.investors);
    const owned = this.mirror.recentlyOwned.get(holder) ?? [];
    const wanted = rng.int(2, 8);
    const members: bigint[] = [];
    for (let i = owned.length - 1; i >= 0 && members.length < wanted; i--) {
      const invoice = this.mirror.invoices.get(owned[i]);
      if (!invoice || members.includes(invoice.id) || invoice.owner !== holder || invoice.bundleId !== 0n) continue;
      if (invoice.status === "issued" || invoice.status === "scheduled") members.push(invoice.id);
    }
    if (members.length < 2) return;
    members.reverse();
    const name = `${rng.pick(BUNDLE_NAMES)} #${this.mirror.lastBundleId + 1n}`;
    const { effect, bundleId } = this.mirror.createBundle(holder, name, members);
    const gas = GAS.bundleBase + GAS.perBundleMember * members.length;
    this.push(
      holder,
      this.contracts.registry,
      calls.createBundle(name, members),
      gas,
      `create bundle ${bundleId}`,
      effect,
    );
    const now = this.window.earliest;
    if (rng.chance(0.6)) this.at(now + rng.int(2 * HOUR, 3 * DAY), () => this.transferBundle(bundleId));
    if (rng.chance(0.25)) this.at(now + rng.int(3 * DAY, 6 * DAY), () => this.transferBundle(bundleId));
    if (rng.chance(0.5)) this.at(now + rng.int(4 * DAY, 12 * DAY), () => this.dissolveBundle(bundleId));
  }

  private transferBundle(bundleId: bigint) {
    const bundle = this.mirror.bundles.get(bundleId);
    if (!bundle?.active) return;
    const from = bundle.owner;
    const to = this.rngOther.pick(this.population.investors.filter((investor) => investor !== from));
    const effect = this.mirror.transferBundle(from, bundleId, to);
    const gas = GAS.bundleBase + GAS.perBundleMember * bundle.members.length;
    this.push(
      from,
      this.contracts.registry,
      calls.transferBundle(bundleId, to),
      gas,
      `transfer of bundle ${bundleId}`,
      effect,
    );
  }

  private dissolveBundle(bundleId: bigint) {
    const bundle = this.mirror.bundles.get(bundleId);
    if (!bundle?.active) return;
    const effect = this.mirror.dissolveBundle(bundle.owner, bundleId);
    const gas = GAS.bundleBase + GAS.perBundleMember * bundle.members.length;
    this.push(
      bundle.owner,
      this.contracts.registry,
      calls.dissolveBundle(bundleId),
      gas,
      `dissolve bundle ${bundleId}`,
      effect,
    );
  }
}
