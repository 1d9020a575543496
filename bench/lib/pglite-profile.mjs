/**
 * A statement profile of the embedded database, for the PGlite backfill (BENCHMARKS.md, "PGlite"):
 * preloaded into Ponder's Node with
 *
 *   npm run bench -- --skip ceiling,postgres,reindex,queries,realtime --no-write \
 *     --ponder-node-arg=--import=./bench/lib/pglite-profile.mjs --ponder-env PGLITE_PROFILE=/tmp/pglite.json
 *
 * it wraps PGlite's `query`, `exec` and the statements of its transactions, and writes to
 * PGLITE_PROFILE, every 10 s and at exit, each distinct statement (parameters and literals folded)
 * with its calls, total and longest milliseconds, longest first. PGlite runs on Ponder's own thread,
 * so a statement's time is the time the indexer waited for it. Plain JavaScript: Node loads it
 * before tsx or Ponder exist.
 */
import { writeFileSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";

const file = process.env.PGLITE_PROFILE;
if (file) {
  /** normalised statement -> { calls, ms, maxMs } */
  const statements = new Map();
  const fold = (sql) =>
    String(sql)
      .replace(/\s+/g, " ")
      .replace(/\$\d+/g, "$")
      .replace(/'[^']*'/g, "'?'")
      .replace(/\b\d+\b/g, "N")
      .slice(0, 400);
  const record = (sql, ms) => {
    const key = fold(sql);
    const entry = statements.get(key) ?? { calls: 0, ms: 0, maxMs: 0 };
    entry.calls++;
    entry.ms += ms;
    entry.maxMs = Math.max(entry.maxMs, ms);
    statements.set(key, entry);
  };
  const timed = (run) =>
    async function (sql, ...rest) {
      const began = performance.now();
      try {
        return await run.call(this, sql, ...rest);
      } finally {
        record(sql, performance.now() - began);
      }
    };
  const { query, exec, transaction } = PGlite.prototype;
  PGlite.prototype.query = timed(query);
  PGlite.prototype.exec = timed(exec);
  // A transaction's statements go through the object it hands to the callback, not the prototype.
  PGlite.prototype.transaction = function (callback) {
    return transaction.call(this, (tx) => {
      tx.query = timed(tx.query);
      tx.exec = timed(tx.exec);
      return callback(tx);
    });
  };
  const write = () => {
    const rows = [...statements].map(([sql, entry]) => ({ sql, ...entry })).sort((a, b) => b.ms - a.ms);
    writeFileSync(file, `${JSON.stringify(rows, null, 1)}\n`);
  };
  setInterval(write, 10_000).unref();
  process.on("exit", write);
}
