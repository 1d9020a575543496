/**
 * Realtime: a fresh chain that mines a block every second, the simulator's rate mode at ~20
 * invoices a second, and Ponder following it. For each invoice, the delay from its block to the
 * moment its row is visible through GraphQL (we poll the newest invoices every `pollMs`), measured
 * two ways: from the block's timestamp (whole seconds, as the issue defines it; anvil stamps a
 * block with the second it is mined in, so this includes up to a second of rounding), and from the
 * moment the block was first seen on the node (polled every 20 ms), which isolates the indexer.
 * The same two delays are measured for delivery on the push channel bots use: the `InvoiceIssued`
 * messages of `GET /streams/activity` (Server-Sent Events), read as they arrive.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { readEnv } from "../config/env.js";
import { blockNumber } from "../harness/chain.js";
import { type MetricSample, scrapeMetrics } from "../harness/metrics.js";
import { waitFor } from "../harness/wait.js";
import { startDevnet } from "../scripts/lib/devnet.js";
import { runSimulation } from "../scripts/simulator/index.js";
import { track } from "./lib/cleanup.js";
import { startBenchPonder } from "./lib/ponder.js";

export type RealtimeResult = {
  /** From the block's timestamp (the definition). */
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** From the wall time the block was first seen on the node (polled every 20 ms). */
  fromBlockSeen: { p50Ms: number; p95Ms: number; maxMs: number };
  invoices: number;
  /** Invoices the simulator issued that never became visible before the end of the run. */
  missed: number;
  seconds: number;
  blockTimeSeconds: number;
  ratePerSecond: number;
  pollMs: number;
  pollingIntervalMs: number;
  /** Delivery of each invoice's `InvoiceIssued` message on `GET /streams/activity`. */
  stream: {
    p50Ms: number;
    p95Ms: number;
    fromBlockSeen: { p50Ms: number; p95Ms: number };
    messages: number;
    missed: number;
  };
  /** Ponder's own histograms: block arrival (mined → received) and processing (received → indexed). */
  ponder: { blockArrivalMeanMs: number | null; processingMeanMs: number | null; blocks: number };
  env: Record<string, string>;
};

const round = (value: number) => Math.round(value);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function histogramMean(samples: MetricSample[], name: string): { mean: number | null; count: number } {
  const sum = samples.filter((s) => s.name === `${name}_sum`).reduce((a, s) => a + s.value, 0);
  const count = samples.filter((s) => s.name === `${name}_count`).reduce((a, s) => a + s.value, 0);
  return { mean: count > 0 ? sum / count : null, count };
}

export async function runRealtime(options: {
  databaseUrl: string;
  seconds: number;
  rate: number;
  blockTime: number;
  pollMs: number;
  env: Record<string, string>;
  nodeArgs?: string[];
  logFile: string;
  log: (message: string) => void;
}): Promise<RealtimeResult> {
  const workDir = mkdtempSync(path.join(tmpdir(), "openledger-bench-rt-"));
  const devnet = await startDevnet({ port: 0, blockTime: options.blockTime });
  const child = devnet.anvil.process;
  const stopAnvil = track({
    name: `anvil ${devnet.anvil.rpcUrl} (realtime)`,
    stop: () => devnet.stop(),
    kill: () => child.kill("SIGKILL"),
  });
  const deploymentFile = path.join(workDir, "deployment.json");
  writeFileSync(deploymentFile, JSON.stringify(devnet.deployment));
  // The local chain's polling interval unless --ponder-env sets one (config/env.ts).
  const pollingIntervalMs = String(readEnv("POLLING_INTERVAL_MS", options.env) ?? 200);
  const ponder = await startBenchPonder(
    {
      DEPLOYMENT_FILE: deploymentFile,
      RPC_URL: devnet.anvil.rpcUrl,
      DATABASE_URL: options.databaseUrl,
      POLLING_INTERVAL_MS: pollingIntervalMs,
      ...options.env,
    },
    { logFile: options.logFile, nodeArgs: options.nodeArgs },
  );
  const controller = new AbortController();
  let watching = true;
  try {
    await ponder.waitReady(120_000);

    // Block watcher: the wall time each block is first seen on the node.
    const blockSeenAt = new Map<number, number>();
    const watchBlocks = (async () => {
      while (watching) {
        try {
          const head = await blockNumber(devnet.anvil.rpcUrl);
          const now = Date.now();
          if (!blockSeenAt.has(head)) blockSeenAt.set(head, now);
        } catch {
          // the node is stopping
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    // Invoice watcher: the wall time each invoice row is first visible through GraphQL.
    const seen = new Map<string, { at: number; block: number; timestamp: number }>();
    const query = `{ invoices(orderBy: "invoiceId", orderDirection: "desc", limit: 100) { items { invoiceId blockNumber timestamp } } }`;
    const watchInvoices = (async () => {
      while (watching) {
        try {
          const answer = await ponder.graphql<{
            invoices: { items: { invoiceId: string; blockNumber: string; timestamp: string }[] };
          }>(query);
          const at = Date.now();
          for (const item of answer.data?.invoices.items ?? []) {
            if (seen.has(item.invoiceId)) continue;
            seen.set(item.invoiceId, { at, block: Number(item.blockNumber), timestamp: Number(item.timestamp) });
          }
        } catch {
          // a failed poll is retried
        }
        await new Promise((resolve) => setTimeout(resolve, options.pollMs));
      }
    })();

    // Stream watcher: the wall time each invoice's InvoiceIssued message arrives on the SSE stream.
    const streamed = new Map<string, { at: number; block: number; timestamp: number }>();
    const streamAbort = new AbortController();
    const watchStream = (async () => {
      try {
        const response = await fetch(`${ponder.url}/streams/activity?type=InvoiceIssued&after=now`, {
          signal: streamAbort.signal,
        });
        if (!response.ok || !response.body) throw new Error(`/streams/activity answered ${response.status}`);
        const decoder = new TextDecoder();
        let buffer = "";
        for await (const chunk of response.body) {
          const at = Date.now();
          buffer += decoder.decode(chunk, { stream: true });
          let end = buffer.indexOf("\n\n");
          while (end >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf("\n\n");
            if (!message.includes("event: activity")) continue;
            const data = message.split("\n").find((line) => line.startsWith("data: "));
            if (!data) continue;
            const row = JSON.parse(data.slice(6)) as { invoiceId: string; blockNumber: string; timestamp: string };
            if (!streamed.has(row.invoiceId))
              streamed.set(row.invoiceId, { at, block: Number(row.blockNumber), timestamp: Number(row.timestamp) });
          }
        }
      } catch (error) {
        if (!streamAbort.signal.aborted) options.log(`realtime: stream watcher stopped: ${(error as Error).message}`);
      }
    })();

    const invoices = Math.ceil(options.rate * options.seconds);
    const ticks = Math.ceil(invoices / options.rate);
    // Half a simulated second per tick: the simulator's target timestamps stay behind the chain's,
    // so it never sets a block timestamp and anvil stamps blocks with the wall clock.
    const days = (ticks * 0.5) / 86_400;
    const started = Date.now();
    options.log(`realtime: ${invoices} invoices at ${options.rate}/s on ${options.blockTime}-second blocks ...`);
    const timer = setTimeout(() => controller.abort(), (options.seconds + 30) * 1_000);
    const { ledger, stats } = await runSimulation({
      deployment: devnet.deployment,
      seed: 2,
      invoices,
      mode: { rate: options.rate },
      days,
      signal: controller.signal,
    }).finally(() => clearTimeout(timer));
    const issued = Object.values(ledger.invoices);
    // Let the last block be indexed and seen; what is still missing after 10 s is counted as missed.
    await waitFor(
      () => issued.every((invoice) => seen.has(invoice.invoiceId) && streamed.has(invoice.invoiceId)),
      10_000,
      "the last invoices",
    ).catch(() => {});
    watching = false;
    streamAbort.abort();
    await Promise.all([watchBlocks, watchInvoices, watchStream]);
    const seconds = (Date.now() - started) / 1_000;

    const fromTimestamp: number[] = [];
    const fromSeen: number[] = [];
    let missed = 0;
    for (const invoice of issued) {
      const row = seen.get(invoice.invoiceId);
      if (!row) {
        missed++;
        continue;
      }
      fromTimestamp.push(row.at - row.timestamp * 1_000);
      const blockAt = blockSeenAt.get(row.block);
      if (blockAt !== undefined) fromSeen.push(row.at - blockAt);
    }
    const streamFromTimestamp: number[] = [];
    const streamFromSeen: number[] = [];
    for (const invoice of issued) {
      const message = streamed.get(invoice.invoiceId);
      if (!message) continue;
      streamFromTimestamp.push(message.at - message.timestamp * 1_000);
      const blockAt = blockSeenAt.get(message.block);
      if (blockAt !== undefined) streamFromSeen.push(message.at - blockAt);
    }
    const samples = await scrapeMetrics(ponder.url);
    const arrival = histogramMean(samples, "ponder_realtime_block_arrival_latency");
    const processing = histogramMean(samples, "ponder_realtime_latency");
    options.log(
      `realtime: ${fromTimestamp.length} invoices seen (${missed} missed) of ${stats.invoices}; ` +
        `p50 ${round(percentile(fromTimestamp, 50))} ms, p95 ${round(percentile(fromTimestamp, 95))} ms from the block timestamp; ` +
        `stream: ${streamFromTimestamp.length} messages, p50 ${round(percentile(streamFromTimestamp, 50))} ms, ` +
        `p95 ${round(percentile(streamFromTimestamp, 95))} ms`,
    );
    return {
      p50Ms: round(percentile(fromTimestamp, 50)),
      p95Ms: round(percentile(fromTimestamp, 95)),
      maxMs: round(Math.max(...fromTimestamp)),
      fromBlockSeen: {
        p50Ms: round(percentile(fromSeen, 50)),
        p95Ms: round(percentile(fromSeen, 95)),
        maxMs: round(Math.max(...fromSeen)),
      },
      stream: {
        p50Ms: round(percentile(streamFromTimestamp, 50)),
        p95Ms: round(percentile(streamFromTimestamp, 95)),
        fromBlockSeen: { p50Ms: round(percentile(streamFromSeen, 50)), p95Ms: round(percentile(streamFromSeen, 95)) },
        messages: streamFromTimestamp.length,
        missed: issued.length - streamFromTimestamp.length,
      },
      invoices: fromTimestamp.length,
      missed,
      seconds: Math.round(seconds),
      blockTimeSeconds: options.blockTime,
      ratePerSecond: options.rate,
      pollMs: options.pollMs,
      pollingIntervalMs: Number(pollingIntervalMs),
      ponder: {
        blockArrivalMeanMs: arrival.mean === null ? null : round(arrival.mean),
        processingMeanMs: processing.mean === null ? null : round(processing.mean),
        blocks: processing.count,
      },
      env: options.env,
    };
  } finally {
    watching = false;
    controller.abort();
    await ponder.stop();
    await stopAnvil();
    rmSync(workDir, { recursive: true, force: true });
  }
}
