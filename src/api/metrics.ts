/**
 * Our gauges and counters, served by Ponder's own GET /metrics (README, "Metrics and monitoring").
 * Ponder answers /metrics from its prom-client registry (node_modules/ponder/src/server/index.ts)
 * before any route of ours can, so the metrics are registered into that registry, which the
 * composition root gets from src/api/ponder-internals.ts: a registry calls each metric's `get()`
 * on every scrape. The stream and webhook figures are handed over by the root (MetricsSources):
 * this module imports neither.
 *
 * Figures read from the database (events indexed, anomalies, webhook deliveries, the indexed
 * block) are the same on every process that reads the database, indexer and `ponder serve`
 * replicas alike. They are cached for METRICS_CACHE_MS (5 s) and counted incrementally: rows up to
 * each chain's finalized checkpoint can no longer change, so only the rows after the last refresh's
 * finalized checkpoint are counted again (an index range on the (chainId, id) primary key).
 * Stream clients and webhook attempts are this process's own.
 */
import { readEnv } from "../../config/env.js";
import {
  type ChainCheckpoint,
  checkpointBlockNumber,
  checkpointTimestamp,
  type MetricsRegistry,
  type ReadQuery,
  readIndexerProgress,
} from "./ponder-internals.js";

type Labels = Record<string, string | number>;
type Sample = { labels: Labels; value: number };
type MetricType = "gauge" | "counter";

/** How long database and RPC figures are reused between scrapes. */
const CACHE_MS = readEnv("METRICS_CACHE_MS");
/** A scrape waits at most this long for a refresh; then it gets the previous figures. */
const SCRAPE_WAIT_MS = readEnv("METRICS_SCRAPE_WAIT_MS");

/**
 * Row counts of an event table by some columns, per chain, kept incrementally: the counts of rows
 * up to the chain's finalized checkpoint are added to as it moves, the rows after it are counted
 * afresh each time (a reorg can remove them). A new deployment behind the views schema (another
 * build id) or a finalized checkpoint that went back starts the count over.
 */
class IncrementalCounts {
  private readonly byChain = new Map<number, { generation: string; finalized: string; counts: Map<string, number> }>();

  constructor(
    private readonly read: ReadQuery,
    private readonly table: "activity" | "anomaly",
    private readonly columns: string[],
  ) {}

  private async countRange(chainId: number, after: string, upTo: string | undefined) {
    const columns = this.columns.map((column) => `"${column}"`).join(", ");
    // Checkpoints are digits only (and chain ids integers): safe as literals.
    const checkpoint = (value: string) => {
      if (!/^\d*$/.test(value)) throw new Error(`not a checkpoint: ${JSON.stringify(value)}`);
      return `'${value}'`;
    };
    const upper = upTo === undefined ? "" : ` AND id <= ${checkpoint(upTo)}`;
    const rows = await this.read<Record<string, string | number>>(
      `SELECT ${columns}, count(*)::int AS "n" FROM "${this.table}" WHERE chain_id = ${Number(chainId)} AND id > ${checkpoint(after)}${upper} GROUP BY ${columns}`,
    );
    const counts = new Map<string, number>();
    for (const row of rows) {
      const key = JSON.stringify(this.columns.map((column) => String(row[column])));
      counts.set(key, (counts.get(key) ?? 0) + Number(row.n));
    }
    return counts;
  }

  async refresh(generation: string, chains: ChainCheckpoint[]): Promise<Sample[]> {
    const samples: Sample[] = [];
    for (const chain of chains) {
      let state = this.byChain.get(chain.chainId);
      if (!state || state.generation !== generation || chain.finalized < state.finalized) {
        state = { generation, finalized: "", counts: new Map() };
        this.byChain.set(chain.chainId, state);
      }
      if (chain.finalized > state.finalized) {
        const added = await this.countRange(chain.chainId, state.finalized, chain.finalized);
        for (const [key, n] of added) state.counts.set(key, (state.counts.get(key) ?? 0) + n);
        state.finalized = chain.finalized;
      }
      const total = new Map(state.counts);
      for (const [key, n] of await this.countRange(chain.chainId, state.finalized, undefined)) {
        total.set(key, (total.get(key) ?? 0) + n);
      }
      for (const [key, value] of total) {
        const values = JSON.parse(key) as string[];
        const labels: Labels = { chain: chain.chainName, chain_id: chain.chainId };
        this.columns.forEach((column, i) => {
          labels[column === "type" ? "event" : column] = values[i];
        });
        samples.push({ labels, value });
      }
    }
    return samples;
  }
}

type Snapshot = {
  events: Sample[];
  anomalies: Sample[];
  indexedBlock: Sample[];
  indexedTimestamp: Sample[];
  headBlock: Sample[];
  lagBlocks: Sample[];
  lagSeconds: Sample[];
  ready: Sample[];
  webhookDeliveries: Sample[];
};

/** A snapshot with no figures: fresh arrays each time, since a refresh fills them in. */
const emptySnapshot = (): Snapshot => ({
  events: [],
  anomalies: [],
  indexedBlock: [],
  indexedTimestamp: [],
  headBlock: [],
  lagBlocks: [],
  lagSeconds: [],
  ready: [],
  webhookDeliveries: [],
});

/** A chain's latest block, through Ponder's RPC client of it (`publicClients` from "ponder:api"). */
export type ChainHeadClient = {
  getBlock: (args: { blockTag: "latest" }) => Promise<{ number: bigint | null; timestamp: bigint }>;
};

/** What the metrics read of the rest of the process, handed over by the composition root. */
export type MetricsSources = {
  /** Read-only SQL on the database the API reads. */
  read: ReadQuery;
  /** Ponder's RPC clients, by chain name. */
  chainClients: Record<string, ChainHeadClient>;
  /** The stream hub's counters. */
  streams: () => { clients: Record<string, number>; opened: number; dropped: Record<string, number> };
  /** The GraphQL answer cache of this process, if it has one (src/api/graphql/cache.ts). */
  graphqlCache?: () => { hits: number; misses: number; shared: number; bytes: number };
  /** The webhooks of this process, if it has them. */
  webhooks?: {
    ready: Promise<void>;
    deliveryCounts: () => Promise<Record<string, number>>;
    attempts: { delivered: number; failed: number };
    isLeader: () => boolean;
  };
};

/** The figures of one process: database figures cached and counted incrementally, local ones read live. */
export class OpenledgerMetrics {
  private readonly events: IncrementalCounts;
  private readonly anomalies: IncrementalCounts;
  private snapshot: Snapshot = emptySnapshot();
  private refreshedAt = 0;
  private refreshing: Promise<void> | undefined;
  private readonly refreshErrors = { database: 0, rpc: 0 };
  private lastErrorLog = 0;

  constructor(private readonly sources: MetricsSources) {
    this.events = new IncrementalCounts(sources.read, "activity", ["contract", "type"]);
    this.anomalies = new IncrementalCounts(sources.read, "anomaly", ["code"]);
  }

  logError(where: string, error: unknown) {
    if (Date.now() - this.lastErrorLog < 60_000) return;
    this.lastErrorLog = Date.now();
    console.error(`metrics: ${where}: ${(error as Error).message}`);
  }

  /** The chain heads, by chain name, through Ponder's RPC clients (one eth_getBlockByNumber each). */
  private async chainHeads(): Promise<Map<string, { number: number; timestamp: number }>> {
    const heads = new Map<string, { number: number; timestamp: number }>();
    await Promise.all(
      Object.entries(this.sources.chainClients).map(async ([name, client]) => {
        try {
          const block = await client.getBlock({ blockTag: "latest" });
          heads.set(name, { number: Number(block.number ?? 0n), timestamp: Number(block.timestamp) });
        } catch (error) {
          this.refreshErrors.rpc++;
          this.logError(`chain head of ${name}`, error);
        }
      }),
    );
    return heads;
  }

  private async webhookDeliveries(): Promise<Sample[]> {
    const webhooks = this.sources.webhooks;
    if (!webhooks) return [];
    const started = await Promise.race([
      webhooks.ready.then(() => true),
      new Promise((r) => setTimeout(r, 500, false)),
    ]);
    if (!started) return [];
    const byStatus = await webhooks.deliveryCounts();
    return Object.entries(byStatus).map(([status, value]) => ({ labels: { status }, value }));
  }

  private async refresh() {
    const next = emptySnapshot();
    const headsPromise = this.chainHeads();
    try {
      const progress = await readIndexerProgress(this.sources.read);
      const chains: ChainCheckpoint[] = progress?.chains ?? [];
      const generation = progress?.buildId ?? "";
      next.ready = [{ labels: {}, value: progress?.ready ? 1 : 0 }];
      next.events = await this.events.refresh(generation, chains);
      next.anomalies = await this.anomalies.refresh(generation, chains);
      const heads = await headsPromise;
      for (const chain of chains) {
        const labels = { chain: chain.chainName, chain_id: chain.chainId };
        const block = Number(checkpointBlockNumber(chain.latest));
        const timestamp = checkpointTimestamp(chain.latest);
        next.indexedBlock.push({ labels, value: block });
        next.indexedTimestamp.push({ labels, value: timestamp });
        const head = heads.get(chain.chainName);
        if (head) {
          next.headBlock.push({ labels, value: head.number });
          next.lagBlocks.push({ labels, value: Math.max(0, head.number - block) });
          next.lagSeconds.push({ labels, value: Math.max(0, head.timestamp - timestamp) });
        }
      }
      next.webhookDeliveries = await this.webhookDeliveries();
      this.snapshot = next;
      this.refreshedAt = Date.now();
    } catch (error) {
      // The tables may not exist yet (a replica started before the indexer): keep the last figures.
      this.refreshErrors.database++;
      this.logError("refresh", error);
      await headsPromise;
    }
  }

  /** The current figures: refreshed when older than METRICS_CACHE_MS, never waiting more than METRICS_SCRAPE_WAIT_MS. */
  async currentSnapshot(): Promise<Snapshot> {
    if (Date.now() - this.refreshedAt >= CACHE_MS) {
      this.refreshing ??= this.refresh().finally(() => {
        this.refreshing = undefined;
      });
      await Promise.race([this.refreshing, new Promise((resolve) => setTimeout(resolve, SCRAPE_WAIT_MS))]);
    }
    return this.snapshot;
  }

  /** Process-local figures, read at scrape time. */
  localSamples(): Record<string, Sample[]> {
    const streams = this.sources.streams();
    const webhooks = this.sources.webhooks;
    const cache = this.sources.graphqlCache?.();
    return {
      streamClients: Object.entries(streams.clients).map(([stream, value]) => ({ labels: { stream }, value })),
      streamOpened: [{ labels: {}, value: streams.opened }],
      streamDropped: Object.entries(streams.dropped).map(([reason, value]) => ({ labels: { reason }, value })),
      webhookAttempts: [
        { labels: { outcome: "delivered" }, value: webhooks?.attempts.delivered ?? 0 },
        { labels: { outcome: "failed" }, value: webhooks?.attempts.failed ?? 0 },
      ],
      webhookLeader: [{ labels: {}, value: webhooks?.isLeader() ? 1 : 0 }],
      refreshErrors: Object.entries(this.refreshErrors).map(([source, value]) => ({ labels: { source }, value })),
      graphqlCache: cache
        ? [
            { labels: { outcome: "hit" }, value: cache.hits },
            { labels: { outcome: "miss" }, value: cache.misses },
            { labels: { outcome: "shared" }, value: cache.shared },
          ]
        : [],
      graphqlCacheBytes: cache ? [{ labels: {}, value: cache.bytes }] : [],
    };
  }
}

type Definition = {
  name: string;
  help: string;
  type: MetricType;
  read: (figures: Snapshot, local: Record<string, Sample[]>) => Sample[];
};

/** Every metric of ours: names as Prometheus's conventions want them (`_total` on counters). */
export const OPENLEDGER_METRICS: Definition[] = [
  {
    name: "openledger_events_indexed",
    help: "Events indexed (rows of the activity table), by chain, contract and event name",
    type: "gauge",
    read: (s) => s.events,
  },
  {
    name: "openledger_anomalies",
    help: "Events the indexer could not apply as the contracts promise (rows of the anomaly table), by chain and code",
    type: "gauge",
    read: (s) => s.anomalies,
  },
  {
    name: "openledger_indexed_block",
    help: "The block the indexer has indexed up to, by chain",
    type: "gauge",
    read: (s) => s.indexedBlock,
  },
  {
    name: "openledger_indexed_block_timestamp_seconds",
    help: "The timestamp of the indexed block, by chain",
    type: "gauge",
    read: (s) => s.indexedTimestamp,
  },
  {
    name: "openledger_chain_head_block",
    help: "The chain's latest block, from the RPC",
    type: "gauge",
    read: (s) => s.headBlock,
  },
  {
    name: "openledger_lag_blocks",
    help: "Blocks between the chain head and the indexed block",
    type: "gauge",
    read: (s) => s.lagBlocks,
  },
  {
    name: "openledger_lag_seconds",
    help: "Seconds between the chain head's timestamp and the indexed block's",
    type: "gauge",
    read: (s) => s.lagSeconds,
  },
  {
    name: "openledger_ready",
    help: "1 once the deployment read by this process has completed its backfill (what /ready says)",
    type: "gauge",
    read: (s) => s.ready,
  },
  {
    name: "openledger_webhook_deliveries",
    help: "Webhook deliveries kept in the database (delivered ones for WEBHOOK_RETENTION_DAYS), by status",
    type: "gauge",
    read: (s) => s.webhookDeliveries,
  },
  {
    name: "openledger_webhook_delivery_attempts_total",
    help: "Webhook POSTs this process made, by outcome (only the process holding the delivery lock makes any)",
    type: "counter",
    read: (_, local) => local.webhookAttempts,
  },
  {
    name: "openledger_webhook_leader",
    help: "1 when this process holds the webhook delivery lock",
    type: "gauge",
    read: (_, local) => local.webhookLeader,
  },
  {
    name: "openledger_stream_clients",
    help: "Server-sent-event clients connected to this process, by stream",
    type: "gauge",
    read: (_, local) => local.streamClients,
  },
  {
    name: "openledger_stream_connections_opened_total",
    help: "Stream connections this process accepted",
    type: "counter",
    read: (_, local) => local.streamOpened,
  },
  {
    name: "openledger_stream_connections_dropped_total",
    help: "Stream connections this process dropped, by reason (slow, stalled, error)",
    type: "counter",
    read: (_, local) => local.streamDropped,
  },
  {
    name: "openledger_graphql_cache_lookups_total",
    help: "GraphQL answers looked up in this process's cache, by outcome (hit, miss, shared: waited for an identical request's computation); absent when the cache is off",
    type: "counter",
    read: (_, local) => local.graphqlCache,
  },
  {
    name: "openledger_graphql_cache_bytes",
    help: "Bytes of GraphQL answers this process keeps for the current indexed block",
    type: "gauge",
    read: (_, local) => local.graphqlCacheBytes,
  },
  {
    name: "openledger_metrics_refresh_errors_total",
    help: "Failed refreshes of these metrics, by source (database, rpc)",
    type: "counter",
    read: (_, local) => local.refreshErrors,
  },
];

/**
 * Adds our metrics to Ponder's registry (replacing earlier registrations, as after a hot reload),
 * reading their figures from `metrics`.
 */
export function registerOpenledgerMetrics(registry: MetricsRegistry, metrics: OpenledgerMetrics): void {
  for (const definition of OPENLEDGER_METRICS) {
    const { name, help, type } = definition;
    registry.removeSingleMetric(name);
    registry.registerMetric({
      name,
      help,
      type,
      aggregator: "sum",
      get: async () => {
        // A scrape must never fail because of us: on any error, the metric has no samples.
        let values: Sample[] = [];
        try {
          values = definition.read(await metrics.currentSnapshot(), metrics.localSamples());
        } catch (error) {
          metrics.logError(name, error);
        }
        return { name, help, type, aggregator: "sum", values };
      },
    });
  }
}
