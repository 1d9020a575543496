/**
 * Unit tests of the contributor figures' arithmetic (src/lib/attribution.ts), with numbers worked
 * out by hand from docs/rules.md ("Contributors and datasets"), not from the code under test.
 */
import { describe, expect, it } from "vitest";
import { attributionParts, earnedByRoleColumn } from "../src/lib/attribution.js";

describe("dataset attribution", () => {
  it("gives each use floor(D / k) and the remainder to position 0", () => {
    // 100 over 3 uses: 33 each, 1 left over for position 0.
    expect(attributionParts(100n, 3)).toEqual([34n, 33n, 33n]);
    expect(attributionParts(99n, 3)).toEqual([33n, 33n, 33n]);
    expect(attributionParts(7n, 1)).toEqual([7n]);
  });

  it("gives everything to position 0 when D is smaller than k, and zeros when D is 0", () => {
    expect(attributionParts(2n, 5)).toEqual([2n, 0n, 0n, 0n, 0n]);
    expect(attributionParts(0n, 2)).toEqual([0n, 0n]);
  });

  it("attributes nothing to anyone without a dataset use", () => {
    expect(attributionParts(1_000n, 0)).toEqual([]);
  });

  it("never attributes more or less than D", () => {
    for (const [d, k] of [
      [10n ** 18n + 7n, 7],
      [123_456_789n, 11],
      [5n, 4],
    ] as const) {
      expect(attributionParts(d, k).reduce((sum, part) => sum + part, 0n)).toBe(d);
    }
  });
});

describe("earned by role", () => {
  it("names the account column of each role, the tax as the treasury's", () => {
    expect([0, 1, 2, 3, 4].map(earnedByRoleColumn)).toEqual([
      "earnedAsTreasury",
      "earnedAsDataProvider",
      "earnedAsModelOptimizer",
      "earnedAsRouter",
      "earnedAsHolder",
    ]);
    expect(earnedByRoleColumn(5)).toBeNull();
  });
});
