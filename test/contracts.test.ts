/**
 * The contracts against a real anvil: every function's success path and reverts, the order of events,
 * settlement arithmetic (with hand-computed numbers), scheduled settlement across time travel, bundles,
 * the unstake cooldown, slash caps and access control. Each test runs between evm_snapshot/evm_revert.
 */
import { type Address, type Hex, parseEther, zeroAddress } from "viem";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  b32,
  type DecodedEvent,
  expectRevert,
  INITIAL_OPEN,
  type Protocol,
  type Share,
  startProtocol,
  ZERO_HASH,
} from "./helpers/protocol.js";

const OPEN_1000 = parseEther("1000");
const COOLDOWN = 604_800n; // deployProtocol's default: 7 days
const STATUS = { issued: 1, scheduled: 2, settled: 3, voided: 4 } as const;

/** Model A: an odd price, so that amounts, tax and shares all round. */
const MODEL_A = b32("model-a");
const PRICE_A = 3_141_592_653_589_793n;
const SLO_A = 800;
const PENALTY_A = 2_500;
/** Model B: round numbers, for tests about flows rather than arithmetic. 2000 tokens at x1 = 0.002 OPEN. */
const MODEL_B = b32("model-b");
const PRICE_B = 1_000_000_000_000_000n;
const SLO_B = 500;
const PENALTY_B = 1_000;
const AMOUNT_B = 2_000_000_000_000_000n; // (1000 + 1000) * 10^15 / 1000 * 10_000 / 10_000

let p: Protocol;
let a: Protocol["accounts"];
let snap: Hex;

beforeAll(async () => {
  p = await startProtocol();
  a = p.accounts;
  await p.registerModel(a.provider, MODEL_A, { pricePerKToken: PRICE_A, sloLatencyMs: SLO_A, penaltyBps: PENALTY_A });
  await p.registerModel(a.provider, MODEL_B, { pricePerKToken: PRICE_B, sloLatencyMs: SLO_B, penaltyBps: PENALTY_B });
});

afterAll(async () => {
  await p?.stop();
});

beforeEach(async () => {
  snap = await p.snapshot();
});

afterEach(async () => {
  await p.revert(snap);
});

const names = (events: DecodedEvent[]) => events.map((e) => `${e.contract}.${e.eventName}`);
const named = (events: DecodedEvent[], eventName: string) => events.filter((e) => e.eventName === eventName);

/** A model-B invoice of AMOUNT_B from `caller`, SLO met unless `latencyMs` says otherwise. */
async function issueB(options: { latencyMs?: number; shares?: Share[] } = {}): Promise<bigint> {
  const record = p.record({ caller: a.caller, modelId: MODEL_B, latencyMs: options.latencyMs ?? 100 });
  return (await p.issue(a.provider, record, options.shares ?? [])).invoiceId;
}

// ====================================================================== OpenToken

describe("OpenToken", () => {
  it("mints to anyone as the owner only (OwnableUnauthorizedAccount otherwise)", async () => {
    const { events } = await p.send(a.owner, "OpenToken", "mint", [a.treasury, 123n]);
    expect(events).toEqual([
      { contract: "OpenToken", eventName: "Transfer", args: { from: zeroAddress, to: a.treasury, value: 123n } },
    ]);
    expect(await p.balanceOf(a.treasury)).toBe(123n);
    const args = await expectRevert(
      p.send(a.stranger, "OpenToken", "mint", [a.stranger, 1n]),
      "OwnableUnauthorizedAccount",
    );
    expect(args).toEqual([a.stranger]);
    expect(await p.balanceOf(a.stranger)).toBe(INITIAL_OPEN);
  });
});

// =================================================================== StakeManager

describe("StakeManager", () => {
  it("stake: Staked carries the active stake after the deposit; ZeroAmount on 0", async () => {
    const first = await p.stake(a.provider2, 300n);
    expect(first.events.map((e) => e.eventName)).toEqual(["Transfer", "Staked"]);
    expect(first.events[1].args).toEqual({ staker: a.provider2, amount: 300n, totalStake: 300n });
    const second = await p.stake(a.provider2, 45n);
    expect(second.events[1].args).toEqual({ staker: a.provider2, amount: 45n, totalStake: 345n });
    expect(await p.stakeOf(a.provider2)).toBe(345n);
    expect(await p.balanceOf(a.provider2)).toBe(INITIAL_OPEN - 345n);
    expect(await p.balanceOf(p.addresses.StakeManager)).toBe(OPEN_1000 + 345n); // the provider's 1000 too
    await expectRevert(p.stake(a.provider2, 0n), "ZeroAmount");
  });

  it("requestUnstake moves active stake to a request unlocking after the cooldown; ZeroAmount, UnstakeExceedsActiveStake", async () => {
    await p.stake(a.provider2, 1_000n);
    const sent = await p.send(a.provider2, "StakeManager", "requestUnstake", [400n]);
    expect(names(sent.events)).toEqual(["StakeManager.UnstakeRequested"]);
    expect(sent.events[0].args).toEqual({
      staker: a.provider2,
      requestId: 1n,
      amount: 400n,
      unlockAt: sent.timestamp + COOLDOWN,
    });
    expect(await p.stakeOf(a.provider2)).toBe(600n);
    expect(await p.read("StakeManager", "pendingUnstake", [a.provider2])).toBe(400n);
    expect(await p.read("StakeManager", "unstakeRequests", [1n])).toEqual([
      a.provider2,
      400n,
      sent.timestamp + COOLDOWN,
      true,
    ]);
    const second = await p.send(a.provider2, "StakeManager", "requestUnstake", [600n]);
    expect(second.events[0].args.requestId).toBe(2n);
    expect(await p.stakeOf(a.provider2)).toBe(0n);

    await expectRevert(p.send(a.provider2, "StakeManager", "requestUnstake", [0n]), "ZeroAmount");
    const args = await expectRevert(
      p.send(a.provider, "StakeManager", "requestUnstake", [OPEN_1000 + 1n]),
      "UnstakeExceedsActiveStake",
    );
    expect(args).toEqual([OPEN_1000 + 1n, OPEN_1000]);
  });

  it("unstake: CooldownNotElapsed one second before unlockAt, pays at unlockAt, then UnstakeRequestClosed", async () => {
    await p.stake(a.provider2, 700n);
    const request = await p.send(a.provider2, "StakeManager", "requestUnstake", [700n]);
    const unlockAt = request.timestamp + COOLDOWN;

    await p.setNextTimestamp(unlockAt - 1n);
    const early = await expectRevert(p.send(a.provider2, "StakeManager", "unstake", [1n]), "CooldownNotElapsed");
    expect(early).toEqual([1n, unlockAt]);
    // Not the request's staker, and an unknown request (staker 0): OnlyRequestStaker.
    expect(await expectRevert(p.send(a.stranger, "StakeManager", "unstake", [1n]), "OnlyRequestStaker")).toEqual([1n]);
    await expectRevert(p.send(a.provider2, "StakeManager", "unstake", [9n]), "OnlyRequestStaker");

    await p.setNextTimestamp(unlockAt);
    const done = await p.send(a.provider2, "StakeManager", "unstake", [1n]);
    expect(done.timestamp).toBe(unlockAt);
    expect(names(done.events)).toEqual(["OpenToken.Transfer", "StakeManager.Unstaked"]);
    expect(done.events[0].args).toEqual({ from: p.addresses.StakeManager, to: a.provider2, value: 700n });
    expect(done.events[1].args).toEqual({ staker: a.provider2, requestId: 1n, amount: 700n });
    expect(await p.balanceOf(a.provider2)).toBe(INITIAL_OPEN);
    expect(await p.read("StakeManager", "pendingUnstake", [a.provider2])).toBe(0n);
    expect(await p.read("StakeManager", "unstakeRequests", [1n])).toEqual([a.provider2, 0n, unlockAt, false]);

    expect(await expectRevert(p.send(a.provider2, "StakeManager", "unstake", [1n]), "UnstakeRequestClosed")).toEqual([
      1n,
    ]);
  });

  it("setCooldown: owner only, CooldownUpdated, and later requests use the new cooldown", async () => {
    expect(await p.read("StakeManager", "cooldown", [])).toBe(COOLDOWN);
    const sent = await p.send(a.owner, "StakeManager", "setCooldown", [60n]);
    expect(sent.events).toEqual([
      { contract: "StakeManager", eventName: "CooldownUpdated", args: { oldSeconds: COOLDOWN, newSeconds: 60n } },
    ]);
    const request = await p.send(a.provider, "StakeManager", "requestUnstake", [5n]);
    expect(request.events[0].args.unlockAt).toBe(request.timestamp + 60n);
    const args = await expectRevert(
      p.send(a.stranger, "StakeManager", "setCooldown", [1n]),
      "OwnableUnauthorizedAccount",
    );
    expect(args).toEqual([a.stranger]);
    expect(await p.read("StakeManager", "cooldown", [])).toBe(60n);
  });

  it("slash takes active stake first, then pending requests oldest first, never more than held", async () => {
    await p.stake(a.provider2, 1_000n);
    await p.send(a.provider2, "StakeManager", "requestUnstake", [300n]); // request 1
    await p.send(a.provider2, "StakeManager", "requestUnstake", [200n]); // request 2
    // active 500, pending 300 + 200
    const evidence = b32("evidence-1");
    const first = await p.send(a.owner, "StakeManager", "slash", [a.provider2, 0n, 2, 650n, evidence]);
    expect(names(first.events)).toEqual(["OpenToken.Transfer", "StakeManager.Slashed"]);
    expect(first.events[0].args).toEqual({ from: p.addresses.StakeManager, to: a.treasury, value: 650n });
    expect(first.events[1].args).toEqual({
      staker: a.provider2,
      invoiceId: 0n,
      reason: 2,
      amount: 650n, // 500 active + 150 of request 1
      remainingStake: 0n,
      evidence,
    });
    expect(await p.stakeOf(a.provider2)).toBe(0n);
    expect(await p.read("StakeManager", "pendingUnstake", [a.provider2])).toBe(350n);
    expect((await p.read("StakeManager", "unstakeRequests", [1n]))[1]).toBe(150n);
    expect((await p.read("StakeManager", "unstakeRequests", [2n]))[1]).toBe(200n);

    // Asks for 400, but only 150 + 200 are left: the slash takes 350.
    const second = await p.send(a.owner, "StakeManager", "slash", [a.provider2, 42n, 5, 400n, ZERO_HASH]);
    expect(named(second.events, "Slashed")[0].args).toMatchObject({ invoiceId: 42n, reason: 5, amount: 350n });
    expect(await p.read("StakeManager", "pendingUnstake", [a.provider2])).toBe(0n);
    // Nothing left: the slash still emits, with amount 0 and no transfer.
    const third = await p.send(a.owner, "StakeManager", "slash", [a.provider2, 0n, 3, 1n, ZERO_HASH]);
    expect(names(third.events)).toEqual(["StakeManager.Slashed"]);
    expect(third.events[0].args).toMatchObject({ amount: 0n, remainingStake: 0n });

    expect(await p.balanceOf(a.treasury)).toBe(1_000n); // 650 + 350, transferred at once
    expect(await p.balanceOf(p.addresses.StakeManager)).toBe(OPEN_1000);

    await p.increaseTime(COOLDOWN);
    const unstaked = await p.send(a.provider2, "StakeManager", "unstake", [1n]);
    expect(names(unstaked.events)).toEqual(["StakeManager.Unstaked"]);
    expect(unstaked.events[0].args.amount).toBe(0n);
    expect((await p.send(a.provider2, "StakeManager", "unstake", [2n])).events[0].args.amount).toBe(0n);
    expect(await p.balanceOf(a.provider2)).toBe(INITIAL_OPEN - 1_000n);
  });

  it("slash leaves the rest of a partly slashed request, which unstake pays; remainingStake is the active stake", async () => {
    await p.stake(a.provider2, 1_000n);
    await p.send(a.provider2, "StakeManager", "requestUnstake", [400n]); // active 600, pending 400
    const first = await p.send(a.owner, "StakeManager", "slash", [a.provider2, 0n, 4, 250n, ZERO_HASH]);
    expect(named(first.events, "Slashed")[0].args).toMatchObject({ amount: 250n, remainingStake: 350n });
    expect(await p.read("StakeManager", "pendingUnstake", [a.provider2])).toBe(400n); // active first
    const second = await p.send(a.owner, "StakeManager", "slash", [a.provider2, 0n, 4, 500n, ZERO_HASH]);
    expect(named(second.events, "Slashed")[0].args).toMatchObject({ amount: 500n, remainingStake: 0n });
    expect(await p.read("StakeManager", "pendingUnstake", [a.provider2])).toBe(250n); // 400 - 150

    await p.increaseTime(COOLDOWN);
    const unstaked = await p.send(a.provider2, "StakeManager", "unstake", [1n]);
    expect(named(unstaked.events, "Unstaked")[0].args.amount).toBe(250n);
    expect(await p.balanceOf(a.provider2)).toBe(INITIAL_OPEN - 750n);
    expect(await p.balanceOf(a.treasury)).toBe(750n);
  });

  it("slash: owner or settlement engine only; InvalidSlashReason outside 1..5; ZeroAmount", async () => {
    for (const who of [a.stranger, a.provider, a.treasury]) {
      const args = await expectRevert(
        p.send(who, "StakeManager", "slash", [a.provider, 0n, 1, 1n, ZERO_HASH]),
        "OnlyOwnerOrSettlementEngine",
      );
      expect(args).toEqual([who]);
    }
    expect(
      await expectRevert(
        p.send(a.owner, "StakeManager", "slash", [a.provider, 0n, 0, 1n, ZERO_HASH]),
        "InvalidSlashReason",
      ),
    ).toEqual([0]);
    expect(
      await expectRevert(
        p.send(a.owner, "StakeManager", "slash", [a.provider, 0n, 6, 1n, ZERO_HASH]),
        "InvalidSlashReason",
      ),
    ).toEqual([6]);
    await expectRevert(p.send(a.owner, "StakeManager", "slash", [a.provider, 0n, 1, 0n, ZERO_HASH]), "ZeroAmount");
    // The settlement engine may slash (impersonated here).
    await p.impersonate(p.addresses.SettlementEngine);
    const sent = await p.send(p.addresses.SettlementEngine, "StakeManager", "slash", [
      a.provider,
      7n,
      1,
      10n,
      ZERO_HASH,
    ]);
    expect(named(sent.events, "Slashed")[0].args).toMatchObject({ staker: a.provider, amount: 10n });
    expect(await p.stakeOf(a.provider)).toBe(OPEN_1000 - 10n);
  });

  it("setSettlementEngine: set once at deployment; owner only; ZeroAddress; SettlementEngineAlreadySet", async () => {
    expect(await p.read("StakeManager", "settlementEngine", [])).toBe(p.addresses.SettlementEngine);
    const args = await expectRevert(
      p.send(a.stranger, "StakeManager", "setSettlementEngine", [a.stranger]),
      "OwnableUnauthorizedAccount",
    );
    expect(args).toEqual([a.stranger]);
    await expectRevert(p.send(a.owner, "StakeManager", "setSettlementEngine", [zeroAddress]), "ZeroAddress");
    await expectRevert(
      p.send(a.owner, "StakeManager", "setSettlementEngine", [a.stranger]),
      "SettlementEngineAlreadySet",
    );
  });
});

// ================================================================= InvoiceRegistry

describe("InvoiceRegistry: models", () => {
  it("registerModel needs an active stake of minProviderStake; the caller becomes the provider", async () => {
    const model = b32("model-c");
    expect(p.minProviderStake).toBe(OPEN_1000);
    const none = await expectRevert(
      p.send(a.provider2, "InvoiceRegistry", "registerModel", [model, 5n, 100, 0]),
      "InsufficientProviderStake",
    );
    expect(none).toEqual([0n, OPEN_1000]);
    await p.stake(a.provider2, OPEN_1000 - 1n);
    const short = await expectRevert(
      p.send(a.provider2, "InvoiceRegistry", "registerModel", [model, 5n, 100, 0]),
      "InsufficientProviderStake",
    );
    expect(short).toEqual([OPEN_1000 - 1n, OPEN_1000]);
    await p.stake(a.provider2, 1n);
    const sent = await p.send(a.provider2, "InvoiceRegistry", "registerModel", [model, 5n, 100, 0]);
    expect(sent.events).toEqual([
      {
        contract: "InvoiceRegistry",
        eventName: "ModelRegistered",
        args: { modelId: model, provider: a.provider2, pricePerKToken: 5n, sloLatencyMs: 100, penaltyBps: 0 },
      },
    ]);
    expect(await p.read("InvoiceRegistry", "models", [model])).toEqual([a.provider2, 5n, 100, 0]);
  });

  it("registerModel reverts: ModelAlreadyRegistered, PenaltyAboveMax above 10_000 (10_000 is fine)", async () => {
    const args = await expectRevert(
      p.send(a.provider, "InvoiceRegistry", "registerModel", [MODEL_A, 1n, 1, 0]),
      "ModelAlreadyRegistered",
    );
    expect(args).toEqual([MODEL_A]);
    const model = b32("model-d");
    expect(
      await expectRevert(
        p.send(a.provider, "InvoiceRegistry", "registerModel", [model, 1n, 1, 10_001]),
        "PenaltyAboveMax",
      ),
    ).toEqual([10_001]);
    await p.send(a.provider, "InvoiceRegistry", "registerModel", [model, 1n, 1, 10_000]);
    expect(await p.read("InvoiceRegistry", "models", [model])).toEqual([a.provider, 1n, 1, 10_000]);
  });

  it("updateModelTerms: provider only, UnknownModel, PenaltyAboveMax; an invoice keeps the terms of its issuance", async () => {
    // Issued under model A's terms: 2000 tokens at PRICE_A, latency 500 <= SLO 800: met.
    const before = await p.issue(a.provider, p.record({ caller: a.caller, modelId: MODEL_A, latencyMs: 500 }));
    const sent = await p.send(a.provider, "InvoiceRegistry", "updateModelTerms", [MODEL_A, PRICE_B, 100, 5_000]);
    expect(sent.events).toEqual([
      {
        contract: "InvoiceRegistry",
        eventName: "ModelTermsUpdated",
        args: { modelId: MODEL_A, pricePerKToken: PRICE_B, sloLatencyMs: 100, penaltyBps: 5_000 },
      },
    ]);
    expect(await p.read("InvoiceRegistry", "models", [MODEL_A])).toEqual([a.provider, PRICE_B, 100, 5_000]);
    // Issued under the new terms: latency 500 > 100, penalty 50%.
    const after = await p.issue(a.provider, p.record({ caller: a.caller, modelId: MODEL_A, latencyMs: 500 }));
    expect(named(after.events, "InvoiceIssued")[0].args.amount).toBe(2_000_000_000_000_000n);
    expect(named(after.events, "ServiceMeasured")[0].args).toMatchObject({
      sloLatencyMs: 100,
      penaltyBps: 5_000,
      sloMet: false,
    });

    const old = await p.send(a.caller, "SettlementEngine", "settle", [before.invoiceId]);
    // 2000 * 3_141_592_653_589_793 / 1000 = 6_283_185_307_179_586; SLO met under the old terms: no refund.
    expect(named(old.events, "InvoiceSettled")[0].args).toMatchObject({ paid: 6_283_185_307_179_586n, refund: 0n });
    const fresh = await p.send(a.caller, "SettlementEngine", "settle", [after.invoiceId]);
    expect(named(fresh.events, "InvoiceSettled")[0].args).toMatchObject({
      paid: 1_000_000_000_000_000n,
      refund: 1_000_000_000_000_000n,
    });

    expect(
      await expectRevert(
        p.send(a.provider, "InvoiceRegistry", "updateModelTerms", [b32("nope"), 1n, 1, 1]),
        "UnknownModel",
      ),
    ).toEqual([b32("nope")]);
    expect(
      await expectRevert(
        p.send(a.provider2, "InvoiceRegistry", "updateModelTerms", [MODEL_A, 1n, 1, 1]),
        "OnlyModelProvider",
      ),
    ).toEqual([MODEL_A, a.provider2]);
    await expectRevert(
      p.send(a.provider, "InvoiceRegistry", "updateModelTerms", [MODEL_A, 1n, 1, 10_001]),
      "PenaltyAboveMax",
    );
  });
});

describe("InvoiceRegistry: issue", () => {
  const datasets = [
    { datasetHash: b32("dataset-1"), datanetId: b32("datanet-x"), version: 3 },
    { datasetHash: b32("dataset-2"), datanetId: b32("datanet-y"), version: 1 },
    { datasetHash: b32("dataset-1"), datanetId: b32("datanet-x"), version: 3 }, // listed twice: kept
  ];

  it("mints to the provider and emits Transfer, InvoiceIssued, ServiceMeasured, ProvenanceRecorded, DatasetUsed*, ShareAssigned*", async () => {
    const shares = [
      { contributor: a.dataProvider, role: 1, shareBps: 2_500 },
      { contributor: a.optimizer, role: 2, shareBps: 1_333 },
      { contributor: a.router, role: 3, shareBps: 777 },
    ];
    const record = p.record({
      caller: a.caller,
      modelId: MODEL_A,
      agentId: b32("agent-7"),
      inputTokens: 1200,
      outputTokens: 345,
      latencyMs: 800, // = the SLO: met
      feeMultiplierBps: 11_111,
      dueAt: 1_900_000_000n,
      modelVersion: b32("v2.1"),
      trainingLogHash: b32("log-2.1"),
    });
    const { invoiceId, events } = await p.issue(a.provider, record, shares, datasets);
    expect(invoiceId).toBe(1n);
    expect(names(events)).toEqual([
      "InvoiceRegistry.Transfer",
      "InvoiceRegistry.InvoiceIssued",
      "InvoiceRegistry.ServiceMeasured",
      "InvoiceRegistry.ProvenanceRecorded",
      "InvoiceRegistry.DatasetUsed",
      "InvoiceRegistry.DatasetUsed",
      "InvoiceRegistry.DatasetUsed",
      "InvoiceRegistry.ShareAssigned",
      "InvoiceRegistry.ShareAssigned",
      "InvoiceRegistry.ShareAssigned",
    ]);
    expect(events[0].args).toEqual({ from: zeroAddress, to: a.provider, tokenId: 1n });
    expect(events[1].args).toEqual({
      invoiceId: 1n,
      caller: a.caller,
      modelId: MODEL_A,
      provider: a.provider,
      agentId: b32("agent-7"),
      // (1200 + 345) * 3_141_592_653_589_793 / 1000 = 4_853_760_649_796_230; * 11_111 / 10_000 (rounded down)
      amount: 5_393_013_457_988_591n,
      feeMultiplierBps: 11_111,
      taxRateBps: 500,
      providerStake: OPEN_1000,
      dueAt: 1_900_000_000n,
    });
    expect(events[2].args).toEqual({
      invoiceId: 1n,
      inputTokens: 1200,
      outputTokens: 345,
      latencyMs: 800,
      sloLatencyMs: 800,
      penaltyBps: 2_500,
      sloMet: true,
    });
    expect(events[3].args).toEqual({ invoiceId: 1n, modelVersion: b32("v2.1"), trainingLogHash: b32("log-2.1") });
    expect(events.slice(4, 7).map((e) => e.args)).toEqual(datasets.map((d) => ({ invoiceId: 1n, ...d })));
    expect(events.slice(7).map((e) => e.args)).toEqual(shares.map((s) => ({ invoiceId: 1n, ...s })));

    expect(await p.ownerOf(1n)).toBe(a.provider);
    expect(await p.read("InvoiceRegistry", "balanceOf", [a.provider])).toBe(1n);
    expect(await p.read("InvoiceRegistry", "sharesOf", [1n])).toEqual(shares);
    expect(await p.invoice(1n)).toEqual({
      caller: a.caller,
      provider: a.provider,
      amount: 5_393_013_457_988_591n,
      taxRateBps: 500,
      penaltyBps: 2_500,
      sloMet: true,
      status: STATUS.issued,
      bundleId: 0n,
    });
    expect(await p.read("InvoiceRegistry", "name", [])).toBe("AI Service Invoice");
    expect(await p.read("InvoiceRegistry", "symbol", [])).toBe("AINV");
  });

  it("ids increase from 1; providerStake and taxRateBps are those of issuance; the stake is not checked again", async () => {
    const first = await p.issue(a.provider, p.record({ caller: a.caller, modelId: MODEL_B, latencyMs: 501 }));
    expect(named(first.events, "ServiceMeasured")[0].args.sloMet).toBe(false); // 501 > 500
    await p.send(a.owner, "SettlementEngine", "setTaxRate", [1_250]);
    await p.send(a.provider, "StakeManager", "requestUnstake", [OPEN_1000]); // below the minimum now
    const second = await p.issue(a.provider, p.record({ caller: a.stranger, modelId: MODEL_B }));
    expect(second.invoiceId).toBe(2n);
    expect(named(second.events, "InvoiceIssued")[0].args).toMatchObject({
      invoiceId: 2n,
      caller: a.stranger,
      amount: AMOUNT_B,
      taxRateBps: 1_250,
      providerStake: 0n,
    });
    expect((await p.invoice(1n)).taxRateBps).toBe(500);
    expect((await p.invoice(2n)).taxRateBps).toBe(1_250);
    expect(await p.read("InvoiceRegistry", "lastInvoiceId", [])).toBe(2n);
  });

  it("accepts multipliers 5_000 and 50_000 and shares adding up to exactly 10_000", async () => {
    const low = await p.issue(a.provider, p.record({ caller: a.caller, modelId: MODEL_B, feeMultiplierBps: 5_000 }));
    expect(named(low.events, "InvoiceIssued")[0].args.amount).toBe(1_000_000_000_000_000n);
    const high = await p.issue(a.provider, p.record({ caller: a.caller, modelId: MODEL_B, feeMultiplierBps: 50_000 }));
    expect(named(high.events, "InvoiceIssued")[0].args.amount).toBe(10_000_000_000_000_000n);
    const full = await p.issue(a.provider, p.record({ caller: a.caller, modelId: MODEL_B }), [
      { contributor: a.dataProvider, role: 1, shareBps: 5_000 },
      { contributor: a.router, role: 3, shareBps: 5_000 },
    ]);
    expect(named(full.events, "ShareAssigned")).toHaveLength(2);
  });

  it("reverts: UnknownModel, OnlyModelProvider, ZeroCaller, FeeMultiplierOutOfRange, InvalidShareRole, SharesExceedTotal", async () => {
    const issue = (from: Address, fields: Partial<Parameters<Protocol["record"]>[0]>, shares: Share[] = []) =>
      p.send(from, "InvoiceRegistry", "issue", [
        p.record({ caller: a.caller, modelId: MODEL_B, ...fields }),
        shares,
        [],
      ]);
    expect(await expectRevert(issue(a.provider, { modelId: b32("nope") }), "UnknownModel")).toEqual([b32("nope")]);
    expect(await expectRevert(issue(a.caller, {}), "OnlyModelProvider")).toEqual([MODEL_B, a.caller]);
    expect(await expectRevert(issue(a.provider2, {}), "OnlyModelProvider")).toEqual([MODEL_B, a.provider2]);
    await expectRevert(issue(a.provider, { caller: zeroAddress }), "ZeroCaller");
    expect(await expectRevert(issue(a.provider, { feeMultiplierBps: 4_999 }), "FeeMultiplierOutOfRange")).toEqual([
      4_999,
    ]);
    expect(await expectRevert(issue(a.provider, { feeMultiplierBps: 50_001 }), "FeeMultiplierOutOfRange")).toEqual([
      50_001,
    ]);
    for (const role of [0, 4]) {
      const args = await expectRevert(
        issue(a.provider, {}, [{ contributor: a.router, role, shareBps: 10 }]),
        "InvalidShareRole",
      );
      expect(args).toEqual([role]);
    }
    const over = await expectRevert(
      issue(a.provider, {}, [
        { contributor: a.dataProvider, role: 1, shareBps: 5_000 },
        { contributor: a.router, role: 3, shareBps: 5_001 },
      ]),
      "SharesExceedTotal",
    );
    expect(over).toEqual([10_001n]);
    expect(await p.read("InvoiceRegistry", "lastInvoiceId", [])).toBe(0n);
  });
});

describe("InvoiceRegistry: voidInvoice", () => {
  it("the provider voids an issued invoice, which then cannot be settled, scheduled, bundled or voided again", async () => {
    const id = await issueB();
    const sent = await p.send(a.provider, "InvoiceRegistry", "voidInvoice", [id, 2]);
    expect(sent.events).toEqual([
      { contract: "InvoiceRegistry", eventName: "InvoiceVoided", args: { invoiceId: id, reason: 2 } },
    ]);
    expect((await p.invoice(id)).status).toBe(STATUS.voided);
    expect(await p.ownerOf(id)).toBe(a.provider); // never burned
    expect(await expectRevert(p.send(a.caller, "SettlementEngine", "settle", [id]), "InvoiceNotIssued")).toEqual([id]);
    await expectRevert(
      p.send(a.caller, "SettlementEngine", "schedule", [id, (await p.now()) + 10n]),
      "InvoiceNotIssued",
    );
    await expectRevert(p.send(a.provider, "InvoiceRegistry", "voidInvoice", [id, 1]), "InvoiceNotIssued");
    await expectRevert(p.send(a.provider, "InvoiceRegistry", "createBundle", ["v", [id]]), "InvoiceNotBundleable");
  });

  it("reverts: UnknownInvoice, OnlyInvoiceProvider (even for the holder), InvalidVoidReason, InvoiceNotIssued once scheduled or settled", async () => {
    const id = await issueB();
    expect(
      await expectRevert(p.send(a.provider, "InvoiceRegistry", "voidInvoice", [99n, 1]), "UnknownInvoice"),
    ).toEqual([99n]);
    expect(
      await expectRevert(p.send(a.caller, "InvoiceRegistry", "voidInvoice", [id, 1]), "OnlyInvoiceProvider"),
    ).toEqual([id, a.caller]);
    await p.send(a.provider, "InvoiceRegistry", "transferFrom", [a.provider, a.buyer, id]);
    await expectRevert(p.send(a.buyer, "InvoiceRegistry", "voidInvoice", [id, 1]), "OnlyInvoiceProvider");
    for (const reason of [0, 4]) {
      const args = await expectRevert(
        p.send(a.provider, "InvoiceRegistry", "voidInvoice", [id, reason]),
        "InvalidVoidReason",
      );
      expect(args).toEqual([reason]);
    }
    const scheduled = await issueB();
    await p.send(a.caller, "SettlementEngine", "schedule", [scheduled, (await p.now()) + 100n]);
    await expectRevert(p.send(a.provider, "InvoiceRegistry", "voidInvoice", [scheduled, 1]), "InvoiceNotIssued");
    const settled = await issueB();
    await p.send(a.caller, "SettlementEngine", "settle", [settled]);
    await expectRevert(p.send(a.provider, "InvoiceRegistry", "voidInvoice", [settled, 1]), "InvoiceNotIssued");
    // The provider still voids the invoice it sold (reason 3), since only it may.
    await p.send(a.provider, "InvoiceRegistry", "voidInvoice", [id, 3]);
  });
});

describe("InvoiceRegistry: holders and bundles", () => {
  it("an invoice sold before settlement pays the holder's share to its new owner", async () => {
    const id = await issueB({ shares: [{ contributor: a.router, role: 3, shareBps: 1_000 }] });
    const transfer = await p.send(a.provider, "InvoiceRegistry", "transferFrom", [a.provider, a.buyer, id]);
    expect(transfer.events).toEqual([
      { contract: "InvoiceRegistry", eventName: "Transfer", args: { from: a.provider, to: a.buyer, tokenId: id } },
    ]);
    const { events } = await p.send(a.caller, "SettlementEngine", "settle", [id]);
    expect(named(events, "InvoiceSettled")[0].args.holder).toBe(a.buyer);
    // distributed = 2e15 - 5% = 1.9e15; router 10% = 1.9e14; holder the rest = 1.71e15
    expect(named(events, "PayoutCredited").map((e) => e.args)).toEqual([
      { invoiceId: id, account: a.router, role: 3, amount: 190_000_000_000_000n },
      { invoiceId: id, account: a.buyer, role: 4, amount: 1_710_000_000_000_000n },
    ]);
    expect(await p.claimable(a.buyer)).toBe(1_710_000_000_000_000n);
    expect(await p.claimable(a.provider)).toBe(0n);
  });

  it("createBundle: BundleCreated; EmptyBundle, UnknownInvoice, OnlyInvoiceOwner, InvoiceNotBundleable, InvoiceInBundle", async () => {
    const [i1, i2, i3, i4, i5] = [await issueB(), await issueB(), await issueB(), await issueB(), await issueB()];
    const sent = await p.send(a.provider, "InvoiceRegistry", "createBundle", ["Q1 receivables", [i1, i2]]);
    expect(sent.events).toEqual([
      {
        contract: "InvoiceRegistry",
        eventName: "BundleCreated",
        args: { bundleId: 1n, owner: a.provider, name: "Q1 receivables", invoiceIds: [i1, i2] },
      },
    ]);
    expect(await p.read("InvoiceRegistry", "bundleOf", [1n])).toEqual([a.provider, true, [i1, i2]]);
    expect((await p.invoice(i1)).bundleId).toBe(1n);
    expect((await p.invoice(i3)).bundleId).toBe(0n);

    const create = (from: Address, ids: bigint[]) => p.send(from, "InvoiceRegistry", "createBundle", ["b", ids]);
    await expectRevert(create(a.provider, []), "EmptyBundle");
    expect(await expectRevert(create(a.provider, [i3, 99n]), "UnknownInvoice")).toEqual([99n]);
    expect(await expectRevert(create(a.buyer, [i3]), "OnlyInvoiceOwner")).toEqual([i3, a.buyer]);
    expect(await expectRevert(create(a.provider, [i3, i1]), "InvoiceInBundle")).toEqual([i1, 1n]);
    expect(await expectRevert(create(a.provider, [i3, i3]), "InvoiceInBundle")).toEqual([i3, 2n]);
    await p.send(a.provider, "InvoiceRegistry", "voidInvoice", [i4, 1]);
    expect(await expectRevert(create(a.provider, [i4]), "InvoiceNotBundleable")).toEqual([i4]);
    await p.send(a.caller, "SettlementEngine", "settle", [i5]);
    expect(await expectRevert(create(a.provider, [i5]), "InvoiceNotBundleable")).toEqual([i5]);
    // A scheduled invoice can be bundled.
    await p.send(a.caller, "SettlementEngine", "schedule", [i3, (await p.now()) + 100n]);
    const second = await create(a.provider, [i3]);
    expect(second.events[0].args.bundleId).toBe(2n);
  });

  it("a bundled invoice cannot be transferred alone nor voided (InvoiceInBundle)", async () => {
    const [i1, i2] = [await issueB(), await issueB()];
    await p.send(a.provider, "InvoiceRegistry", "createBundle", ["b", [i1, i2]]);
    const args = await expectRevert(
      p.send(a.provider, "InvoiceRegistry", "transferFrom", [a.provider, a.buyer, i1]),
      "InvoiceInBundle",
    );
    expect(args).toEqual([i1, 1n]);
    await expectRevert(
      p.send(a.provider, "InvoiceRegistry", "safeTransferFrom", [a.provider, a.buyer, i2]),
      "InvoiceInBundle",
    );
    await p.send(a.provider, "InvoiceRegistry", "approve", [a.buyer, i1]);
    await expectRevert(
      p.send(a.buyer, "InvoiceRegistry", "transferFrom", [a.provider, a.buyer, i1]),
      "InvoiceInBundle",
    );
    expect(
      await expectRevert(p.send(a.provider, "InvoiceRegistry", "voidInvoice", [i1, 1]), "InvoiceInBundle"),
    ).toEqual([i1, 1n]);
    expect(await p.ownerOf(i1)).toBe(a.provider);
  });

  it("transferBundle moves every member (one Transfer each, then BundleTransferred); a member settled while bundled pays the bundle's owner", async () => {
    const [i1, i2, i3] = [await issueB(), await issueB(), await issueB()];
    await p.send(a.provider, "InvoiceRegistry", "createBundle", ["b", [i1, i2, i3]]);
    const sent = await p.send(a.provider, "InvoiceRegistry", "transferBundle", [1n, a.buyer]);
    expect(sent.events).toEqual([
      { contract: "InvoiceRegistry", eventName: "Transfer", args: { from: a.provider, to: a.buyer, tokenId: i1 } },
      { contract: "InvoiceRegistry", eventName: "Transfer", args: { from: a.provider, to: a.buyer, tokenId: i2 } },
      { contract: "InvoiceRegistry", eventName: "Transfer", args: { from: a.provider, to: a.buyer, tokenId: i3 } },
      {
        contract: "InvoiceRegistry",
        eventName: "BundleTransferred",
        args: { bundleId: 1n, from: a.provider, to: a.buyer },
      },
    ]);
    for (const id of [i1, i2, i3]) expect(await p.ownerOf(id)).toBe(a.buyer);
    expect(await p.read("InvoiceRegistry", "bundleOf", [1n])).toEqual([a.buyer, true, [i1, i2, i3]]);

    expect(
      await expectRevert(p.send(a.provider, "InvoiceRegistry", "transferBundle", [1n, a.provider]), "OnlyBundleOwner"),
    ).toEqual([1n, a.provider]);
    expect(
      await expectRevert(p.send(a.buyer, "InvoiceRegistry", "transferBundle", [9n, a.buyer]), "UnknownBundle"),
    ).toEqual([9n]);
    await expectRevert(p.send(a.buyer, "InvoiceRegistry", "transferBundle", [1n, zeroAddress]), "ZeroAddress");

    // Settled while bundled: the holder's share goes to the bundle's owner; status moves, the bundle stays.
    const { events } = await p.send(a.caller, "SettlementEngine", "settle", [i1]);
    expect(named(events, "InvoiceSettled")[0].args).toMatchObject({
      holder: a.buyer,
      distributed: 1_900_000_000_000_000n,
    });
    expect(named(events, "PayoutCredited")[0].args).toEqual({
      invoiceId: i1,
      account: a.buyer,
      role: 4,
      amount: 1_900_000_000_000_000n,
    });
    expect(await p.invoice(i1)).toMatchObject({ status: STATUS.settled, bundleId: 1n });
    // Scheduled while bundled, then the bundle moves again.
    await p.send(a.caller, "SettlementEngine", "schedule", [i2, (await p.now()) + 50n]);
    expect(await p.invoice(i2)).toMatchObject({ status: STATUS.scheduled, bundleId: 1n });
    await p.send(a.buyer, "InvoiceRegistry", "transferBundle", [1n, a.stranger]);
    await p.increaseTime(50n);
    const due = await p.send(a.stranger, "SettlementEngine", "settleDue", [[i2]]);
    expect(named(due.events, "PayoutCredited")[0].args).toMatchObject({ account: a.stranger, role: 4 });
    expect(await p.claimable(a.buyer)).toBe(1_900_000_000_000_000n);
    expect(await p.claimable(a.stranger)).toBe(1_900_000_000_000_000n);
  });

  it("dissolveBundle frees the members, which stay with the owner; BundleNotActive afterwards; OnlyBundleOwner", async () => {
    const [i1, i2] = [await issueB(), await issueB()];
    await p.send(a.provider, "InvoiceRegistry", "createBundle", ["b", [i1, i2]]);
    await p.send(a.provider, "InvoiceRegistry", "transferBundle", [1n, a.buyer]);
    expect(
      await expectRevert(p.send(a.provider, "InvoiceRegistry", "dissolveBundle", [1n]), "OnlyBundleOwner"),
    ).toEqual([1n, a.provider]);
    await expectRevert(p.send(a.buyer, "InvoiceRegistry", "dissolveBundle", [5n]), "UnknownBundle");
    const sent = await p.send(a.buyer, "InvoiceRegistry", "dissolveBundle", [1n]);
    expect(sent.events).toEqual([
      { contract: "InvoiceRegistry", eventName: "BundleDissolved", args: { bundleId: 1n } },
    ]);
    for (const id of [i1, i2]) {
      expect(await p.ownerOf(id)).toBe(a.buyer);
      expect((await p.invoice(id)).bundleId).toBe(0n);
    }
    expect(await p.read("InvoiceRegistry", "bundleOf", [1n])).toEqual([a.buyer, false, [i1, i2]]);
    expect(await expectRevert(p.send(a.buyer, "InvoiceRegistry", "dissolveBundle", [1n]), "BundleNotActive")).toEqual([
      1n,
    ]);
    await expectRevert(p.send(a.buyer, "InvoiceRegistry", "transferBundle", [1n, a.stranger]), "BundleNotActive");
    // Free again: transferable alone, voidable by the provider, bundleable anew.
    await p.send(a.buyer, "InvoiceRegistry", "transferFrom", [a.buyer, a.stranger, i1]);
    expect(await p.ownerOf(i1)).toBe(a.stranger);
    await p.send(a.provider, "InvoiceRegistry", "voidInvoice", [i2, 1]);
    const again = await p.send(a.stranger, "InvoiceRegistry", "createBundle", ["c", [i1]]);
    expect(again.events[0].args).toMatchObject({ bundleId: 2n, owner: a.stranger, invoiceIds: [i1] });
  });
});

describe("InvoiceRegistry: settlement-engine hooks and wiring", () => {
  it("markScheduled and markSettled: settlement engine only (OnlySettlementEngine); setSettlementEngine once, owner only", async () => {
    const id = await issueB();
    for (const who of [a.owner, a.provider, a.caller]) {
      for (const fn of ["markScheduled", "markSettled"] as const) {
        expect(await expectRevert(p.send(who, "InvoiceRegistry", fn, [id]), "OnlySettlementEngine")).toEqual([who]);
      }
    }
    expect((await p.invoice(id)).status).toBe(STATUS.issued);
    await p.impersonate(p.addresses.SettlementEngine);
    await p.send(p.addresses.SettlementEngine, "InvoiceRegistry", "markScheduled", [id]);
    expect((await p.invoice(id)).status).toBe(STATUS.scheduled);
    await p.send(p.addresses.SettlementEngine, "InvoiceRegistry", "markSettled", [id]);
    expect((await p.invoice(id)).status).toBe(STATUS.settled);

    expect(await p.read("InvoiceRegistry", "settlementEngine", [])).toBe(p.addresses.SettlementEngine);
    const args = await expectRevert(
      p.send(a.stranger, "InvoiceRegistry", "setSettlementEngine", [a.stranger]),
      "OwnableUnauthorizedAccount",
    );
    expect(args).toEqual([a.stranger]);
    await expectRevert(p.send(a.owner, "InvoiceRegistry", "setSettlementEngine", [zeroAddress]), "ZeroAddress");
    await expectRevert(
      p.send(a.owner, "InvoiceRegistry", "setSettlementEngine", [a.stranger]),
      "SettlementEngineAlreadySet",
    );
  });
});

// ================================================================ SettlementEngine

describe("SettlementEngine: governance", () => {
  it("setTaxRate: owner only, at most 2_000 (TaxRateAboveMax), TaxRateUpdated", async () => {
    expect(await p.read("SettlementEngine", "taxRateBps", [])).toBe(500);
    const sent = await p.send(a.owner, "SettlementEngine", "setTaxRate", [2_000]);
    expect(sent.events).toEqual([
      { contract: "SettlementEngine", eventName: "TaxRateUpdated", args: { oldBps: 500, newBps: 2_000 } },
    ]);
    expect(await p.read("SettlementEngine", "taxRateBps", [])).toBe(2_000);
    expect(await expectRevert(p.send(a.owner, "SettlementEngine", "setTaxRate", [2_001]), "TaxRateAboveMax")).toEqual([
      2_001,
    ]);
    expect(
      await expectRevert(p.send(a.stranger, "SettlementEngine", "setTaxRate", [0]), "OwnableUnauthorizedAccount"),
    ).toEqual([a.stranger]);
    await p.send(a.owner, "SettlementEngine", "setTaxRate", [0]);
    expect(await p.read("SettlementEngine", "taxRateBps", [])).toBe(0);
  });

  it("setTreasury: owner only, not zero; later tax and slashed OPEN go to the new treasury", async () => {
    const sent = await p.send(a.owner, "SettlementEngine", "setTreasury", [a.stranger]);
    expect(sent.events).toEqual([
      {
        contract: "SettlementEngine",
        eventName: "TreasuryUpdated",
        args: { oldTreasury: a.treasury, newTreasury: a.stranger },
      },
    ]);
    expect(await p.read("SettlementEngine", "treasury", [])).toBe(a.stranger);
    await expectRevert(p.send(a.owner, "SettlementEngine", "setTreasury", [zeroAddress]), "ZeroAddress");
    expect(
      await expectRevert(p.send(a.caller, "SettlementEngine", "setTreasury", [a.caller]), "OwnableUnauthorizedAccount"),
    ).toEqual([a.caller]);

    const id = await issueB({ latencyMs: 900 }); // breach: refund 10% = 2e14, paid 1.8e15, tax 5% = 9e13
    await p.send(a.caller, "SettlementEngine", "settle", [id]);
    expect(await p.claimable(a.stranger)).toBe(90_000_000_000_000n);
    expect(await p.claimable(a.treasury)).toBe(0n);
    expect(await p.balanceOf(a.stranger)).toBe(INITIAL_OPEN + 200_000_000_000_000n);
    expect(await p.balanceOf(a.treasury)).toBe(0n);
  });
});

describe("SettlementEngine: real-time settlement", () => {
  async function issueA(latencyMs: number, shares: Share[]) {
    const record = p.record({
      caller: a.caller,
      modelId: MODEL_A,
      inputTokens: latencyMs > SLO_A ? 2000 : 1200,
      outputTokens: latencyMs > SLO_A ? 1000 : 345,
      latencyMs,
      feeMultiplierBps: latencyMs > SLO_A ? 10_000 : 11_111,
    });
    return (await p.issue(a.provider, record, shares)).invoiceId;
  }

  it("the caller pays the amount; tax, each share rounded down, the rest (dust included) to the holder", async () => {
    const id = await issueA(800, [
      { contributor: a.dataProvider, role: 1, shareBps: 2_500 },
      { contributor: a.optimizer, role: 2, shareBps: 1_333 },
      { contributor: a.router, role: 3, shareBps: 777 },
    ]);
    // amount = 5_393_013_457_988_591 (see the issue test); SLO met: paid = amount
    // tax = paid * 500 / 10_000 = 269_650_672_899_429 (…429.55 rounded down)
    // distributed = 5_393_013_457_988_591 - 269_650_672_899_429 = 5_123_362_785_089_162
    // shares: * 2_500 / 10_000 = 1_280_840_696_272_290 (.5 dropped); * 1_333 = 682_944_259_252_385;
    //         * 777 = 398_085_288_401_427; holder = 5_123_362_785_089_162 - 2_361_870_243_926_102
    const { events } = await p.send(a.caller, "SettlementEngine", "settle", [id]);
    expect(names(events)).toEqual([
      "OpenToken.Transfer",
      "SettlementEngine.InvoiceSettled",
      "SettlementEngine.PayoutCredited",
      "SettlementEngine.PayoutCredited",
      "SettlementEngine.PayoutCredited",
      "SettlementEngine.PayoutCredited",
    ]);
    expect(events[0].args).toEqual({ from: a.caller, to: p.addresses.SettlementEngine, value: 5_393_013_457_988_591n });
    expect(events[1].args).toEqual({
      invoiceId: id,
      payer: a.caller,
      holder: a.provider,
      paid: 5_393_013_457_988_591n,
      tax: 269_650_672_899_429n,
      refund: 0n,
      distributed: 5_123_362_785_089_162n,
    });
    expect(events.slice(2).map((e) => e.args)).toEqual([
      { invoiceId: id, account: a.dataProvider, role: 1, amount: 1_280_840_696_272_290n },
      { invoiceId: id, account: a.optimizer, role: 2, amount: 682_944_259_252_385n },
      { invoiceId: id, account: a.router, role: 3, amount: 398_085_288_401_427n },
      { invoiceId: id, account: a.provider, role: 4, amount: 2_761_492_541_163_060n },
    ]);
    expect(await p.balanceOf(a.caller)).toBe(INITIAL_OPEN - 5_393_013_457_988_591n);
    expect(await p.balanceOf(p.addresses.SettlementEngine)).toBe(5_393_013_457_988_591n);
    expect(await p.claimable(a.treasury)).toBe(269_650_672_899_429n);
    expect(await p.claimable(a.dataProvider)).toBe(1_280_840_696_272_290n);
    expect(await p.claimable(a.optimizer)).toBe(682_944_259_252_385n);
    expect(await p.claimable(a.router)).toBe(398_085_288_401_427n);
    expect(await p.claimable(a.provider)).toBe(2_761_492_541_163_060n);
    expect((await p.invoice(id)).status).toBe(STATUS.settled);
    expect(await p.stakeOf(a.provider)).toBe(OPEN_1000);
  });

  it("SLO breach: refund kept by the caller, tax at the rate of issuance, then Slashed (reason 1, invoiceId, evidence 0)", async () => {
    const id = await issueA(801, [{ contributor: a.router, role: 3, shareBps: 3_000 }]);
    await p.send(a.owner, "SettlementEngine", "setTaxRate", [1_000]); // after issuance: does not apply
    // amount = (2000 + 1000) * 3_141_592_653_589_793 / 1000 = 9_424_777_960_769_379
    // refund = amount * 2_500 / 10_000 = 2_356_194_490_192_344; paid = 7_068_583_470_577_035
    // tax = paid * 500 / 10_000 = 353_429_173_528_851; distributed = 6_715_154_297_048_184
    // router = distributed * 3_000 / 10_000 = 2_014_546_289_114_455; holder = 4_700_608_007_933_729
    const { events } = await p.send(a.caller, "SettlementEngine", "settle", [id]);
    expect(names(events)).toEqual([
      "OpenToken.Transfer",
      "SettlementEngine.InvoiceSettled",
      "SettlementEngine.PayoutCredited",
      "SettlementEngine.PayoutCredited",
      "OpenToken.Transfer",
      "StakeManager.Slashed",
    ]);
    expect(events[0].args).toEqual({ from: a.caller, to: p.addresses.SettlementEngine, value: 7_068_583_470_577_035n });
    expect(events[1].args).toEqual({
      invoiceId: id,
      payer: a.caller,
      holder: a.provider,
      paid: 7_068_583_470_577_035n,
      tax: 353_429_173_528_851n,
      refund: 2_356_194_490_192_344n,
      distributed: 6_715_154_297_048_184n,
    });
    expect(events.slice(2, 4).map((e) => e.args)).toEqual([
      { invoiceId: id, account: a.router, role: 3, amount: 2_014_546_289_114_455n },
      { invoiceId: id, account: a.provider, role: 4, amount: 4_700_608_007_933_729n },
    ]);
    expect(events[4].args).toEqual({ from: p.addresses.StakeManager, to: a.treasury, value: 2_356_194_490_192_344n });
    expect(events[5].args).toEqual({
      staker: a.provider,
      invoiceId: id,
      reason: 1,
      amount: 2_356_194_490_192_344n,
      remainingStake: 999_997_643_805_509_807_656n, // 1000 OPEN - refund
      evidence: ZERO_HASH,
    });
    expect(await p.balanceOf(a.caller)).toBe(INITIAL_OPEN - 7_068_583_470_577_035n);
    expect(await p.stakeOf(a.provider)).toBe(999_997_643_805_509_807_656n);
    expect(await p.balanceOf(a.treasury)).toBe(2_356_194_490_192_344n);
    expect(await p.claimable(a.treasury)).toBe(353_429_173_528_851n);
  });

  it("SLO breach with the provider's stake all pending: the slash takes the request, unstake pays the rest", async () => {
    const id = await issueB({ latencyMs: 501 });
    const request = await p.send(a.provider, "StakeManager", "requestUnstake", [OPEN_1000]);
    const { events } = await p.send(a.caller, "SettlementEngine", "settle", [id]);
    // refund = 2e15 * 1_000 / 10_000 = 2e14
    expect(named(events, "Slashed")[0].args).toEqual({
      staker: a.provider,
      invoiceId: id,
      reason: 1,
      amount: 200_000_000_000_000n,
      remainingStake: 0n,
      evidence: ZERO_HASH,
    });
    expect(await p.read("StakeManager", "pendingUnstake", [a.provider])).toBe(999_999_800_000_000_000_000n);
    await p.setNextTimestamp(request.timestamp + COOLDOWN);
    const unstaked = await p.send(a.provider, "StakeManager", "unstake", [1n]);
    expect(named(unstaked.events, "Unstaked")[0].args.amount).toBe(999_999_800_000_000_000_000n);
    expect(await p.balanceOf(a.provider)).toBe(INITIAL_OPEN - 200_000_000_000_000n);
  });

  it("SLO breach when the provider has no stake left: Slashed with amount 0, refund still kept by the caller", async () => {
    await p.send(a.provider, "StakeManager", "requestUnstake", [OPEN_1000]);
    await p.increaseTime(COOLDOWN);
    await p.send(a.provider, "StakeManager", "unstake", [1n]);
    const id = await issueB({ latencyMs: 501 }); // issuing does not check the stake
    const { events } = await p.send(a.caller, "SettlementEngine", "settle", [id]);
    expect(names(events)).toEqual([
      "OpenToken.Transfer",
      "SettlementEngine.InvoiceSettled",
      "SettlementEngine.PayoutCredited",
      "StakeManager.Slashed",
    ]);
    expect(events[1].args).toMatchObject({ paid: 1_800_000_000_000_000n, refund: 200_000_000_000_000n });
    expect(events[3].args).toEqual({
      staker: a.provider,
      invoiceId: id,
      reason: 1,
      amount: 0n,
      remainingStake: 0n,
      evidence: ZERO_HASH,
    });
    expect(await p.balanceOf(a.caller)).toBe(INITIAL_OPEN - 1_800_000_000_000_000n);
    expect(await p.balanceOf(a.treasury)).toBe(0n);
  });

  it("the holder's PayoutCredited is emitted even when it is 0", async () => {
    const id = await issueB({
      shares: [
        { contributor: a.dataProvider, role: 1, shareBps: 5_000 },
        { contributor: a.optimizer, role: 2, shareBps: 5_000 },
      ],
    });
    const { events } = await p.send(a.caller, "SettlementEngine", "settle", [id]);
    // distributed 1.9e15, split in two halves of 9.5e14: nothing left for the holder
    expect(named(events, "PayoutCredited").map((e) => e.args)).toEqual([
      { invoiceId: id, account: a.dataProvider, role: 1, amount: 950_000_000_000_000n },
      { invoiceId: id, account: a.optimizer, role: 2, amount: 950_000_000_000_000n },
      { invoiceId: id, account: a.provider, role: 4, amount: 0n },
    ]);
  });

  it("settle reverts: OnlyInvoiceCaller, InvoiceNotIssued (unknown, settled, scheduled)", async () => {
    const id = await issueB();
    expect(await expectRevert(p.send(a.stranger, "SettlementEngine", "settle", [id]), "OnlyInvoiceCaller")).toEqual([
      id,
      a.stranger,
    ]);
    await expectRevert(p.send(a.provider, "SettlementEngine", "settle", [id]), "OnlyInvoiceCaller");
    expect(await expectRevert(p.send(a.caller, "SettlementEngine", "settle", [99n]), "InvoiceNotIssued")).toEqual([
      99n,
    ]);
    await p.send(a.caller, "SettlementEngine", "settle", [id]);
    await expectRevert(p.send(a.caller, "SettlementEngine", "settle", [id]), "InvoiceNotIssued");
    const scheduled = await issueB();
    await p.send(a.caller, "SettlementEngine", "schedule", [scheduled, (await p.now()) + 100n]);
    await expectRevert(p.send(a.caller, "SettlementEngine", "settle", [scheduled]), "InvoiceNotIssued");
    expect(await p.balanceOf(a.caller)).toBe(INITIAL_OPEN - 2n * AMOUNT_B);
  });
});

describe("SettlementEngine: scheduled settlement", () => {
  it("schedule escrows the full amount; settleAt may be now, not earlier; OnlyInvoiceCaller, InvoiceNotIssued", async () => {
    const [i1, i2] = [await issueB({ latencyMs: 900 }), await issueB()];
    const t = (await p.now()) + 10n;
    await p.setNextTimestamp(t);
    const early = await expectRevert(p.send(a.caller, "SettlementEngine", "schedule", [i1, t - 1n]), "SettleAtInPast");
    expect(early).toEqual([t - 1n, t]);
    expect(
      await expectRevert(p.send(a.stranger, "SettlementEngine", "schedule", [i1, t]), "OnlyInvoiceCaller"),
    ).toEqual([i1, a.stranger]);
    const sent = await p.send(a.caller, "SettlementEngine", "schedule", [i1, t]);
    expect(sent.timestamp).toBe(t);
    expect(names(sent.events)).toEqual(["OpenToken.Transfer", "SettlementEngine.SettlementScheduled"]);
    // The full amount, although the SLO was missed: the refund comes back at settlement.
    expect(sent.events[0].args).toEqual({ from: a.caller, to: p.addresses.SettlementEngine, value: AMOUNT_B });
    expect(sent.events[1].args).toEqual({ invoiceId: i1, payer: a.caller, settleAt: t, escrowed: AMOUNT_B });
    expect(await p.read("SettlementEngine", "escrows", [i1])).toEqual([a.caller, t, AMOUNT_B]);
    expect((await p.invoice(i1)).status).toBe(STATUS.scheduled);
    await expectRevert(p.send(a.caller, "SettlementEngine", "schedule", [i1, t + 100n]), "InvoiceNotIssued");
    await p.send(a.caller, "SettlementEngine", "schedule", [i2, t + 1_000_000n]);
    expect(await p.balanceOf(a.caller)).toBe(INITIAL_OPEN - 2n * AMOUNT_B);
    expect(await p.balanceOf(p.addresses.SettlementEngine)).toBe(2n * AMOUNT_B);
  });

  it("settleDue skips ids not yet due or not scheduled, settles due ones (refund back to the payer), across time travel", async () => {
    const i1 = await issueB();
    const i2 = await issueB();
    const i3 = await issueB({ latencyMs: 900 }); // breach: refund 2e14
    const i4 = await issueB(); // never scheduled
    const s1 = await p.send(a.caller, "SettlementEngine", "schedule", [i1, (await p.now()) + 100n]);
    const t1 = s1.timestamp + 100n;
    const t2 = s1.timestamp + 1_000n;
    await p.send(a.caller, "SettlementEngine", "schedule", [i2, t2]);
    await p.send(a.caller, "SettlementEngine", "schedule", [i3, t1]);
    await p.send(a.provider, "InvoiceRegistry", "transferFrom", [a.provider, a.buyer, i1]); // the holder at settlement
    expect(await p.balanceOf(a.caller)).toBe(INITIAL_OPEN - 3n * AMOUNT_B);

    await p.setNextTimestamp(t1 - 1n);
    const none = await p.send(a.stranger, "SettlementEngine", "settleDue", [[i1, i2, i3, i4, 99n]]);
    expect(none.events).toEqual([]);

    await p.setNextTimestamp(t1);
    const { events } = await p.send(a.stranger, "SettlementEngine", "settleDue", [[i1, i2, i3, i4, 99n]]);
    expect(names(events)).toEqual([
      "SettlementEngine.InvoiceSettled",
      "SettlementEngine.PayoutCredited",
      "OpenToken.Transfer",
      "SettlementEngine.InvoiceSettled",
      "SettlementEngine.PayoutCredited",
      "OpenToken.Transfer",
      "StakeManager.Slashed",
    ]);
    expect(events[0].args).toEqual({
      invoiceId: i1,
      payer: a.caller,
      holder: a.buyer,
      paid: AMOUNT_B,
      tax: 100_000_000_000_000n,
      refund: 0n,
      distributed: 1_900_000_000_000_000n,
    });
    expect(events[1].args).toEqual({ invoiceId: i1, account: a.buyer, role: 4, amount: 1_900_000_000_000_000n });
    expect(events[2].args).toEqual({ from: p.addresses.SettlementEngine, to: a.caller, value: 200_000_000_000_000n });
    expect(events[3].args).toEqual({
      invoiceId: i3,
      payer: a.caller,
      holder: a.provider,
      paid: 1_800_000_000_000_000n,
      tax: 90_000_000_000_000n,
      refund: 200_000_000_000_000n,
      distributed: 1_710_000_000_000_000n,
    });
    expect(events[4].args).toEqual({ invoiceId: i3, account: a.provider, role: 4, amount: 1_710_000_000_000_000n });
    expect(events[5].args).toEqual({ from: p.addresses.StakeManager, to: a.treasury, value: 200_000_000_000_000n });
    expect(events[6].args).toEqual({
      staker: a.provider,
      invoiceId: i3,
      reason: 1,
      amount: 200_000_000_000_000n,
      remainingStake: 999_999_800_000_000_000_000n,
      evidence: ZERO_HASH,
    });
    const statuses = async () => Promise.all([i1, i2, i3, i4].map(async (id) => (await p.invoice(id)).status));
    expect(await statuses()).toEqual([STATUS.settled, STATUS.scheduled, STATUS.settled, STATUS.issued]);
    expect(await p.balanceOf(a.caller)).toBe(INITIAL_OPEN - 3n * AMOUNT_B + 200_000_000_000_000n);
    expect(await p.read("SettlementEngine", "escrows", [i1])).toEqual([zeroAddress, 0n, 0n]);
    // The engine holds exactly what it owes: claimables (1.9e15 + 1.71e15 + tax 1.9e14) and i2's escrow (2e15).
    expect(await p.claimable(a.buyer)).toBe(1_900_000_000_000_000n);
    expect(await p.claimable(a.provider)).toBe(1_710_000_000_000_000n);
    expect(await p.claimable(a.treasury)).toBe(190_000_000_000_000n);
    expect(await p.balanceOf(p.addresses.SettlementEngine)).toBe(5_800_000_000_000_000n);

    // Settled ones are not settled twice.
    expect((await p.send(a.stranger, "SettlementEngine", "settleDue", [[i1, i3]])).events).toEqual([]);

    await p.increaseTime(t2 - (await p.now()));
    const late = await p.send(a.caller, "SettlementEngine", "settleDue", [[i2, i4]]);
    expect(names(late.events)).toEqual(["SettlementEngine.InvoiceSettled", "SettlementEngine.PayoutCredited"]);
    expect(late.events[0].args).toMatchObject({ invoiceId: i2, paid: AMOUNT_B, refund: 0n });
    expect(await statuses()).toEqual([STATUS.settled, STATUS.settled, STATUS.settled, STATUS.issued]);
    expect(await p.balanceOf(a.caller)).toBe(INITIAL_OPEN - 3n * AMOUNT_B + 200_000_000_000_000n);
    // i4 was never scheduled: its caller still settles it in real time.
    await p.send(a.caller, "SettlementEngine", "settle", [i4]);
    expect((await p.invoice(i4)).status).toBe(STATUS.settled);
  });
});

describe("SettlementEngine: claims", () => {
  it("claim pays all of claimable once, with EarningsClaimed; NothingToClaim otherwise; the treasury claims the tax", async () => {
    const id = await issueB({ shares: [{ contributor: a.router, role: 3, shareBps: 1_000 }] });
    await p.send(a.caller, "SettlementEngine", "settle", [id]);
    const second = await issueB();
    await p.send(a.caller, "SettlementEngine", "settle", [second]);
    // provider: 1.71e15 + 1.9e15; router 1.9e14; treasury 2 * 1e14
    expect(await p.claimable(a.provider)).toBe(3_610_000_000_000_000n);

    const claim = await p.send(a.provider, "SettlementEngine", "claim", []);
    expect(names(claim.events)).toEqual(["OpenToken.Transfer", "SettlementEngine.EarningsClaimed"]);
    expect(claim.events[0].args).toEqual({
      from: p.addresses.SettlementEngine,
      to: a.provider,
      value: 3_610_000_000_000_000n,
    });
    expect(claim.events[1].args).toEqual({ account: a.provider, amount: 3_610_000_000_000_000n });
    expect(await p.claimable(a.provider)).toBe(0n);
    expect(await p.balanceOf(a.provider)).toBe(INITIAL_OPEN - OPEN_1000 + 3_610_000_000_000_000n);
    expect(await expectRevert(p.send(a.provider, "SettlementEngine", "claim", []), "NothingToClaim")).toEqual([
      a.provider,
    ]);

    await p.send(a.router, "SettlementEngine", "claim", []);
    expect(await p.balanceOf(a.router)).toBe(INITIAL_OPEN + 190_000_000_000_000n);
    const tax = await p.send(a.treasury, "SettlementEngine", "claim", []);
    expect(named(tax.events, "EarningsClaimed")[0].args).toEqual({ account: a.treasury, amount: 200_000_000_000_000n });
    expect(await p.balanceOf(a.treasury)).toBe(200_000_000_000_000n);
    expect(await p.balanceOf(p.addresses.SettlementEngine)).toBe(0n);
    expect(await expectRevert(p.send(a.stranger, "SettlementEngine", "claim", []), "NothingToClaim")).toEqual([
      a.stranger,
    ]);
  });
});
