/**
 * A JSON-RPC proxy on 127.0.0.1 in front of anvil, shared by the tests and the benchmark. It can
 * behave like a hosted provider (a profile: latency, a request-rate limit, eth_getLogs capped in
 * blocks and logs), inject faults (dropped connections, 429s, 500s, held requests, truncated or
 * non-JSON answers), and counts every JSON-RPC call it receives, by method.
 *
 * The profile's refusals are those Ponder (0.16.10 and 0.17.7 alike) handles best (node_modules/ponder/dist/esm/rpc/index.js
 * and sync-historical/index.js, and @ponder/utils' getLogsRetryHelper):
 * - over the rate limit, HTTP 429 with `Retry-After`: Ponder's RPC queue then marks the provider
 *   inactive for a moment, lowers its own request-rate limit by 5 % and retries with backoff (a
 *   JSON-RPC error -32005 is only retried, and its rate never adapts);
 * - over the eth_getLogs limits, Alchemy's "this block range should work: [0x…, 0x…]": Ponder splits
 *   the request at once (no retry, no backoff) and keeps the suggested span as its range for every
 *   later eth_getLogs of the chain. A range of one or two blocks is always served: Ponder cannot
 *   split it (a suggested span of one block would make it chunk by zero blocks).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Rng } from "../scripts/simulator/prng.js";

export type FaultKind = "drop" | "rate-limit" | "server-error" | "timeout" | "slow" | "truncated" | "bad-json";

/** How a hosted provider behaves, as far as an indexer notices. null: no limit. */
export type RpcProfile = {
  /** Milliseconds added to every answer (the round trip to a provider). */
  latencyMs: number;
  /** JSON-RPC calls per second, each call of a batch counted; beyond, HTTP 429 with Retry-After. */
  requestsPerSecond: number | null;
  /** The most blocks one eth_getLogs may span. */
  getLogsMaxBlocks: number | null;
  /** The most logs one eth_getLogs may answer. */
  getLogsMaxLogs: number | null;
};

/**
 * `passthrough` counts and forwards, nothing else. `realistic` is a paid plan of a hosted provider:
 * 30 ms away, 50 requests a second, eth_getLogs over at most 2,000 blocks and 10,000 logs.
 */
export const RPC_PROFILES = {
  passthrough: { latencyMs: 0, requestsPerSecond: null, getLogsMaxBlocks: null, getLogsMaxLogs: null },
  realistic: { latencyMs: 30, requestsPerSecond: 50, getLogsMaxBlocks: 2_000, getLogsMaxLogs: 10_000 },
} as const satisfies Record<string, RpcProfile>;

export type RpcProfileName = keyof typeof RPC_PROFILES;

export const RPC_PROFILE_NAMES = Object.keys(RPC_PROFILES) as RpcProfileName[];

/** The profile named `name` with some of its values replaced; a RangeError names a bad one. */
export function rpcProfile(name: string, overrides: Partial<RpcProfile> = {}): RpcProfile {
  if (!(name in RPC_PROFILES))
    throw new RangeError(`RPC profile ${name}: profiles are ${RPC_PROFILE_NAMES.join(", ")}`);
  const profile: RpcProfile = { ...RPC_PROFILES[name as RpcProfileName], ...overrides };
  if (!(Number.isFinite(profile.latencyMs) && profile.latencyMs >= 0)) {
    throw new RangeError(`latencyMs ${profile.latencyMs} must be a number >= 0`);
  }
  if (profile.requestsPerSecond !== null && !(profile.requestsPerSecond > 0)) {
    throw new RangeError(`requestsPerSecond ${profile.requestsPerSecond} must be a positive number`);
  }
  for (const key of ["getLogsMaxBlocks", "getLogsMaxLogs"] as const) {
    const value = profile[key];
    if (value !== null && !(Number.isSafeInteger(value) && value >= 2)) {
      throw new RangeError(`${key} ${value} must be an integer >= 2`);
    }
  }
  return profile;
}

export type FaultOptions = {
  seed: number;
  /** Probability that a request gets a fault (0..1). */
  rate: number;
  /** Relative weights of the faults; a kind left out never happens. */
  weights?: Partial<Record<FaultKind, number>>;
  /** How long a "timeout" holds the request before dropping it; default 12 s. */
  timeoutMs?: number;
};

export type RpcProxyOptions = {
  /** Where the answers come from (anvil's URL). */
  target: string;
  /** Default: passthrough. */
  profile?: RpcProfile;
  /** Default: none. */
  faults?: FaultOptions;
};

export type RpcProxyStats = {
  /** HTTP requests received. */
  requests: number;
  /** JSON-RPC calls received, each call of a batch counted, refused ones too. */
  calls: number;
  /** HTTP requests passed on to the target. */
  forwarded: number;
  /** Calls received, by method. */
  byMethod: Record<string, number>;
  /** Calls received in each second since the proxy started: the request rate the client kept up. */
  perSecond: number[];
  /** eth_getBlockByNumber calls by their block: "number" for a block number, else the tag ("latest"...). */
  blockByNumber: Record<string, number>;
  /** Calls answered HTTP 429 by the rate limit (the "rate-limit" fault is counted in `faults`). */
  rateLimited: number;
  /** eth_getLogs calls refused: over the block range, over the log count. */
  rangeRefusals: { blocks: number; logs: number };
  /**
   * eth_getLogs calls answered with their logs: how many, the blocks they spanned, the logs. Counted
   * only when the profile caps eth_getLogs (the answers are read then, and only then).
   */
  getLogs: { answered: number; blocks: number; logs: number };
  faults: Record<FaultKind, number>;
};

export type RpcProxy = {
  url: string;
  profile: RpcProfile;
  stats: RpcProxyStats;
  /** Turns faults on or off (e.g. off to let a check read the chain through the proxy). */
  setRate: (rate: number) => void;
  /** Refuses every request (connection dropped) while down. */
  setDown: (down: boolean) => void;
  stop: () => Promise<void>;
};

/** The fault proxy of the reliability and production suites: a passthrough profile with faults. */
export type FaultProxy = RpcProxy;

const DEFAULT_WEIGHTS: Record<FaultKind, number> = {
  drop: 3,
  "rate-limit": 3,
  "server-error": 3,
  timeout: 1,
  slow: 3,
  truncated: 2,
  "bad-json": 1,
};

/** Ponder's JSON-RPC error code for invalid params, which Alchemy answers a too large eth_getLogs with. */
const INVALID_PARAMS = -32602;

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

type Call = { id?: unknown; method?: unknown; params?: unknown };

/** The calls of a request body: one, a batch, or none when it is not JSON-RPC. */
function parseCalls(body: Buffer): { calls: Call[]; batch: boolean } {
  try {
    const parsed = JSON.parse(body.toString()) as unknown;
    if (Array.isArray(parsed)) return { calls: parsed as Call[], batch: true };
    if (parsed && typeof parsed === "object") return { calls: [parsed as Call], batch: false };
  } catch {
    // not JSON: forwarded as it is, the target answers it
  }
  return { calls: [], batch: false };
}

/**
 * A window of `rate` calls a second with a burst of one second's worth: `take(n)` returns 0 when
 * the calls may go, or the milliseconds until they could.
 */
class RateWindow {
  private tokens: number;
  private last = performance.now();
  constructor(private readonly rate: number) {
    this.tokens = rate;
  }

  take(n: number): number {
    const now = performance.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1_000) * this.rate);
    this.last = now;
    if (this.tokens >= n) {
      this.tokens -= n;
      return 0;
    }
    return ((n - this.tokens) / this.rate) * 1_000;
  }
}

export type GetLogsVerdict =
  | { refused: false }
  | { refused: "blocks" | "logs"; suggestion: [number, number]; message: string };

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * Whether an eth_getLogs over [from, to] whose answer has logs in `logBlocks` (their block numbers)
 * is refused under `limits`, and if so the range from `from` that should work, in Alchemy's words.
 * The suggestion is the longest prefix within both limits, named one block short of it because
 * Ponder chunks by `end - start` blocks; at least two blocks, so that Ponder never chunks by zero.
 */
export function judgeGetLogs(
  from: number,
  to: number,
  logBlocks: readonly number[],
  limits: Pick<RpcProfile, "getLogsMaxBlocks" | "getLogsMaxLogs">,
): GetLogsVerdict {
  const span = to - from + 1;
  const { getLogsMaxBlocks: maxBlocks, getLogsMaxLogs: maxLogs } = limits;
  const overBlocks = maxBlocks !== null && span > maxBlocks;
  const overLogs = maxLogs !== null && logBlocks.length > maxLogs;
  if ((!overBlocks && !overLogs) || span <= 2) return { refused: false };
  let good = Math.min(span, maxBlocks ?? span);
  if (overLogs && maxLogs !== null) {
    // The block of the first log over the cap: the blocks before it hold at most maxLogs logs.
    const firstOver = [...logBlocks].sort((a, b) => a - b)[maxLogs]!;
    good = Math.min(good, firstOver - from);
  }
  const end = from + Math.max(good - 1, 1);
  const limitsText = [
    maxBlocks === null ? null : `at most ${maxBlocks} blocks`,
    maxLogs === null ? null : `at most ${maxLogs} logs`,
  ]
    .filter(Boolean)
    .join(" and ");
  return {
    refused: overBlocks ? "blocks" : "logs",
    suggestion: [from, end],
    message:
      `Log response size exceeded. This provider answers eth_getLogs over ${limitsText}. ` +
      `Based on your parameters, this block range should work: [${hex(from)}, ${hex(end)}]`,
  };
}

const isBlockNumber = (value: unknown): value is string => typeof value === "string" && /^0x[0-9a-fA-F]+$/.test(value);

/**
 * A JSON-RPC proxy on 127.0.0.1 in front of `target`, with the provider `profile` (default
 * passthrough) and, if asked, faults injected into a fraction of the requests, deterministically
 * for a seed.
 */
export async function startRpcProxy(options: RpcProxyOptions): Promise<RpcProxy> {
  const profile = options.profile ?? RPC_PROFILES.passthrough;
  const faults = options.faults;
  const rng = new Rng(faults?.seed ?? 1);
  const weights = { ...DEFAULT_WEIGHTS, ...(faults?.weights ?? {}) };
  const kinds = (Object.keys(weights) as FaultKind[]).filter((kind) => weights[kind] > 0);
  const rateWindow = profile.requestsPerSecond === null ? null : new RateWindow(profile.requestsPerSecond);
  const limitsGetLogs = profile.getLogsMaxBlocks !== null || profile.getLogsMaxLogs !== null;
  let faultRate = faults?.rate ?? 0;
  let down = false;
  const stats: RpcProxyStats = {
    requests: 0,
    calls: 0,
    forwarded: 0,
    byMethod: {},
    perSecond: [],
    blockByNumber: {},
    rateLimited: 0,
    rangeRefusals: { blocks: 0, logs: 0 },
    getLogs: { answered: 0, blocks: 0, logs: 0 },
    faults: { drop: 0, "rate-limit": 0, "server-error": 0, timeout: 0, slow: 0, truncated: 0, "bad-json": 0 },
  };
  const held = new Set<ServerResponse>();

  const startedAt = performance.now();
  const count = (calls: Call[]) => {
    stats.calls += calls.length;
    const second = Math.floor((performance.now() - startedAt) / 1_000);
    while (stats.perSecond.length <= second) stats.perSecond.push(0);
    stats.perSecond[second]! += calls.length;
    for (const call of calls) {
      const method = typeof call.method === "string" ? call.method : "(no method)";
      stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
      if (method === "eth_getBlockByNumber" && Array.isArray(call.params)) {
        const block = call.params[0];
        const key = isBlockNumber(block) ? "number" : String(block);
        stats.blockByNumber[key] = (stats.blockByNumber[key] ?? 0) + 1;
      }
    }
  };

  const forward = async (body: Buffer, request: IncomingMessage) => {
    const answer = await fetch(options.target, {
      method: request.method,
      headers: { "content-type": "application/json" },
      body: request.method === "POST" ? new Uint8Array(body) : undefined,
    });
    stats.forwarded += 1;
    return { status: answer.status, text: await answer.text() };
  };

  /** The answer with every eth_getLogs over the limits replaced by the provider's refusal. */
  const limitGetLogs = (calls: Call[], batch: boolean, text: string): string => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return text;
    }
    const answers = (batch ? parsed : [parsed]) as Record<string, unknown>[];
    if (!Array.isArray(answers)) return text;
    let changed = false;
    for (const call of calls) {
      if (call.method !== "eth_getLogs" || !Array.isArray(call.params)) continue;
      const filter = call.params[0] as { fromBlock?: unknown; toBlock?: unknown } | undefined;
      const index = batch ? answers.findIndex((answer) => answer?.id === call.id) : 0;
      const answer = answers[index];
      if (!answer || !Array.isArray(answer.result)) continue;
      const logs = answer.result as { blockNumber?: string }[];
      if (!isBlockNumber(filter?.fromBlock) || !isBlockNumber(filter?.toBlock)) {
        stats.getLogs.answered += 1;
        stats.getLogs.logs += logs.length;
        continue;
      }
      const from = Number(filter.fromBlock);
      const to = Number(filter.toBlock);
      const verdict = judgeGetLogs(
        from,
        to,
        logs.map((log) => Number(log.blockNumber)),
        profile,
      );
      if (verdict.refused) {
        stats.rangeRefusals[verdict.refused] += 1;
        answers[index] = { jsonrpc: "2.0", id: call.id, error: { code: INVALID_PARAMS, message: verdict.message } };
        changed = true;
      } else {
        stats.getLogs.answered += 1;
        stats.getLogs.blocks += to - from + 1;
        stats.getLogs.logs += logs.length;
      }
    }
    return changed ? JSON.stringify(batch ? answers : answers[0]) : text;
  };

  const server: Server = createServer(async (request, response) => {
    stats.requests += 1;
    const body = await readBody(request);
    const { calls, batch } = parseCalls(body);
    count(calls);
    if (down) {
      request.socket.destroy();
      return;
    }
    try {
      if (profile.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, profile.latencyMs));
      const waitMs = rateWindow?.take(Math.max(calls.length, 1)) ?? 0;
      if (waitMs > 0) {
        stats.rateLimited += Math.max(calls.length, 1);
        response.writeHead(429, {
          "content-type": "application/json",
          "retry-after": String(Math.ceil(waitMs / 1_000)),
        });
        response.end(
          JSON.stringify({
            jsonrpc: "2.0",
            id: batch ? null : (calls[0]?.id ?? null),
            error: { code: 429, message: `Too Many Requests: over ${profile.requestsPerSecond} requests per second` },
          }),
        );
        return;
      }
      const fault = rng.next() < faultRate ? kinds[rng.weightedIndex(kinds.map((kind) => weights[kind]))] : undefined;
      if (fault) stats.faults[fault] += 1;
      switch (fault) {
        case "drop":
          request.socket.destroy();
          return;
        case "rate-limit":
          response.writeHead(429, { "content-type": "application/json", "retry-after": "1" });
          response.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32005, message: "rate limited" } }));
          return;
        case "server-error":
          response.writeHead(500, { "content-type": "text/plain" });
          response.end("internal server error");
          return;
        case "timeout":
          held.add(response);
          setTimeout(() => {
            held.delete(response);
            request.socket.destroy();
          }, faults?.timeoutMs ?? 12_000);
          return;
        case "bad-json":
          response.writeHead(200, { "content-type": "application/json" });
          response.end("<html>502 Bad Gateway</html>");
          return;
        default:
          break;
      }
      if (fault === "slow") await new Promise((r) => setTimeout(r, 500 + rng.int(0, 2_500)));
      const answer = await forward(body, request);
      const limited =
        limitsGetLogs && answer.status === 200 && calls.some((call) => call.method === "eth_getLogs")
          ? limitGetLogs(calls, batch, answer.text)
          : answer.text;
      const bytes = Buffer.from(limited);
      response.writeHead(answer.status, { "content-type": "application/json", "content-length": bytes.length });
      if (fault === "truncated") {
        response.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
        request.socket.destroy();
        return;
      }
      response.end(bytes);
    } catch {
      request.socket.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    profile,
    stats,
    setRate: (next) => {
      faultRate = next;
    },
    setDown: (next) => {
      down = next;
    },
    stop: async () => {
      for (const response of held) response.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A passthrough proxy that injects faults into a fraction `rate` of the requests, deterministically
 * for `seed`: dropped connections, 429 with Retry-After, 500s, requests held until the client gives
 * up, slow answers, bodies cut short, and answers that are not JSON.
 */
export function startFaultProxy(options: { target: string } & FaultOptions): Promise<FaultProxy> {
  const { target, ...faults } = options;
  return startRpcProxy({ target, faults });
}

/** Total faults injected. */
export function faultCount(proxy: RpcProxy): number {
  return Object.values(proxy.stats.faults).reduce((sum, n) => sum + n, 0);
}

/** eth_getLogs calls refused over the profile's limits. */
export function refusalCount(proxy: RpcProxy): number {
  return proxy.stats.rangeRefusals.blocks + proxy.stats.rangeRefusals.logs;
}
