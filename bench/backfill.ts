/**
 * Backfill: `ponder start` from an empty database until every event is indexed, which we check
 * three ways: /ready answers 200, /status has reached the chain head, and GraphQL counts as many
 * invoices as the ledger and as many activity rows (one per indexed event) as the chain has events.
 * Meanwhile the RSS of Ponder's process tree is sampled every 200 ms. At the end, Ponder's own
 * figures (JSON logs and /metrics) say where the time went. With an RPC profile, Ponder's RPC goes
 * through the proxy of harness/rpc-proxy.ts (a hosted provider's latency and limits), which counts
 * its requests.
 */
import { execFileSync } from "node:child_process";
import { type MetricSample, scrapeMetrics } from "../harness/metrics.js";
import { indexedBlock, isReady, type PonderLog, type PonderProcess } from "../harness/ponder.js";
import { type RpcProfile, type RpcProxy, type RpcProxyStats, startRpcProxy } from "../harness/rpc-proxy.js";
import type { BenchChain } from "./chain.js";
import { track } from "./lib/cleanup.js";
import { startBenchPonder } from "./lib/ponder.js";
import { cpuSeconds, sampleRss } from "./lib/rss.js";

export type DatabaseTarget =
  | { kind: "postgres"; url: string; sizes: () => Record<string, number> }
  | { kind: "pglite"; directory: string };

export type BackfillResult = {
  seconds: number;
  eventsPerSec: number;
  ratioToCeiling: number | null;
  peakRssMb: number | null;
  peakRssRootMb: number | null;
  processes: number;
  dbMb: number;
  /** PostgreSQL: MB per schema (openledger = our tables, ponder_sync = Ponder's RPC cache). */
  dbBreakdownMb?: Record<string, number>;
  rows: { invoices: number; activity: number };
  timeline: Record<string, number>;
  /** CPU seconds used during the backfill by Ponder (its process tree), the node, and PostgreSQL's server. */
  cpuSeconds: Record<string, number>;
  profile: BackfillProfile;
  rssSeries: { atMs: number; mb: number }[];
  /** The JSON-RPC requests of the backfill (absent from results written before it was measured). */
  rpc?: RpcFigures;
  env: Record<string, string>;
  nodeArgs: string[];
  logFile: string;
};

export type BackfillProfile = {
  /** ponder_historical_transform_duration by step (s): prefetch, begin, index (handlers), load (flush), finalize, commit. */
  transformSeconds: Record<string, number>;
  /** ponder_historical_extract_duration by step (s): reading events back from ponder_sync, decoding. */
  extractSeconds: Record<string, number>;
  /** ponder_historical_concurrency_group_duration (s): time the indexing loop waited for events vs. indexed them. */
  concurrencySeconds: Record<string, number>;
  /** ponder_rpc_request_duration: requests and total seconds by method. */
  rpc: Record<string, { count: number; seconds: number }>;
  /** ponder_database_method_duration: the ten biggest by total seconds ("service.method"). */
  database: Record<string, { count: number; seconds: number }>;
  /** ponder_indexing_function_duration: total seconds and mean µs per event. */
  handlers: Record<string, { count: number; seconds: number; meanUs: number }>;
  /** ponder_indexing_cache_requests_total by table and hit/miss. */
  cache: Record<string, Record<string, number>>;
  /** ponder_indexing_store_queries_total: the handlers' store operations by table and method, and their total. */
  store: { total: number; byTable: Record<string, Record<string, number>> };
  /** "Indexed block range" logs: batches, their events, and the longest batch. */
  batches: { count: number; events: number; maxSeconds: number; meanEvents: number };
};

/** Where Ponder's RPC went during a backfill, and how many requests it made. */
export type RpcFigures = {
  /** "none" (anvil directly) or the proxy's profile name ("passthrough", "realistic"). */
  profile: string;
  /** The proxy's latency and limits; null without the proxy. */
  settings: RpcProfile | null;
  /**
   * "proxy": every JSON-RPC call the proxy received until every event was indexed (refused ones
   * included); "ponder": Ponder's metrics (ponder_rpc_request_duration_count, answered requests, plus
   * ponder_rpc_request_error_total), read after the backfill.
   */
  source: "proxy" | "ponder";
  total: number;
  byMethod: Record<string, number>;
  per1000Events: number;
  /** Proxy only: eth_getBlockByNumber by block ("number", "latest", "finalized"...). */
  blockByNumber?: Record<string, number>;
  /** Proxy only: calls received in each second from the proxy's start (Ponder's request rate). */
  perSecond?: number[];
  /** Proxy with eth_getLogs caps only: eth_getLogs answered, the blocks they spanned and the logs they carried. */
  getLogs?: RpcProxyStats["getLogs"];
  /** Proxy only: calls answered HTTP 429. */
  rateLimited: number | null;
  /** Proxy only: eth_getLogs refused over the block range or the log count. */
  rangeRefusals: RpcProxyStats["rangeRefusals"] | null;
  /** Requests Ponder saw fail (429s and range refusals included), from its metrics. */
  ponderErrors: number;
};

function sumBy(samples: MetricSample[], name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) if (s.name === name) out[s.labels[label]] = (out[s.labels[label]] ?? 0) + s.value;
  return out;
}

function histogram(samples: MetricSample[], name: string, key: (labels: Record<string, string>) => string) {
  const out: Record<string, { count: number; sum: number }> = {};
  for (const s of samples) {
    if (s.name !== `${name}_sum` && s.name !== `${name}_count`) continue;
    const k = key(s.labels);
    out[k] ??= { count: 0, sum: 0 };
    const entry = out[k];
    if (s.name.endsWith("_sum")) entry.sum += s.value;
    else entry.count += s.value;
  }
  return out;
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
const toSeconds = (record: Record<string, number>) =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, round(v / 1_000)]));

export function profileFrom(samples: MetricSample[], logs: PonderLog[]): BackfillProfile {
  const rpc = Object.fromEntries(
    Object.entries(histogram(samples, "ponder_rpc_request_duration", (l) => l.method)).map(([k, v]) => [
      k,
      { count: v.count, seconds: round(v.sum / 1_000) },
    ]),
  );
  const database = Object.fromEntries(
    Object.entries(histogram(samples, "ponder_database_method_duration", (l) => `${l.service}.${l.method}`))
      .sort((a, b) => b[1].sum - a[1].sum)
      .slice(0, 10)
      .map(([k, v]) => [k, { count: v.count, seconds: round(v.sum / 1_000) }]),
  );
  const handlers = Object.fromEntries(
    Object.entries(histogram(samples, "ponder_indexing_function_duration", (l) => l.event))
      .sort((a, b) => b[1].sum - a[1].sum)
      .map(([k, v]) => [
        k,
        { count: v.count, seconds: round(v.sum / 1_000), meanUs: v.count ? round((v.sum / v.count) * 1_000, 1) : 0 },
      ]),
  );
  const cache: Record<string, Record<string, number>> = {};
  for (const s of samples) {
    if (s.name !== "ponder_indexing_cache_requests_total") continue;
    cache[s.labels.table] ??= {};
    cache[s.labels.table][s.labels.type] = s.value;
  }
  const store: BackfillProfile["store"] = { total: 0, byTable: {} };
  for (const s of samples) {
    if (s.name !== "ponder_indexing_store_queries_total") continue;
    store.byTable[s.labels.table] ??= {};
    store.byTable[s.labels.table][s.labels.method] = s.value;
    store.total += s.value;
  }
  const batchLogs = logs.filter((log) => log.msg === "Indexed block range");
  const batchEvents = batchLogs.reduce((sum, log) => sum + Number(log.event_count ?? 0), 0);
  return {
    transformSeconds: toSeconds(sumBy(samples, "ponder_historical_transform_duration", "step")),
    extractSeconds: toSeconds(sumBy(samples, "ponder_historical_extract_duration", "step")),
    concurrencySeconds: toSeconds(sumBy(samples, "ponder_historical_concurrency_group_duration", "group")),
    rpc,
    database,
    handlers,
    cache,
    store,
    batches: {
      count: batchLogs.length,
      events: batchEvents,
      maxSeconds: round(Math.max(0, ...batchLogs.map((log) => Number(log.duration ?? 0))) / 1_000),
      meanEvents: batchLogs.length ? Math.round(batchEvents / batchLogs.length) : 0,
    },
  };
}

/** The RPC figures of a backfill: the proxy's counts if there was one, else Ponder's metrics. */
export function rpcFigures(options: {
  samples: MetricSample[];
  events: number;
  profileName: string;
  proxy: { settings: RpcProfile; stats: RpcProxyStats } | null;
}): RpcFigures {
  const { samples, events, proxy } = options;
  const ponderErrors = sumBy(samples, "ponder_rpc_request_error_total", "method");
  const errors = Object.values(ponderErrors).reduce((sum, n) => sum + n, 0);
  let byMethod: Record<string, number>;
  if (proxy) {
    byMethod = { ...proxy.stats.byMethod };
  } else {
    byMethod = { ...ponderErrors };
    for (const s of samples) {
      if (s.name !== "ponder_rpc_request_duration_count") continue;
      byMethod[s.labels.method] = (byMethod[s.labels.method] ?? 0) + s.value;
    }
  }
  byMethod = Object.fromEntries(Object.entries(byMethod).sort((a, b) => b[1] - a[1]));
  const total = Object.values(byMethod).reduce((sum, n) => sum + n, 0);
  return {
    profile: options.profileName,
    settings: proxy?.settings ?? null,
    source: proxy ? "proxy" : "ponder",
    total,
    byMethod,
    per1000Events: events > 0 ? round((total / events) * 1_000, 1) : 0,
    ...(proxy
      ? {
          blockByNumber: { ...proxy.stats.blockByNumber },
          perSecond: [...proxy.stats.perSecond],
          ...(proxy.settings.getLogsMaxBlocks !== null || proxy.settings.getLogsMaxLogs !== null
            ? { getLogs: { ...proxy.stats.getLogs } }
            : {}),
        }
      : {}),
    rateLimited: proxy ? proxy.stats.rateLimited : null,
    rangeRefusals: proxy ? { ...proxy.stats.rangeRefusals } : null,
    ponderErrors: errors,
  };
}

/** Seconds from the spawn to the first log of each milestone (and Ponder's own durations). */
function timelineFrom(ponder: PonderProcess, doneAt: number): Record<string, number> {
  const milestones: Record<string, [string, Record<string, string>?]> = {
    connectedDatabase: ["Connected to database"],
    startedFetching: ["Started fetching backfill JSON-RPC data"],
    startedIndexing: ["Started backfill indexing"],
    finishedFetching: ["Finished fetching backfill JSON-RPC data"],
    completedBackfill: ["Completed backfill indexing across all chains"],
    createdIndexes: ["Created database indexes"],
    ready: ["Started returning 200 responses", { endpoint: "/ready" }],
  };
  const timeline: Record<string, number> = {};
  const logs = ponder.jsonLogs();
  for (const [key, [msg, fields]] of Object.entries(milestones)) {
    const log = logs.find(
      (entry) => entry.msg === msg && Object.entries(fields ?? {}).every(([k, v]) => entry[k] === v),
    );
    if (!log) continue;
    timeline[`${key}At`] = round((log.time - ponder.startedAt) / 1_000);
    if (typeof log.duration === "number") timeline[`${key}Duration`] = round(log.duration / 1_000);
  }
  timeline.allRowsVisibleAt = round((doneAt - ponder.startedAt) / 1_000);
  return timeline;
}

type Counts = { invoices: number; activity: number };

async function countRows(ponder: PonderProcess): Promise<Counts> {
  const answer = await ponder.graphql<{ invoices: { totalCount: number }; activitys: { totalCount: number } }>(
    "{ invoices(limit: 1) { totalCount } activitys(limit: 1) { totalCount } }",
  );
  if (answer.errors?.length || !answer.data) throw new Error(`count query failed: ${JSON.stringify(answer.errors)}`);
  return { invoices: answer.data.invoices.totalCount, activity: answer.data.activitys.totalCount };
}

export function duMb(directory: string): number {
  const out = execFileSync("du", ["-sk", directory], { encoding: "utf8" });
  return Number(out.split(/\s+/)[0]) / 1024;
}

export type BackfillRun = { result: BackfillResult; ponder: PonderProcess };

/**
 * Starts Ponder on an empty database and waits until every event of `chain` is indexed. Returns
 * the result and the still running Ponder (the caller runs queries against it, then stops it).
 */
export async function runBackfill(options: {
  chain: BenchChain;
  /** Events the indexer handles: one activity row each. */
  events: number;
  database: DatabaseTarget;
  env: Record<string, string>;
  nodeArgs?: string[];
  logFile: string;
  ceilingEventsPerSec: number | null;
  timeoutMs: number;
  /** Other processes whose CPU time to account (the node, the database server). */
  cpuPids?: Record<string, number>;
  /**
   * Ponder's RPC through the proxy with this profile (it lives as long as the returned Ponder, and
   * runs in this process: its CPU is reported as `bench`); null or absent: anvil directly.
   */
  rpcProfile?: { name: string; settings: RpcProfile } | null;
  log: (message: string) => void;
}): Promise<BackfillRun> {
  const { chain, database } = options;
  const proxy = options.rpcProfile ? await startBenchProxy(chain.anvil.rpcUrl, options.rpcProfile.settings) : null;
  const env: Record<string, string> = {
    DEPLOYMENT_FILE: chain.deploymentFile,
    RPC_URL: proxy?.url ?? chain.anvil.rpcUrl,
    ...(database.kind === "postgres" ? { DATABASE_URL: database.url } : { PGLITE_DIRECTORY: database.directory }),
    ...options.env,
  };
  const expected: Counts = { invoices: Object.keys(chain.ledger.invoices).length, activity: options.events };
  const others = Object.entries(options.cpuPids ?? {});
  const cpuBefore = Object.fromEntries(others.map(([name, pid]) => [name, cpuSeconds(pid)]));
  const benchCpuBefore = process.cpuUsage();
  let ponder: PonderProcess;
  try {
    ponder = await startBenchPonder(env, { logFile: options.logFile, nodeArgs: options.nodeArgs });
  } catch (error) {
    await proxy?.stop();
    throw error;
  }
  const rss = sampleRss(ponder.pid, 200);
  let ponderCpu = 0;
  const cpuTimer = setInterval(() => {
    ponderCpu = Math.max(ponderCpu, cpuSeconds(ponder.pid));
  }, 1_000);
  cpuTimer.unref();
  try {
    const deadline = Date.now() + options.timeoutMs;
    let lastProgress = Date.now();
    let counts: Counts | null = null;
    let doneAt = 0;
    let mismatchSince = 0;
    let proxyStats: RpcProxyStats | null = null;
    for (;;) {
      if (ponder.exited()) throw new Error(`ponder exited during the backfill:\n${ponder.logs().slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`backfill not complete within ${options.timeoutMs / 1000} s`);
      if (Date.now() - lastProgress > 15_000) {
        lastProgress = Date.now();
        const progress = [...ponder.jsonLogs()]
          .reverse()
          .find((log) => log.msg === "Updated backfill indexing progress");
        options.log(
          `backfill ${database.kind}: ${Math.round((Date.now() - ponder.startedAt) / 1000)} s, ` +
            `${progress?.progress ?? "starting"}, rss ${Math.round(rss.peakMb() ?? 0)} MB peak`,
        );
      }
      if (await isReady(ponder.url)) {
        const checkedAt = Date.now();
        const block = await indexedBlock(ponder.url);
        if (block >= chain.meta.head) {
          counts = await countRows(ponder);
          if (counts.invoices === expected.invoices && counts.activity === expected.activity) {
            doneAt = checkedAt;
            // Ponder keeps polling the head afterwards: the requests of the backfill are those until now.
            proxyStats = proxy ? structuredClone(proxy.stats) : null;
            break;
          }
          mismatchSince ||= Date.now();
          if (Date.now() - mismatchSince > 30_000) {
            throw new Error(
              `ponder is ready at block ${block} but has ${counts.invoices} invoices and ${counts.activity} activity rows; ` +
                `the ledger has ${expected.invoices} invoices and ${expected.activity} events`,
            );
          }
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const seconds = (doneAt - ponder.startedAt) / 1_000;
    clearInterval(cpuTimer);
    const cpu: Record<string, number> = { ponder: round(Math.max(ponderCpu, cpuSeconds(ponder.pid)), 1) };
    for (const [name, pid] of others) cpu[name] = round(cpuSeconds(pid) - cpuBefore[name], 1);
    if (proxy) {
      // This process: the proxy, and the benchmark's own polling.
      const used = process.cpuUsage(benchCpuBefore);
      cpu.bench = round((used.user + used.system) / 1e6, 1);
    }
    cpu.wall = round(seconds, 1);
    const peakRssMb = rss.peakMb();
    const peakRssRootMb = rss.peakRootMb();
    const samples = await scrapeMetrics(ponder.url);
    let dbMb: number;
    let dbBreakdownMb: Record<string, number> | undefined;
    if (database.kind === "postgres") {
      const sizes = database.sizes();
      dbMb = sizes.total;
      dbBreakdownMb = sizes;
    } else {
      dbMb = duMb(database.directory);
    }
    const eventsPerSec = options.events / seconds;
    const result: BackfillResult = {
      seconds: round(seconds, 2),
      eventsPerSec: Math.round(eventsPerSec),
      ratioToCeiling: options.ceilingEventsPerSec ? round(eventsPerSec / options.ceilingEventsPerSec) : null,
      peakRssMb: peakRssMb === null ? null : Math.round(peakRssMb),
      peakRssRootMb: peakRssRootMb === null ? null : Math.round(peakRssRootMb),
      processes: rss.maxProcesses(),
      dbMb: Math.round(dbMb),
      dbBreakdownMb,
      rows: counts as Counts,
      timeline: timelineFrom(ponder, doneAt),
      cpuSeconds: cpu,
      profile: profileFrom(samples, ponder.jsonLogs()),
      rssSeries: rss.series(),
      rpc: rpcFigures({
        samples,
        events: options.events,
        profileName: options.rpcProfile?.name ?? "none",
        proxy: proxy && proxyStats ? { settings: proxy.profile, stats: proxyStats } : null,
      }),
      env: Object.fromEntries(Object.entries(options.env).filter(([key]) => !/URL|DIRECTORY|DEPLOYMENT/.test(key))),
      nodeArgs: options.nodeArgs ?? [],
      logFile: options.logFile,
    };
    rss.stop();
    // The proxy stays until Ponder is stopped (the queries run against this Ponder).
    const stop = async () => {
      await ponder.stop();
      await proxy?.stop();
    };
    return { result, ponder: { ...ponder, stop } };
  } catch (error) {
    clearInterval(cpuTimer);
    rss.stop();
    await ponder.stop();
    await proxy?.stop();
    throw error;
  }
}

/** The RPC proxy of a backfill, registered for cleanup (stopped after Ponder, which is newer). */
async function startBenchProxy(target: string, settings: RpcProfile): Promise<RpcProxy> {
  const proxy = await startRpcProxy({ target, profile: settings });
  const stop = track({ name: `rpc proxy ${proxy.url}`, stop: proxy.stop, kill: () => undefined });
  return { ...proxy, stop };
}
