import { describe, expect, it } from "vitest";
import { ConfigError } from "../config/env.js";
import { applyMemoryBudget, describeMemoryBudget, memoryBudget } from "../scripts/lib/memory-budget.js";

describe("the indexer's memory budget (npm run start:prod, npm run bench)", () => {
  it("defaults to a 352 MB heap and a 32 MiB Ponder cache", () => {
    expect(memoryBudget({})).toEqual({ maxHeapMb: 352, cacheBytes: 32 * 1024 * 1024 });
    expect(describeMemoryBudget(memoryBudget({}))).toBe("heap 352 MB, Ponder cache 32 MiB");
  });

  it("takes INDEXER_MAX_HEAP_MB and PONDER_CACHE_BYTES, and off", () => {
    expect(memoryBudget({ INDEXER_MAX_HEAP_MB: "1024", PONDER_CACHE_BYTES: "134217728" })).toEqual({
      maxHeapMb: 1024,
      cacheBytes: 134_217_728,
    });
    expect(memoryBudget({ INDEXER_MAX_HEAP_MB: "off" })).toEqual({ maxHeapMb: null, cacheBytes: null });
    expect(describeMemoryBudget(memoryBudget({ INDEXER_MAX_HEAP_MB: "off" }))).toMatch(/^off/);
  });

  it("refuses malformed values with a message naming the variable", () => {
    expect(() => memoryBudget({ INDEXER_MAX_HEAP_MB: "lots" })).toThrow(ConfigError);
    expect(() => memoryBudget({ INDEXER_MAX_HEAP_MB: "64" })).toThrow(
      /^INDEXER_MAX_HEAP_MB="64": expected off, or an integer >= 192$/,
    );
    expect(() => memoryBudget({ PONDER_CACHE_BYTES: "32MB" })).toThrow(
      /^PONDER_CACHE_BYTES="32MB": expected an integer >= 0$/,
    );
  });

  it("appends the heap limit to NODE_OPTIONS unless one is already set there", () => {
    const budget = memoryBudget({});
    expect(applyMemoryBudget({ NODE_OPTIONS: "--enable-source-maps" }, budget)).toMatchObject({
      NODE_OPTIONS: "--enable-source-maps --max-old-space-size=352",
      PONDER_CACHE_BYTES: "33554432",
    });
    expect(applyMemoryBudget({ NODE_OPTIONS: "--max-old-space-size=2048" }, budget).NODE_OPTIONS).toBe(
      "--max-old-space-size=2048",
    );
    expect(applyMemoryBudget({}, memoryBudget({ INDEXER_MAX_HEAP_MB: "off" }))).toEqual({});
  });
});
