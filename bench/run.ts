/**
 * `npm run bench [-- --quick]`: the indexer on a million-event chain (about 20,000 with --quick),
 * side by side with the ceiling of the machine. In one process tree and one run:
 *   1. chain     a deterministic fast-mode simulation, cached as an anvil state dump (bench/cache/)
 *   2. ceiling   eth_getLogs over the whole range + viem decoding, no database
 *   3. backfill  ponder start from an empty database until every event is indexed, PostgreSQL and PGlite
 *   4. queries   the README's queries under autocannon (10 s, concurrency 10 and 50) on the PostgreSQL data
 *   5. realtime  one-second blocks, 20 invoices/s, delay from a block to its invoices visible in GraphQL
 * With --rpc-profile, the backfills' RPC goes through a proxy that behaves like a hosted provider
 * (docs/benchmarks-rpc.md). Results: bench/results/<date>-<sha>[-quick].json and BENCHMARKS.md.
 * Every child process is stopped at the end, on failure and on Ctrl-C.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { readEnv } from "../config/env.js";
import { handledEvents, handledSelectors, indexedEventCount } from "../harness/handled-events.js";
import { installStaleSocketRetry } from "../harness/http.js";
import type { PonderProcess } from "../harness/ponder.js";
import type { PostgresServer } from "../harness/postgres.js";
import { RPC_PROFILE_NAMES, RPC_PROFILES, type RpcProfile, rpcProfile } from "../harness/rpc-proxy.js";
import { ROOT } from "../scripts/lib/compile.js";
import { memoryBudget } from "../scripts/lib/memory-budget.js";
import { runBackfill } from "./backfill.js";
import { type CeilingResult, measureCeiling } from "./ceiling.js";
import { type BenchChain, prepareChain } from "./chain.js";
import { stopAll } from "./lib/cleanup.js";
import { startBenchPostgres } from "./lib/postgres.js";
import { type QueryResult, runQueries } from "./queries.js";
import { type RealtimeResult, runRealtime } from "./realtime.js";
import { describeRpc, evaluateTargets, type Results, updateBenchmarksFile, writeResults } from "./report.js";

const HELP = `usage: npm run bench -- [options]

  --quick                 ~20,000 events, 1-second query loads, 10 s of realtime, no reindex: under two
                          minutes (CI)
  --invoices N            invoices of the chain (default 93000, ~1,010,000 events; --quick 2000)
  --seed S                simulator seed (default 1)
  --blocks-per-day B      fast-mode blocks per simulated day, over 30 simulated days (default 20: 600 blocks
                          of ~1,700 events; --quick: the simulator's default, 120 blocks). The chain is
                          generated once (~8 min for the full one) and cached in bench/cache/. A sparse
                          chain: --invoices 9300 --blocks-per-day 110 (3,300 blocks of ~30 events, ~4 min
                          to generate); not a million events sparse: anvil computes a state root per block
                          (~33,000 blocks would take hours)
  --query-seconds S       autocannon duration per query and concurrency (default 10; --quick 2)
  --concurrency LIST      comma-separated connections (default 10,50)
  --realtime-seconds S    realtime measurement (default 40; --quick 15)
  --rpc-profile NAME      the backfills' (and reindex's) RPC through a proxy (harness/rpc-proxy.ts): none
                          (default, anvil directly), passthrough (counts requests, adds nothing), realistic
                          (30 ms per request, 50 requests/s then HTTP 429 with Retry-After, eth_getLogs
                          over at most 2,000 blocks and 10,000 logs). The benchmark's own reads, the ceiling
                          and realtime go to anvil directly. docs/benchmarks-rpc.md
  --rpc-limit NAME=VALUE  one value of the profile (repeatable): latencyMs, requestsPerSecond,
                          getLogsMaxBlocks, getLogsMaxLogs; "none" lifts a limit
  --skip LIST             phases to skip: ceiling, postgres, reindex (PostgreSQL again with Ponder's RPC
                          cache warm), pglite, queries, realtime
  --pg-flag NAME=VALUE    extra PostgreSQL server setting (repeatable), e.g. shared_buffers=512MB
  --ponder-env NAME=VALUE environment of the indexer (repeatable), e.g. ETH_GET_LOGS_BLOCK_RANGE=100
  --ponder-node-arg ARG   a flag for the indexer's Node (repeatable), e.g. --max-old-space-size=1024
                          or --cpu-prof --cpu-prof-dir=/tmp/prof (profiles; not allowed in NODE_OPTIONS)
  --memory-budget MB|off  the indexer's heap limit in MB, with a 32 MiB Ponder cache, in the PostgreSQL runs:
                          what npm run start:prod applies (default: INDEXER_MAX_HEAP_MB or 352); off = Node's
                          and Ponder's defaults. PGlite runs as npm start does, with the defaults
  --queries-file FILE     queries from FILE (same <!-- query:NAME --> markers) instead of README.md
  --vacuum                VACUUM ANALYZE our tables after the backfill, before the queries (what
                          autovacuum does a few minutes later; by default the queries run right away)
  --label TEXT            names the run in BENCHMARKS.md (e.g. "before", "after cache tuning")
  --history               append the run's row to BENCHMARKS.md's history even for --quick
  --no-write              write neither bench/results/ nor BENCHMARKS.md (experiments; every run's
                          results also go to bench/cache/runs/<time>.json)
  --help                  this text`;

type Options = {
  quick: boolean;
  invoices: number;
  seed: number;
  blocksPerDay: number | undefined;
  querySeconds: number;
  concurrencies: number[];
  realtimeSeconds: number;
  skip: Set<string>;
  pgFlags: Record<string, string>;
  ponderEnv: Record<string, string>;
  /** --rpc-profile and --rpc-limit: null for anvil directly. */
  rpcProfile: { name: string; settings: RpcProfile } | null;
  /** --memory-budget: applied to the PostgreSQL runs only (start:prod is PostgreSQL-only). */
  memoryBudget: string | undefined;
  nodeArgs: string[];
  queriesFile: string | undefined;
  vacuum: boolean;
  label: string;
  history: boolean;
  write: boolean;
};

function pairs(values: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values ?? []) {
    const at = value.indexOf("=");
    if (at <= 0) throw new Error(`--${flag} ${value}: expected NAME=VALUE`);
    out[value.slice(0, at)] = value.slice(at + 1);
  }
  return out;
}

function positiveInteger(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`--${flag} ${raw} must be a positive integer`);
  return value;
}

/** --rpc-profile NAME with --rpc-limit NAME=VALUE overrides; null for "none". */
function parseRpcProfile(name: string | undefined, limits: Record<string, string>): Options["rpcProfile"] {
  const keys = Object.keys(RPC_PROFILES.realistic) as (keyof RpcProfile)[];
  if (name === undefined || name === "none") {
    if (Object.keys(limits).length > 0) throw new Error("--rpc-limit needs an --rpc-profile");
    return null;
  }
  if (!RPC_PROFILE_NAMES.includes(name as never)) {
    throw new Error(`--rpc-profile ${name}: profiles are none, ${RPC_PROFILE_NAMES.join(", ")}`);
  }
  const overrides: Partial<Record<keyof RpcProfile, number | null>> = {};
  for (const [key, raw] of Object.entries(limits)) {
    if (!keys.includes(key as keyof RpcProfile)) throw new Error(`--rpc-limit ${key}: names are ${keys.join(", ")}`);
    const value = raw === "none" && key !== "latencyMs" ? null : Number(raw);
    if (value !== null && !Number.isFinite(value)) throw new Error(`--rpc-limit ${key}=${raw}: not a number`);
    overrides[key as keyof RpcProfile] = value;
  }
  const changed = Object.entries(limits).map(([key, value]) => `${key}=${value}`);
  try {
    const settings = rpcProfile(name, overrides as Partial<RpcProfile>);
    return { name: changed.length ? `${name} (${changed.join(", ")})` : name, settings };
  } catch (error) {
    throw new Error(`--rpc-limit: ${(error as Error).message}`);
  }
}

function parseOptions(): Options | null {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" },
      invoices: { type: "string" },
      seed: { type: "string" },
      "blocks-per-day": { type: "string" },
      "query-seconds": { type: "string" },
      concurrency: { type: "string" },
      "realtime-seconds": { type: "string" },
      skip: { type: "string" },
      "pg-flag": { type: "string", multiple: true },
      "ponder-env": { type: "string", multiple: true },
      "ponder-node-arg": { type: "string", multiple: true },
      "rpc-profile": { type: "string" },
      "rpc-limit": { type: "string", multiple: true },
      "queries-file": { type: "string" },
      "memory-budget": { type: "string" },
      vacuum: { type: "boolean" },
      label: { type: "string" },
      history: { type: "boolean" },
      "no-write": { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return null;
  }
  const quick = values.quick ?? false;
  // --quick skips the reindex (a second PostgreSQL backfill) to stay under two minutes.
  const skip = new Set((values.skip ?? (quick ? "reindex" : "")).split(",").filter(Boolean));
  for (const phase of skip) {
    if (!["ceiling", "postgres", "reindex", "pglite", "queries", "realtime"].includes(phase)) {
      throw new Error(`--skip ${phase}: phases are ceiling, postgres, reindex, pglite, queries, realtime`);
    }
  }
  return {
    quick,
    invoices: positiveInteger("invoices", values.invoices, quick ? 2_000 : 93_000),
    seed: Number(values.seed ?? 1),
    blocksPerDay:
      values["blocks-per-day"] !== undefined
        ? positiveInteger("blocks-per-day", values["blocks-per-day"], 1)
        : quick
          ? undefined
          : 20,
    querySeconds: positiveInteger("query-seconds", values["query-seconds"], quick ? 1 : 10),
    concurrencies: (values.concurrency ?? "10,50").split(",").map((c) => positiveInteger("concurrency", c, 10)),
    realtimeSeconds: positiveInteger("realtime-seconds", values["realtime-seconds"], quick ? 10 : 40),
    skip,
    pgFlags: pairs(values["pg-flag"], "pg-flag"),
    ponderEnv: pairs(values["ponder-env"], "ponder-env"),
    rpcProfile: parseRpcProfile(values["rpc-profile"], pairs(values["rpc-limit"], "rpc-limit")),
    nodeArgs: values["ponder-node-arg"] ?? [],
    memoryBudget: values["memory-budget"],
    queriesFile: values["queries-file"],
    vacuum: values.vacuum ?? false,
    label: values.label ?? "",
    history: values.history ?? !quick,
    write: !values["no-write"],
  };
}

/**
 * The memory budget of `npm run start:prod` (scripts/lib/memory-budget.ts) as Node flags and Ponder
 * environment, unless --ponder-node-arg or --ponder-env already set them.
 */
function withMemoryBudget(
  ponderEnv: Record<string, string>,
  nodeArgs: string[],
  flag: string | undefined,
): { ponderEnv: Record<string, string>; nodeArgs: string[] } {
  const budget = memoryBudget(flag === undefined ? process.env : { ...process.env, INDEXER_MAX_HEAP_MB: flag });
  const env = { ...ponderEnv };
  const args = [...nodeArgs];
  if (budget.cacheBytes !== null && env.PONDER_CACHE_BYTES === undefined)
    env.PONDER_CACHE_BYTES = String(budget.cacheBytes);
  if (budget.maxHeapMb !== null && !args.some((arg) => arg.startsWith("--max-old-space-size"))) {
    args.push(`--max-old-space-size=${budget.maxHeapMb}`);
  }
  return { ponderEnv: env, nodeArgs: args };
}

const began = performance.now();
function log(message: string) {
  const seconds = ((performance.now() - began) / 1_000).toFixed(1).padStart(6);
  console.log(`[${seconds} s] ${message}`);
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

function packageVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
}

/** What every phase of one run shares: the options, where logs go, the chain and its figures. */
type Run = {
  options: Options;
  /** The run's start time, in log file names. */
  stamp: string;
  logDir: string;
  /** PostgreSQL runs get start:prod's memory budget (Ponder environment and Node flags). */
  production: { ponderEnv: Record<string, string>; nodeArgs: string[] };
  chain: BenchChain;
  /** Events the indexer handles on the chain: one activity row each. */
  events: number;
  /** How long a backfill may take. */
  timeoutMs: number;
};

/** The results of the phases, filled in as they run. */
type Measured = {
  ceiling: CeilingResult | null;
  rpcOnly: CeilingResult | null;
  backfill: Results["backfill"];
  queries: QueryResult[];
  queriesMeta: Record<string, unknown>;
  realtime: RealtimeResult | null;
};

/** 1. The chain, from the cache or generated, and the events the indexer handles on it. */
async function chainPhase(options: Options) {
  const chain = await prepareChain({
    seed: options.seed,
    invoices: options.invoices,
    blocksPerDay: options.blocksPerDay,
    log,
  });
  const handled = handledEvents();
  const events = indexedEventCount(chain.meta.eventCounts, handled);
  log(`chain: ${events} indexed events (of ${chain.meta.events} logs; ${handled.size} event kinds have handlers)`);
  return { chain, events, selectors: handledSelectors(handled) };
}

/** 2. The ceiling: the RPC alone, then the RPC and viem's decoding (the issue's ceiling). */
async function ceilingPhase(run: Run, selectors: `0x${string}`[], measured: Measured) {
  const { chain, events } = run;
  const ceilingOptions = {
    rpcUrl: chain.anvil.rpcUrl,
    deployment: chain.deployment,
    fromBlock: chain.meta.startBlock,
    toBlock: chain.meta.head,
    selectors,
  };
  const rpcOnly = await measureCeiling({ ...ceilingOptions, decode: false });
  const ceiling = await measureCeiling(ceilingOptions);
  for (const result of [rpcOnly, ceiling]) {
    if (result.events !== events)
      throw new Error(`the ceiling got ${result.events} events, the ledger counts ${events}`);
  }
  log(
    `ceiling: ${Math.round(ceiling.eventsPerSec)} events/s with viem decoding (${ceiling.seconds.toFixed(1)} s, ` +
      `${ceiling.requests} requests, decoding ${ceiling.decodeSeconds.toFixed(1)} s); ` +
      `RPC alone ${Math.round(rpcOnly.eventsPerSec)} events/s`,
  );
  measured.ceiling = ceiling;
  measured.rpcOnly = rpcOnly;
}

/** MB of the whole database and of our schema and Ponder's RPC cache. */
function postgresSizes(pg: PostgresServer): Record<string, number> {
  const mb = (sql: string) => Number(pg.query(sql)) / 1024 / 1024;
  const schemaMb = (schema: string) =>
    mb(
      `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '${schema}' AND c.relkind IN ('r', 'm')`,
    );
  return {
    total: Math.round(mb("SELECT pg_database_size(current_database())")),
    openledger: Math.round(schemaMb("openledger")),
    ponder_sync: Math.round(schemaMb("ponder_sync")),
  };
}

/** A PostgreSQL backfill of the chain, with start:prod's memory budget. */
function postgresBackfill(
  run: Run,
  pg: PostgresServer,
  name: string,
  sizes: () => Record<string, number>,
  measured: Measured,
) {
  return runBackfill({
    chain: run.chain,
    events: run.events,
    database: { kind: "postgres", url: pg.url, sizes },
    env: run.production.ponderEnv,
    nodeArgs: run.production.nodeArgs,
    cpuPids: { anvil: run.chain.anvil.process.pid as number, postgres: pg.pid() },
    rpcProfile: run.options.rpcProfile,
    logFile: path.join(run.logDir, `${run.stamp}-${name}-postgres.log`),
    ceilingEventsPerSec: measured.ceiling?.eventsPerSec ?? null,
    timeoutMs: run.timeoutMs,
    log,
  });
}

/** 4. The README's queries under autocannon, against the PostgreSQL backfill's data. */
async function queriesPhase(run: Run, pg: PostgresServer, ponder: PonderProcess, measured: Measured) {
  const { options } = run;
  if (options.vacuum) {
    const began = performance.now();
    pg.query("VACUUM ANALYZE");
    log(`vacuum analyze: ${((performance.now() - began) / 1000).toFixed(1)} s`);
  }
  const queries = await runQueries({
    queriesFile: options.queriesFile,
    ponder,
    ledger: run.chain.ledger,
    concurrencies: options.concurrencies,
    durationSeconds: options.querySeconds,
    warmupSeconds: options.quick ? 0.5 : 2,
    log,
  });
  measured.queries = queries.results;
  measured.queriesMeta = {
    source: queries.source,
    durationSeconds: options.querySeconds,
    database: "postgres",
    vacuumedBefore: options.vacuum,
    queries: queries.queries.map((q) => ({ name: q.name, variables: q.variables })),
  };
}

/** 3 + 4. The PostgreSQL backfill, then the queries against its data, then the reindex. */
async function postgresPhase(run: Run, pg: PostgresServer, measured: Measured) {
  log(
    `postgres ${pg.version} on ${pg.url} (${Object.entries(pg.flags)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")})`,
  );
  const { result, ponder } = await postgresBackfill(run, pg, "backfill", () => postgresSizes(pg), measured);
  measured.backfill.postgres = result;
  log(
    `backfill postgres: ${result.seconds} s, ${result.eventsPerSec} events/s` +
      `${result.ratioToCeiling !== null ? ` (${Math.round(result.ratioToCeiling * 100)} % of the ceiling)` : ""}, ` +
      `peak RSS ${result.peakRssMb} MB, database ${result.dbMb} MB; ${describeRpc(result.rpc)}`,
  );
  try {
    if (!run.options.skip.has("queries")) await queriesPhase(run, pg, ponder, measured);
  } finally {
    await ponder.stop();
  }
  if (!run.options.skip.has("reindex")) await reindexPhase(run, pg, measured);
}

/**
 * 3''. Reindex: the same database without our tables but with Ponder's RPC cache (ponder_sync): what
 * a redeploy of changed handlers costs, and the indexing side of the backfill on its own.
 */
async function reindexPhase(run: Run, pg: PostgresServer, measured: Measured) {
  pg.query("DROP SCHEMA openledger CASCADE");
  const total = () => ({ total: Number(pg.query("SELECT pg_database_size(current_database())")) / 1024 / 1024 });
  const reindex = await postgresBackfill(run, pg, "reindex", total, measured);
  await reindex.ponder.stop();
  measured.backfill.postgresReindex = reindex.result;
  log(
    `reindex postgres (RPC cache warm): ${reindex.result.seconds} s, ${reindex.result.eventsPerSec} events/s, ` +
      `peak RSS ${reindex.result.peakRssMb} MB; ${describeRpc(reindex.result.rpc)}`,
  );
}

/** 3'. The PGlite backfill, as npm start runs it (the embedded default: no memory budget). */
async function pglitePhase(run: Run, measured: Measured) {
  const directory = mkdtempSync(path.join(os.tmpdir(), "openledger-bench-pglite-"));
  try {
    const { result, ponder } = await runBackfill({
      chain: run.chain,
      events: run.events,
      database: { kind: "pglite", directory },
      env: run.options.ponderEnv,
      nodeArgs: run.options.nodeArgs,
      cpuPids: { anvil: run.chain.anvil.process.pid as number },
      rpcProfile: run.options.rpcProfile,
      logFile: path.join(run.logDir, `${run.stamp}-backfill-pglite.log`),
      ceilingEventsPerSec: measured.ceiling?.eventsPerSec ?? null,
      timeoutMs: run.timeoutMs * 3,
      log,
    });
    await ponder.stop();
    measured.backfill.pglite = result;
    log(
      `backfill pglite: ${result.seconds} s, ${result.eventsPerSec} events/s, peak RSS ${result.peakRssMb} MB, ` +
        `directory ${result.dbMb} MB; ${describeRpc(result.rpc)}`,
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** 5. Realtime, on PostgreSQL (a database of its own: the chain id is the same as the backfill's). */
async function realtimePhase(run: Run, pg: PostgresServer, measured: Measured) {
  pg.query("CREATE DATABASE realtime");
  const url = new URL(pg.url);
  url.pathname = "/realtime";
  measured.realtime = await runRealtime({
    databaseUrl: url.toString(),
    seconds: run.options.realtimeSeconds,
    rate: 20,
    blockTime: 1,
    pollMs: 50,
    env: run.production.ponderEnv,
    nodeArgs: run.production.nodeArgs,
    logFile: path.join(run.logDir, `${run.stamp}-realtime.log`),
    log,
  });
}

/** The run's results: the machine, the chain, every phase's figures, the settings, and the targets. */
function assembleResults(
  run: Run,
  measured: Measured,
  postgres: PostgresServer | null,
  loadavgStart: number[],
): Results {
  const { options, chain, events, production } = run;
  const { meta } = chain;
  const sha = git(["rev-parse", "--short", "HEAD"]) || "nogit";
  const partial: Omit<Results, "targets"> = {
    date: new Date().toISOString(),
    git: { sha, dirty: git(["status", "--porcelain", "--untracked-files=no"]).length > 0 },
    label: options.label,
    mode: options.quick ? "quick" : "full",
    machine: {
      cores: os.cpus().length,
      memoryGb: Math.round(os.totalmem() / 1024 ** 3),
      cpuModel: os.cpus()[0]?.model ?? "?",
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      loadavgStart: loadavgStart.map((x) => Math.round(x * 100) / 100),
      loadavgEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
      postgres: postgres?.version ?? null,
      ponder: packageVersion("ponder"),
      anvil: packageVersion("@foundry-rs/anvil"),
    },
    events,
    chain: {
      logs: meta.events,
      key: meta.key,
      seed: meta.seed,
      invoices: meta.invoices,
      blocksPerDay: meta.blocksPerDay,
      head: meta.head,
      blocksWithTraffic: meta.blocksWithTraffic,
      eventCounts: meta.eventCounts,
      stateMb: Math.round(meta.stateBytes / 1e6),
      generated: chain.generated,
      loadSeconds: Math.round(chain.seconds * 10) / 10,
    },
    ceiling: measured.ceiling && {
      ...measured.ceiling,
      rpcOnly: measured.rpcOnly && {
        eventsPerSec: Math.round(measured.rpcOnly.eventsPerSec),
        seconds: measured.rpcOnly.seconds,
        requests: measured.rpcOnly.requests,
      },
    },
    backfill: measured.backfill,
    queries: measured.queries,
    queriesMeta: measured.queriesMeta,
    realtime: measured.realtime,
    settings: {
      postgresFlags: postgres?.flags ?? null,
      ponderEnv: production.ponderEnv,
      ponderNodeArgs: production.nodeArgs,
      pgliteEnv: options.ponderEnv,
      pgliteNodeArgs: options.nodeArgs,
      pollingIntervalMs: Number(production.ponderEnv.POLLING_INTERVAL_MS ?? 200),
      rpcProfile: options.rpcProfile ?? { name: "none", settings: null },
    },
    totalSeconds: Math.round((performance.now() - began) / 1_000),
  };
  return { ...partial, targets: evaluateTargets(partial) };
}

/** Writes the results: always to bench/cache/runs/, and unless --no-write to bench/results/ and BENCHMARKS.md. */
function saveResults(run: Run, results: Results) {
  // Every run, experiments included, leaves its full results in bench/cache/runs/ (gitignored).
  const runFile = path.join(ROOT, "bench/cache/runs", `${run.stamp}.json`);
  mkdirSync(path.dirname(runFile), { recursive: true });
  writeFileSync(runFile, `${JSON.stringify(results, null, 2)}\n`);
  log(`full results: ${path.relative(ROOT, runFile)}`);
  if (run.options.write) {
    const file = writeResults(results);
    updateBenchmarksFile(results, file, run.options.history);
    log(
      `results: ${path.relative(ROOT, file)}; BENCHMARKS.md updated${run.options.history ? " (history row added)" : ""}`,
    );
  }
  for (const target of results.targets) {
    log(`target ${target.met ? "met   " : "MISSED"}  ${target.name}: ${target.value} (wanted ${target.target})`);
  }
  log(`done in ${results.totalSeconds} s`);
}

async function main() {
  const options = parseOptions();
  if (!options) return;
  installStaleSocketRetry();
  const loadavgStart = os.loadavg();
  log(
    `bench ${options.quick ? "--quick" : "(full)"}: ${options.invoices} invoices, seed ${options.seed}; ` +
      `load average ${loadavgStart.map((x) => x.toFixed(2)).join(" ")}`,
  );
  let chain: BenchChain | null = null;
  let postgres: PostgresServer | null = null;
  const measured: Measured = {
    ceiling: null,
    rpcOnly: null,
    backfill: {},
    queries: [],
    queriesMeta: {},
    realtime: null,
  };
  try {
    const prepared = await chainPhase(options);
    chain = prepared.chain;
    const run: Run = {
      options,
      stamp: new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19),
      logDir: path.join(ROOT, "bench/cache/logs"),
      // PostgreSQL runs get start:prod's memory budget; PGlite (npm start, the embedded default, which
      // has none) runs with Node's and Ponder's defaults.
      production: withMemoryBudget(options.ponderEnv, options.nodeArgs, options.memoryBudget),
      chain,
      events: prepared.events,
      timeoutMs: Math.max(600_000, prepared.events * 2),
    };
    if (!options.skip.has("ceiling")) await ceilingPhase(run, prepared.selectors, measured);
    if (!options.skip.has("postgres")) {
      postgres = await startBenchPostgres(options.pgFlags);
      await postgresPhase(run, postgres, measured);
    }
    if (!options.skip.has("pglite")) await pglitePhase(run, measured);
    await chain.stop();
    if (!options.skip.has("realtime")) {
      postgres ??= await startBenchPostgres(options.pgFlags);
      await realtimePhase(run, postgres, measured);
    }
    saveResults(run, assembleResults(run, measured, postgres, loadavgStart));
  } finally {
    await chain?.stop();
    await postgres?.stop();
    await stopAll();
  }
}

main().catch(async (error: unknown) => {
  console.error(`bench: ${error instanceof Error ? (readEnv("DEBUG") ? error.stack : error.message) : String(error)}`);
  await stopAll();
  process.exit(1);
});
