/**
 * Unit tests of the statement's query and arithmetic (src/api/statement-core.ts), with figures
 * worked out by hand from docs/rules.md ("A contributor's statement").
 */
import { describe, expect, it } from "vitest";
import {
  buildStatement,
  formatOpen,
  MAX_STATEMENT_SECONDS,
  parseStatementQuery,
  type StatementLine,
  statementCsv,
  statementJson,
} from "../src/api/statement-core.js";

const ADDRESS = "0xF513aB00000000000000000000000000000A421f";
const params = (query: string) => new URLSearchParams(query);

describe("statement query", () => {
  it("reads the address in lowercase, the period and the format (json by default)", () => {
    expect(parseStatementQuery(ADDRESS, params("from=10&to=20"))).toEqual({
      address: ADDRESS.toLowerCase(),
      from: 10,
      to: 20,
      format: "json",
      chainId: undefined,
    });
    expect(parseStatementQuery(ADDRESS, params("from=0&to=0&format=csv&chainId=31337")).format).toBe("csv");
  });

  it("refuses bad input with a message naming the parameter", () => {
    expect(() => parseStatementQuery("0x1234", params("from=1&to=2"))).toThrow(/"address"/);
    expect(() => parseStatementQuery(ADDRESS, params("from=20&to=10"))).toThrow(/"from" \(20\) is after "to" \(10\)/);
    expect(() => parseStatementQuery(ADDRESS, params(`from=0&to=${MAX_STATEMENT_SECONDS + 1}`))).toThrow(
      /"to".*366 days/,
    );
    expect(() => parseStatementQuery(ADDRESS, params("to=5"))).toThrow(/"from" is required/);
    expect(() => parseStatementQuery(ADDRESS, params("from=-1&to=5"))).toThrow(/"from" must be/);
    expect(() => parseStatementQuery(ADDRESS, params("from=1&to=5&format=xml"))).toThrow(/"format"/);
    expect(() => parseStatementQuery(ADDRESS, params("from=1&to=5&since=3"))).toThrow(/"since"/);
    expect(() => parseStatementQuery(ADDRESS, params("from=1&from=2&to=5"))).toThrow(/"from" is given twice/);
  });

  it("accepts a period of exactly the limit", () => {
    expect(parseStatementQuery(ADDRESS, params(`from=0&to=${MAX_STATEMENT_SECONDS}`)).to).toBe(MAX_STATEMENT_SECONDS);
  });
});

describe("statement arithmetic", () => {
  const OPEN = 10n ** 18n;
  const lines: StatementLine[] = [
    { kind: "claim", timestamp: 150n, txHash: "0xaa", amount: 2n * OPEN },
    { kind: "credit", timestamp: 100n, invoiceId: 7n, role: 1, shareBps: 2_500, modelId: "0x01", amount: 3n * OPEN },
    { kind: "credit", timestamp: 150n, invoiceId: 9n, role: 0, shareBps: null, modelId: "0x02", amount: 5n },
  ];

  it("keeps closing = opening + credited - claimed, lines in time order, credits first at one time", () => {
    // Credited 4 OPEN and claimed 1 OPEN before the period: opening 3 OPEN.
    const statement = buildStatement(4n * OPEN, OPEN, lines);
    expect(statement.opening).toBe(3n * OPEN);
    expect(statement.credited).toBe(3n * OPEN + 5n);
    expect(statement.claimed).toBe(2n * OPEN);
    expect(statement.closing).toBe(4n * OPEN + 5n);
    expect(statement.lines.map((line) => line.kind)).toEqual(["credit", "credit", "claim"]);
  });

  it("writes OPEN with every wei, no rounding", () => {
    expect(formatOpen(4n * OPEN + 5n)).toBe("4.000000000000000005");
    expect(formatOpen(0n)).toBe("0");
    expect(formatOpen(-OPEN / 2n)).toBe("-0.5");
  });

  it("writes CSV between an opening and a closing row, and JSON with OPEN and wei", () => {
    const statement = buildStatement(0n, 0n, lines);
    expect(statementCsv(statement, 100, 200).split("\n")).toEqual([
      "line,timestamp,invoiceId,role,shareBps,modelId,txHash,amount",
      "opening,100,,,,,,0",
      "credit,100,7,1,2500,0x01,,3",
      "credit,150,9,0,,0x02,,0.000000000000000005",
      "claim,150,,,,,0xaa,2",
      "closing,200,,,,,,1.000000000000000005",
      "",
    ]);
    const json = statementJson(statement);
    expect(json.closing).toEqual({ open: "1.000000000000000005", wei: "1000000000000000005" });
    expect(json.lines[0]).toEqual({
      kind: "credit",
      timestamp: 100,
      invoiceId: "7",
      role: 1,
      shareBps: 2_500,
      modelId: "0x01",
      amount: { open: "3", wei: "3000000000000000000" },
    });
  });
});
