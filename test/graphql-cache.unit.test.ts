import { describe, expect, it } from "vitest";
import { hasErrors, ResponseCache } from "../src/api/graphql/cache.js";

describe("ResponseCache: answers of the current indexed state only", () => {
  it("serves an answer at the state it was computed at, and drops everything when the state moves", () => {
    const cache = new ResponseCache(1_000);
    expect(cache.get("31337:100", "q")).toBeUndefined();
    cache.set("31337:100", "q", "answer at 100");
    expect(cache.get("31337:100", "q")).toBe("answer at 100");
    expect(cache.get("31337:101", "q"), "a new block: the old answer is gone").toBeUndefined();
    expect(cache.size).toEqual({ entries: 0, bytes: 0 });
    // A reorg back to an earlier state is a new state too: nothing of 101 survives it.
    cache.set("31337:101", "q", "answer at 101");
    expect(cache.get("31337:100", "q")).toBeUndefined();
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 1, misses: 3 });
  });

  it("does not keep an answer whose state was left while its query ran", () => {
    const cache = new ResponseCache(1_000);
    cache.get("a", "q1");
    cache.get("b", "q2"); // another request saw the next state
    cache.set("a", "q1", "computed at a");
    expect(cache.get("b", "q1")).toBeUndefined();
    expect(cache.size.entries).toBe(0);
  });

  it("evicts the least recently used answers to stay within its bytes", () => {
    const cache = new ResponseCache(30);
    cache.get("s", "warm");
    cache.set("s", "k1", "0123456789"); // 12 bytes with the key
    cache.set("s", "k2", "0123456789");
    expect(cache.get("s", "k1")).toBe("0123456789"); // k1 is now the most recent
    cache.set("s", "k3", "0123456789"); // 36 > 30: the least recent (k2) goes
    expect(cache.get("s", "k2")).toBeUndefined();
    expect(cache.get("s", "k1")).toBe("0123456789");
    expect(cache.get("s", "k3")).toBe("0123456789");
    expect(cache.size).toEqual({ entries: 2, bytes: 24 });
    cache.set("s", "huge", "x".repeat(100));
    expect(cache.get("s", "huge"), "an answer larger than the cache is not kept").toBeUndefined();
  });

  it("tells answers with errors from answers that mention the word", () => {
    expect(hasErrors('{"errors":[{"message":"Statement timeout"}],"data":null}')).toBe(true);
    expect(hasErrors('{"data":{"slashs":{"items":[{"evidence":"\\"errors\\""}]}}}')).toBe(false);
    expect(hasErrors('{"data":{"x":1}}')).toBe(false);
  });
});
