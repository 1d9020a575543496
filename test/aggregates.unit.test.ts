import { describe, expect, it } from "vitest";
import { MAX_DAYS, parseProtocolDailyQuery, totalsByDay } from "../src/api/daily-totals.js";

const parse = (query: string, today = 20_500) => parseProtocolDailyQuery(new URLSearchParams(query), today);

describe("GET /aggregates/protocol-daily: query and totals", () => {
  it("reads from, to and chainId, with the last 30 days by default", () => {
    expect(parse("")).toEqual({ from: 20_471, to: 20_500, chainId: undefined });
    expect(parse("from=20454")).toEqual({ from: 20_454, to: 20_483, chainId: undefined });
    expect(parse("to=10")).toEqual({ from: 0, to: 10, chainId: undefined });
    expect(parse("from=1&to=2&chainId=8453")).toEqual({ from: 1, to: 2, chainId: 8453 });
  });

  it("refuses what it cannot read, naming the parameter", () => {
    expect(() => parse("chain=1")).toThrow(/unknown parameter "chain"/);
    expect(() => parse("from=1&from=2")).toThrow(/"from" is given twice/);
    expect(() => parse("from=-1")).toThrow(/"from" must be an integer from 0/);
    expect(() => parse("chainId=0")).toThrow(/"chainId" must be an integer from 1/);
    expect(() => parse("from=5&to=4")).toThrow(/"from" \(5\) is after "to" \(4\)/);
    expect(() => parse(`from=0&to=${MAX_DAYS}`)).toThrow(/at most 3660 days/);
  });

  it("adds each day's rows over the chains", () => {
    const row = (chainId: number, day: number, invoices: number, gross: bigint) => ({
      chainId,
      day,
      invoices,
      gross,
      settled: 1,
      paid: 5n,
      tax: 1n,
      refunds: 0n,
      slashed: 2n,
    });
    expect(totalsByDay([row(1, 11, 3, 100n), row(8453, 10, 1, 7n), row(8453, 11, 2, 50n)])).toEqual([
      { day: 10, chains: [8453], invoices: 1, gross: 7n, settled: 1, paid: 5n, tax: 1n, refunds: 0n, slashed: 2n },
      {
        day: 11,
        chains: [1, 8453],
        invoices: 5,
        gross: 150n,
        settled: 2,
        paid: 10n,
        tax: 2n,
        refunds: 0n,
        slashed: 4n,
      },
    ]);
  });
});
