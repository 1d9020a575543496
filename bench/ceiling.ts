/**
 * The ceiling: what any indexer could do at most with this RPC on this machine, without a
 * database. `eth_getLogs` over the whole range for the three indexed contracts, in chunks sized
 * adaptively to a number of logs per request, two requests in flight (fetching the next chunk
 * while the previous one is decoded), then viem's parseEventLogs (which formats the RPC logs) with
 * the three ABIs. Only the events the indexer handles are asked for (topic0 filter), as Ponder does.
 * With `decode: false`, the RPC alone: the ceiling of the node, whatever the decoder.
 */
import { type Address, createPublicClient, type Hex, http, numberToHex, parseEventLogs } from "viem";
import { InvoiceRegistryAbi } from "../abis/InvoiceRegistry.js";
import { SettlementEngineAbi } from "../abis/SettlementEngine.js";
import { StakeManagerAbi } from "../abis/StakeManager.js";
import type { Deployment } from "../config/deployment.js";

export const INDEXED_ABI = [...StakeManagerAbi, ...InvoiceRegistryAbi, ...SettlementEngineAbi];

export type CeilingResult = {
  eventsPerSec: number;
  seconds: number;
  events: number;
  requests: number;
  /** Sum over requests of the time to get and parse the JSON answer (requests overlap, two in flight). */
  fetchSeconds: number;
  /** Time spent in parseEventLogs (on the main thread, not overlapped with itself). */
  decodeSeconds: number;
  targetLogsPerRequest: number;
  concurrency: number;
  /** Events decoded by name; must match the ledger's eventCounts. */
  decodedByName: Record<string, number>;
  decoded: boolean;
};

export type CeilingOptions = {
  rpcUrl: string;
  deployment: Deployment;
  fromBlock: number;
  toBlock: number;
  /** topic0 of the events to fetch (the handled ones). */
  selectors: Hex[];
  /** false: fetch only (the RPC's ceiling); default true. */
  decode?: boolean;
  /** Logs aimed at per eth_getLogs request (the block range adapts to the density seen so far). */
  targetLogsPerRequest?: number;
  concurrency?: number;
  maxBlockRange?: number;
};

export async function measureCeiling(options: CeilingOptions): Promise<CeilingResult> {
  const target = options.targetLogsPerRequest ?? 20_000;
  const concurrency = options.concurrency ?? 2;
  const maxRange = options.maxBlockRange ?? 10_000;
  const client = createPublicClient({
    transport: http(options.rpcUrl, { maxResponseBodySize: false, timeout: 600_000, retryCount: 0 }),
  });
  const { StakeManager, InvoiceRegistry, SettlementEngine } = options.deployment.contracts;
  const address: Address[] = [StakeManager, InvoiceRegistry, SettlementEngine];

  let next = options.fromBlock;
  /**
   * Blocks per request: starts at one and at most doubles after each answer (blocks can hold
   * thousands of logs while the first ones hold none), aiming at `target` logs per request.
   */
  let span = 1;
  let fetchMs = 0;
  let decodeMs = 0;
  let requests = 0;
  let events = 0;
  const decodedByName: Record<string, number> = {};

  const nextRange = (): [number, number] | null => {
    if (next > options.toBlock) return null;
    const range: [number, number] = [next, Math.min(options.toBlock, next + span - 1)];
    next = range[1] + 1;
    return range;
  };
  const adapt = (blocks: number, logs: number) => {
    const wanted = logs > 0 ? Math.floor((target * blocks) / logs) : span * 2;
    span = Math.max(1, Math.min(maxRange, span * 2, wanted));
  };

  const began = performance.now();
  const worker = async () => {
    for (;;) {
      const range = nextRange();
      if (!range) return;
      const fetchBegan = performance.now();
      const raw = await client.request({
        method: "eth_getLogs",
        params: [
          { address, topics: [options.selectors], fromBlock: numberToHex(range[0]), toBlock: numberToHex(range[1]) },
        ],
      });
      fetchMs += performance.now() - fetchBegan;
      requests++;
      adapt(range[1] - range[0] + 1, raw.length);

      if (options.decode === false) {
        events += raw.length;
        continue;
      }
      const decodeBegan = performance.now();
      const parsed = parseEventLogs({ abi: INDEXED_ABI, logs: raw, strict: true });
      decodeMs += performance.now() - decodeBegan;
      if (parsed.length !== raw.length) {
        throw new Error(`decoded ${parsed.length} of ${raw.length} logs in blocks ${range[0]}..${range[1]}`);
      }
      events += parsed.length;
      for (const log of parsed) decodedByName[log.eventName] = (decodedByName[log.eventName] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - began) / 1_000;
  return {
    eventsPerSec: events / seconds,
    seconds,
    events,
    requests,
    fetchSeconds: fetchMs / 1_000,
    decodeSeconds: decodeMs / 1_000,
    targetLogsPerRequest: target,
    concurrency,
    decodedByName,
    decoded: options.decode !== false,
  };
}
