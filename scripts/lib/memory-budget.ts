/**
 * The indexer's memory budget in production (`npm run start:prod`) and in the benchmark.
 *
 * Ponder sizes its indexing cache at a fifth of V8's heap limit, and V8's default limit follows
 * the machine's memory: on a 24 GB machine a million-event backfill peaked at ~2.7 GB of RSS. A heap
 * limit of 352 MB with a 32 MiB cache kept it under 600 MB for ~10-15 % of backfill speed on Ponder
 * 0.16.10; on 0.17.7 the same budget peaks at 661 MB, and 288 MB runs out of heap (BENCHMARKS.md). INDEXER_MAX_HEAP_MB and PONDER_CACHE_BYTES override the two figures;
 * INDEXER_MAX_HEAP_MB=off leaves both to Node and Ponder.
 */
import { ENV, readEnv } from "../../config/env.js";

export const DEFAULT_MAX_HEAP_MB = ENV.INDEXER_MAX_HEAP_MB.default;
export const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;

export type MemoryBudget = {
  /** V8's old-space limit in MB, or null when the budget is off. */
  maxHeapMb: number | null;
  /** Ponder's indexing cache (PONDER_CACHE_BYTES), or null to let Ponder size it. */
  cacheBytes: number | null;
};

/**
 * Reads INDEXER_MAX_HEAP_MB (at least 192: below that V8 cannot hold Ponder's build and a cache
 * batch) and PONDER_CACHE_BYTES; a malformed value is a ConfigError naming it.
 */
export function memoryBudget(env: NodeJS.ProcessEnv = process.env): MemoryBudget {
  const heap = readEnv("INDEXER_MAX_HEAP_MB", env);
  const cacheBytes = readEnv("PONDER_CACHE_BYTES", env);
  if (heap === "off") return { maxHeapMb: null, cacheBytes: cacheBytes ?? null };
  return { maxHeapMb: heap, cacheBytes: cacheBytes ?? DEFAULT_CACHE_BYTES };
}

/**
 * The environment that applies a budget to a Ponder child: `--max-old-space-size` appended to
 * NODE_OPTIONS (unless NODE_OPTIONS already sets one) and PONDER_CACHE_BYTES.
 */
export function applyMemoryBudget(env: NodeJS.ProcessEnv, budget: MemoryBudget): NodeJS.ProcessEnv {
  const result = { ...env };
  if (budget.cacheBytes !== null) result.PONDER_CACHE_BYTES = String(budget.cacheBytes);
  const nodeOptions = readEnv("NODE_OPTIONS", env) ?? "";
  if (budget.maxHeapMb !== null && !/--max-old-space-size/.test(nodeOptions)) {
    result.NODE_OPTIONS = `${nodeOptions} --max-old-space-size=${budget.maxHeapMb}`.trim();
  }
  return result;
}

/** One line for logs: "heap 352 MB, Ponder cache 32 MiB" or "off". */
export function describeMemoryBudget(budget: MemoryBudget): string {
  if (budget.maxHeapMb === null && budget.cacheBytes === null) return "off (Node's and Ponder's defaults)";
  const heap = budget.maxHeapMb === null ? "Node's default heap" : `heap ${budget.maxHeapMb} MB`;
  const cache =
    budget.cacheBytes === null
      ? "Ponder's default cache"
      : `Ponder cache ${Math.round(budget.cacheBytes / 1048576)} MiB`;
  return `${heap}, ${cache}`;
}
