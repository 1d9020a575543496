/** The dashboard's formatting and input parsing, without a browser. */
import { describe, expect, it } from "vitest";
import {
  exactOpen,
  formatOpen,
  formatPercent,
  parseDay,
  parseInvoiceId,
  parseSearch,
  periodLabel,
  periodStart,
  periodsOf,
  sumByPeriod,
  toCsv,
} from "../dashboard/src/format.js";

describe("dashboard formatting (no browser)", () => {
  it("rounds OPEN for reading and keeps every digit for CSV", () => {
    expect(formatOpen(0n)).toBe("0");
    expect(formatOpen(1_234_567_891_000_000_000_000_000n)).toBe("1,234,568");
    expect(formatOpen(12_345_678_900_000_000_000n)).toBe("12.35");
    expect(formatOpen(1_995_000_000_000_000_000n)).toBe("2.00");
    expect(formatOpen(12_345_000_000_000_000n)).toBe("0.01235");
    expect(formatOpen(999_960_000_000_000_000n)).toBe("1");
    expect(formatOpen(999_999_999_999n)).toBe("<0.000001");
    expect(formatOpen(-2_500_000_000_000_000_000n)).toBe("-2.50");
    expect(exactOpen(1n)).toBe("0.000000000000000001");
    expect(exactOpen(12_500_000_000_000_000_000n)).toBe("12.5");
    expect(exactOpen(-3n * 10n ** 18n)).toBe("-3");
    expect(formatPercent(0.9283)).toBe("92.8 %");
    expect(formatPercent(null)).toBe("–");
  });

  it("reads the search box: addresses, invoice ids, model ids, and explains mistakes", () => {
    expect(parseSearch(" 0xAbCdEf0000000000000000000000000000000001 ")).toEqual({
      kind: "account",
      address: "0xabcdef0000000000000000000000000000000001",
    });
    expect(parseSearch("#0042")).toEqual({ kind: "invoice", invoiceId: "42" });
    expect(parseSearch(`0x${"ab".repeat(32)}`)).toEqual({ kind: "hex", prefix: `0x${"ab".repeat(32)}`, suffix: "" });
    // Shortened ids as the pages show them: the start, or the start and the end.
    expect(parseSearch("0x3AB757")).toEqual({ kind: "hex", prefix: "0x3ab757", suffix: "" });
    expect(parseSearch("0x3ab757…c0De")).toEqual({ kind: "hex", prefix: "0x3ab757", suffix: "c0de" });
    expect(parseSearch("0x3ab757...c0de")).toEqual({ kind: "hex", prefix: "0x3ab757", suffix: "c0de" });
    expect(parseSearch("0x3ab75")).toMatchObject({ kind: "invalid", message: expect.stringMatching(/at least 6/) });
    expect(parseSearch("0")).toMatchObject({ kind: "invalid", message: expect.stringMatching(/start at 1/) });
    expect(parseSearch("0x1234")).toMatchObject({
      kind: "invalid",
      message: expect.stringMatching(/has 4 hex digits/),
    });
    expect(parseSearch("0xzz")).toMatchObject({ kind: "invalid", message: expect.stringMatching(/not hex/) });
    expect(parseSearch("alice")).toMatchObject({ kind: "invalid", message: expect.stringMatching(/neither/) });
    expect(parseSearch("")).toMatchObject({ kind: "invalid" });
    expect(parseInvoiceId(`1${"0".repeat(78)}`)).toMatchObject({ message: expect.stringMatching(/larger/) });
  });

  it("writes RFC 4180 CSV", () => {
    expect(toCsv(["a", "b"], [["1", 'say "hi", then go']])).toBe('a,b\r\n1,"say ""hi"", then go"\r\n');
  });

  it("sums days into ISO weeks and calendar months, exactly", () => {
    const day = (text: string) => parseDay(text) as number;
    // 2026-01-01 was a Thursday: its ISO week started on Monday 2025-12-29.
    expect(periodStart(day("2026-01-01"), "week")).toBe(day("2025-12-29"));
    expect(periodStart(day("2026-01-05"), "week")).toBe(day("2026-01-05"));
    expect(periodStart(day("2026-01-11"), "week")).toBe(day("2026-01-05"));
    expect(periodStart(day("2026-02-28"), "month")).toBe(day("2026-02-01"));
    expect(periodStart(day("2026-02-28"), "day")).toBe(day("2026-02-28"));
    expect(periodLabel(day("2026-01-05"), "week")).toBe("week of 2026-01-05");
    expect(periodLabel(day("2026-02-01"), "month")).toBe("2026-02");
    const range = { from: day("2026-01-30"), to: day("2026-02-02") };
    expect(periodsOf(range, "month")).toEqual([day("2026-01-01"), day("2026-02-01")]);
    expect(periodsOf(range, "week")).toEqual([day("2026-01-26"), day("2026-02-02")]);
    const rows = [
      { day: day("2026-01-30"), wei: 10n ** 30n + 1n },
      { day: day("2026-01-31"), wei: 2n },
      { day: day("2026-02-02"), wei: 5n },
      { day: day("2026-03-01"), wei: 7n }, // outside the periods: left out
    ];
    const sums = sumByPeriod(rows, {
      day: (row) => row.day,
      amounts: (row) => [row.wei, 1n],
      width: 2,
      periods: periodsOf(range, "month"),
      interval: "month",
    });
    expect(sums).toEqual([
      [10n ** 30n + 3n, 2n],
      [5n, 1n],
    ]);
  });
});
