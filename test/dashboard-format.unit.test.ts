/** The dashboard's formatting and input parsing, without a browser. */
import { describe, expect, it } from "vitest";
import { exactOpen, formatOpen, formatPercent, parseInvoiceId, parseSearch, toCsv } from "../dashboard/src/format.js";

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
    expect(parseSearch(`0x${"ab".repeat(32)}`)).toEqual({ kind: "model", modelId: `0x${"ab".repeat(32)}` });
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
});
