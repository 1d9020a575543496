/**
 * The results file (bench/results/<date>-<sha>[-quick].json) and BENCHMARKS.md: the latest run's
 * tables replace the section between `<!-- bench:latest:start -->` and `<!-- bench:latest:end -->`;
 * a row per full run (or per run given --history) is appended between the history markers, so the
 * rows of earlier runs stay for before/after comparisons.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../scripts/lib/compile.js";
import type { BackfillResult, RpcFigures } from "./backfill.js";
import type { CeilingResult } from "./ceiling.js";
import type { QueryResult } from "./queries.js";
import type { RealtimeResult } from "./realtime.js";

export type Machine = {
  cores: number;
  memoryGb: number;
  cpuModel: string;
  node: string;
  platform: string;
  /** os.loadavg() when the run started and ended: the machine is shared, numbers are noisy under load. */
  loadavgStart: number[];
  loadavgEnd: number[];
  postgres: string | null;
  ponder: string;
  anvil: string;
};

export type Target = { name: string; target: string; value: string; met: boolean };

export type Results = {
  date: string;
  git: { sha: string; dirty: boolean };
  label: string;
  mode: "full" | "quick";
  machine: Machine;
  events: number;
  chain: Record<string, unknown>;
  ceiling:
    | (Pick<CeilingResult, "eventsPerSec"> &
        Partial<CeilingResult> & { rpcOnly?: { eventsPerSec: number; seconds: number; requests: number } | null })
    | null;
  backfill: { postgres?: BackfillResult; pglite?: BackfillResult; postgresReindex?: BackfillResult };
  queries: QueryResult[];
  queriesMeta: Record<string, unknown>;
  realtime: RealtimeResult | null;
  settings: Record<string, unknown>;
  targets: Target[];
  totalSeconds: number;
};

export const RESULTS_DIR = path.join(ROOT, "bench/results");
export const BENCHMARKS_FILE = path.join(ROOT, "BENCHMARKS.md");

const LATEST_START = "<!-- bench:latest:start -->";
const LATEST_END = "<!-- bench:latest:end -->";
const HISTORY_START = "<!-- bench:history:start -->";
const HISTORY_END = "<!-- bench:history:end -->";

const fmt = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value)
    ? "–"
    : value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (value: number | null | undefined) =>
  value === null || value === undefined ? "–" : `${Math.round(value * 100)} %`;

export function evaluateTargets(results: Omit<Results, "targets">): Target[] {
  const targets: Target[] = [];
  const pg = results.backfill.postgres;
  if (pg) {
    targets.push({
      name: "backfill events/s (PostgreSQL)",
      target: ">= 10,000",
      value: fmt(pg.eventsPerSec),
      met: pg.eventsPerSec >= 10_000,
    });
    if (pg.ratioToCeiling !== null) {
      targets.push({
        name: "backfill / ceiling (PostgreSQL)",
        target: ">= 50 %",
        value: pct(pg.ratioToCeiling),
        met: pg.ratioToCeiling >= 0.5,
      });
    }
    if (pg.peakRssMb !== null) {
      targets.push({
        name: "peak RSS (PostgreSQL backfill)",
        target: "<= 600 MB",
        value: `${fmt(pg.peakRssMb)} MB`,
        met: pg.peakRssMb <= 600,
      });
    }
  }
  for (const query of results.queries.filter((q) => q.concurrency === 10)) {
    targets.push({
      name: `query ${query.name} (c=10)`,
      target: "p99 <= 50 ms, 0 errors",
      value: `p99 ${fmt(query.p99Ms, 1)} ms, ${query.errors} errors`,
      met: query.p99Ms <= 50 && query.errors === 0,
    });
  }
  if (results.realtime) {
    targets.push({
      name: "realtime p95 (1 s blocks)",
      target: "<= 1,500 ms",
      value: `${fmt(results.realtime.p95Ms)} ms`,
      met: results.realtime.p95Ms <= 1_500,
    });
    if (results.realtime.stream) {
      targets.push({
        name: "realtime p95 on the stream (1 s blocks)",
        target: "<= 1,500 ms",
        value: `${fmt(results.realtime.stream.p95Ms)} ms`,
        met: results.realtime.stream.p95Ms <= 1_500 && results.realtime.stream.missed === 0,
      });
    }
  }
  return targets;
}

export function writeResults(results: Results): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const day = results.date.slice(0, 10);
  const file = path.join(RESULTS_DIR, `${day}-${results.git.sha}${results.mode === "quick" ? "-quick" : ""}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/** One line on a backfill's RPC requests, for the log: total, per 1,000 events, by method, refusals. */
export function describeRpc(rpc: RpcFigures | undefined): string {
  if (!rpc) return "RPC not counted";
  const methods = Object.entries(rpc.byMethod)
    .map(([method, n]) => `${method} ${fmt(n)}`)
    .join(", ");
  const refusals =
    rpc.rateLimited === null
      ? ""
      : `; ${fmt(rpc.rateLimited)} × 429, ${fmt((rpc.rangeRefusals?.blocks ?? 0) + (rpc.rangeRefusals?.logs ?? 0))} eth_getLogs range refusals`;
  return (
    `RPC ${rpc.profile === "none" ? "to anvil directly" : `through the ${rpc.profile} proxy`}: ` +
    `${fmt(rpc.total)} requests, ${fmt(rpc.per1000Events, 1)} per 1,000 events (${methods})${refusals}`
  );
}

/** The Markdown table of the backfills' RPC requests, or nothing when no backfill counted them. */
function rpcTable(results: Results): string[] {
  const rows = (
    [
      ["PostgreSQL", results.backfill.postgres],
      ["PGlite", results.backfill.pglite],
      ["PostgreSQL, reindex", results.backfill.postgresReindex],
    ] as const
  ).filter(([, b]) => b?.rpc);
  if (rows.length === 0) return [];
  const lines = [
    "| backfill | RPC | requests | per 1,000 events | by method | 429s | range refusals |",
    "|---|---|---:|---:|---|---:|---:|",
  ];
  for (const [name, b] of rows) {
    const rpc = b?.rpc as RpcFigures;
    const methods = Object.entries(rpc.byMethod)
      .map(([method, n]) => `${method} ${fmt(n)}`)
      .join(", ");
    const refusals = rpc.rangeRefusals === null ? "–" : fmt(rpc.rangeRefusals.blocks + rpc.rangeRefusals.logs);
    lines.push(
      `| ${name} | ${rpc.profile} | ${fmt(rpc.total)} | ${fmt(rpc.per1000Events, 1)} | ${methods} | ${rpc.rateLimited === null ? "–" : fmt(rpc.rateLimited)} | ${refusals} |`,
    );
  }
  lines.push("");
  return lines;
}

function backfillRow(name: string, b: BackfillResult | undefined): string {
  if (!b) return `| ${name} | – | – | – | – | – |`;
  return `| ${name} | ${fmt(b.seconds, 1)} | ${fmt(b.eventsPerSec)} | ${pct(b.ratioToCeiling)} | ${fmt(b.peakRssMb)} | ${fmt(b.dbMb)} |`;
}

/** The Markdown of one run: machine, backfill, queries, realtime, targets. */
export function latestSection(results: Results, resultsFile: string): string {
  const m = results.machine;
  const lines: string[] = [];
  lines.push(
    `**Latest run** (${results.mode}${results.label ? `, ${results.label}` : ""}): ${results.date.slice(0, 16).replace("T", " ")} UTC, ` +
      `commit \`${results.git.sha}\`${results.git.dirty ? " + uncommitted changes" : ""}, ` +
      `results in \`${path.relative(ROOT, resultsFile)}\`.`,
  );
  lines.push("");
  lines.push(
    `Machine: ${m.cores} cores (${m.cpuModel}), ${fmt(m.memoryGb)} GB, Node ${m.node}, ${m.platform}; ` +
      `PostgreSQL ${m.postgres ?? "–"}, Ponder ${m.ponder}, anvil ${m.anvil}. ` +
      `Load average at start ${m.loadavgStart.map((x) => x.toFixed(2)).join(" / ")}, at end ${m.loadavgEnd.map((x) => x.toFixed(2)).join(" / ")} ` +
      "(the machine is shared: numbers are noisy).",
  );
  lines.push("");
  const chain = results.chain as { blocksWithTraffic?: number; invoices?: number; seed?: number };
  lines.push(
    `Chain: ${fmt(results.events)} events (${fmt(chain.invoices)} invoices, seed ${chain.seed}, ${fmt(chain.blocksWithTraffic)} blocks with traffic). ` +
      `Ceiling (eth_getLogs + viem decoding, no database): **${fmt(results.ceiling?.eventsPerSec)} events/s**` +
      (results.ceiling?.seconds ? ` (${fmt(results.ceiling.seconds, 1)} s)` : "") +
      (results.ceiling?.rpcOnly
        ? `; the RPC alone, without decoding: ${fmt(results.ceiling.rpcOnly.eventsPerSec)} events/s.`
        : "."),
  );
  lines.push("");
  lines.push("| backfill | seconds | events/s | of ceiling | peak RSS MB | database MB |");
  lines.push("|---|---:|---:|---:|---:|---:|");
  lines.push(backfillRow("PostgreSQL", results.backfill.postgres));
  lines.push(backfillRow("PGlite", results.backfill.pglite));
  if (results.backfill.postgresReindex) {
    lines.push(backfillRow("PostgreSQL, reindex (Ponder's RPC cache warm)", results.backfill.postgresReindex));
  }
  lines.push("");
  lines.push(...rpcTable(results));
  const pg = results.backfill.postgres;
  if (pg) {
    const t = pg.profile.transformSeconds;
    const cpu = pg.cpuSeconds;
    lines.push(
      `Where the PostgreSQL backfill's time goes: RPC fetch and Ponder's ponder_sync writes until ${fmt(pg.timeline.finishedFetchingAt, 0)} s ` +
        `(indexing runs alongside, on the same thread); handlers ${fmt(t.index, 0)} s, flushes ${fmt(t.load, 0)} s, ` +
        `index creation ${fmt(pg.timeline.createdIndexesDuration, 0)} s. CPU seconds: Ponder ${fmt(cpu.ponder, 0)}, ` +
        `PostgreSQL ${fmt(cpu.postgres, 0)}, anvil ${fmt(cpu.anvil, 0)}, over ${fmt(cpu.wall, 0)} s of wall time.`,
    );
    lines.push("");
  }
  if (results.queries.length > 0) {
    lines.push("| query | concurrency | p50 ms | p99 ms | requests/s | errors | cache hits |");
    lines.push("|---|---:|---:|---:|---:|---:|---:|");
    for (const q of results.queries) {
      const hits = q.cacheHitRatio === undefined ? "off" : `${Math.round(q.cacheHitRatio * 100)} %`;
      lines.push(
        `| ${q.name} | ${q.concurrency} | ${fmt(q.p50Ms, 1)} | ${fmt(q.p99Ms, 1)} | ${fmt(q.rps)} | ${q.errors} | ${hits} |`,
      );
    }
    lines.push("");
  }
  if (results.realtime) {
    const r = results.realtime;
    lines.push(
      `Realtime (${r.blockTimeSeconds}-second blocks, ${r.ratePerSecond} invoices/s, ${r.invoices} invoices over ${r.seconds} s, ` +
        `GraphQL polled every ${r.pollMs} ms): from the block timestamp p50 **${fmt(r.p50Ms)} ms**, p95 **${fmt(r.p95Ms)} ms**; ` +
        `from the block's appearance on the node p50 ${fmt(r.fromBlockSeen.p50Ms)} ms, p95 ${fmt(r.fromBlockSeen.p95Ms)} ms` +
        `${r.missed ? `; ${r.missed} invoices never seen` : ""}.` +
        (r.stream
          ? ` Delivered on \`GET /streams/activity\` (Server-Sent Events): from the block timestamp p50 **${fmt(r.stream.p50Ms)} ms**, ` +
            `p95 **${fmt(r.stream.p95Ms)} ms**; from the block's appearance p50 ${fmt(r.stream.fromBlockSeen.p50Ms)} ms, ` +
            `p95 ${fmt(r.stream.fromBlockSeen.p95Ms)} ms${r.stream.missed ? `; ${r.stream.missed} never delivered` : ""}.`
          : ""),
    );
    lines.push("");
  }
  if (results.targets.length > 0) {
    lines.push("| target | wanted | measured | |");
    lines.push("|---|---|---|---|");
    for (const t of results.targets)
      lines.push(`| ${t.name} | ${t.target} | ${t.value} | ${t.met ? "met" : "**missed**"} |`);
  }
  return lines.join("\n");
}

export const HISTORY_HEADER = [
  "| date | commit | run | events | ceiling ev/s | PG s | PG ev/s | PG of ceiling | PG RSS MB | PG DB MB | PGlite s | PGlite ev/s | PGlite RSS MB | PGlite DB MB | worst p99 c=10 ms | errors | realtime p50/p95 ms | load avg |",
  "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
].join("\n");

export function historyRow(results: Results): string {
  const pg = results.backfill.postgres;
  const pl = results.backfill.pglite;
  const c10 = results.queries.filter((q) => q.concurrency === 10);
  const worst = c10.length ? Math.max(...c10.map((q) => q.p99Ms)) : null;
  const errors = results.queries.reduce((sum, q) => sum + q.errors, 0);
  const rt = results.realtime;
  return [
    "",
    results.date.slice(0, 10),
    `\`${results.git.sha}\`${results.git.dirty ? "+" : ""}`,
    `${results.mode}${results.label ? `: ${results.label}` : ""}`,
    fmt(results.events),
    fmt(results.ceiling?.eventsPerSec),
    fmt(pg?.seconds, 1),
    fmt(pg?.eventsPerSec),
    pct(pg?.ratioToCeiling),
    fmt(pg?.peakRssMb),
    fmt(pg?.dbMb),
    fmt(pl?.seconds, 1),
    fmt(pl?.eventsPerSec),
    fmt(pl?.peakRssMb),
    fmt(pl?.dbMb),
    fmt(worst, 1),
    String(errors),
    rt ? `${fmt(rt.p50Ms)} / ${fmt(rt.p95Ms)}` : "–",
    results.machine.loadavgStart[0].toFixed(2),
    "",
  ]
    .join(" | ")
    .trim();
}

const SKELETON = `# Benchmarks

\`npm run bench\` measures the indexer on a chain of a million events against the ceiling of the
machine; \`npm run bench -- --quick\` does the same on ~20,000 events in under two minutes (CI).

## Latest run

${LATEST_START}
${LATEST_END}

## History

Full runs are appended (quick runs only with \`--history\`); earlier rows stay for before/after.

${HISTORY_START}
${HISTORY_HEADER}
${HISTORY_END}
`;

/** Replaces the latest section of BENCHMARKS.md and, when `appendHistory`, adds the run's row. */
export function updateBenchmarksFile(results: Results, resultsFile: string, appendHistory: boolean): void {
  let text = existsSync(BENCHMARKS_FILE) ? readFileSync(BENCHMARKS_FILE, "utf8") : SKELETON;
  if (!text.includes(LATEST_START) || !text.includes(LATEST_END)) {
    text = `${text.trimEnd()}\n\n## Latest run\n\n${LATEST_START}\n${LATEST_END}\n`;
  }
  if (!text.includes(HISTORY_START) || !text.includes(HISTORY_END)) {
    text = `${text.trimEnd()}\n\n## History\n\n${HISTORY_START}\n${HISTORY_HEADER}\n${HISTORY_END}\n`;
  }
  const before = text.slice(0, text.indexOf(LATEST_START) + LATEST_START.length);
  const after = text.slice(text.indexOf(LATEST_END));
  text = `${before}\n${latestSection(results, resultsFile)}\n${after}`;
  if (appendHistory) {
    const end = text.indexOf(HISTORY_END);
    const head = text.slice(0, end).trimEnd();
    text = `${head}\n${historyRow(results)}\n${text.slice(end)}`;
  }
  writeFileSync(BENCHMARKS_FILE, text);
}
