/**
 * The realistic RPC profile of harness/rpc-proxy.ts against a tiny JSON-RPC server: its refusals
 * are those Ponder 0.16 acts on. The eth_getLogs refusal is read by Ponder's own matcher
 * (@ponder/utils' getLogsRetryHelper, what node_modules/ponder/dist/esm/sync-historical/index.js calls),
 * and the 429 reaches viem as an error with status 429, which Ponder's RPC queue (rpc/index.js) slows down on.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getLogsRetryHelper } from "@ponder/utils";
import { http, numberToHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { judgeGetLogs, type RpcProxy, rpcProfile, startRpcProxy } from "../harness/rpc-proxy.js";

/** Logs per block of the tiny server. */
const LOGS_PER_BLOCK = 10;

type Call = { id: number; method: string; params: { fromBlock: string; toBlock: string }[] };

/** Answers eth_getLogs with LOGS_PER_BLOCK logs in every block of the range, anything else with "0x1". */
function answer(call: Call) {
  if (call.method !== "eth_getLogs") return { jsonrpc: "2.0", id: call.id, result: "0x1" };
  const from = Number(call.params[0].fromBlock);
  const to = Number(call.params[0].toBlock);
  const logs = [];
  for (let block = from; block <= to; block++) {
    for (let i = 0; i < LOGS_PER_BLOCK; i++) logs.push({ blockNumber: numberToHex(block), logIndex: numberToHex(i) });
  }
  return { jsonrpc: "2.0", id: call.id, result: logs };
}

async function tinyNode(): Promise<{ url: string; stop: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      const parsed = JSON.parse(body) as Call | Call[];
      const result = Array.isArray(parsed) ? parsed.map(answer) : answer(parsed);
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A viem request function on `url` as Ponder builds its transports: no retries of its own. */
const client = (url: string) => http(url, { retryCount: 0 })({ retryCount: 0 }).request;

const getLogsParams = (from: number, to: number) =>
  [{ fromBlock: numberToHex(from), toBlock: numberToHex(to) }] as [
    { fromBlock: `0x${string}`; toBlock: `0x${string}` },
  ];

describe("judgeGetLogs", () => {
  const limits = { getLogsMaxBlocks: 100, getLogsMaxLogs: 50 };
  const logsIn = (from: number, to: number, perBlock: number) =>
    Array.from({ length: (to - from + 1) * perBlock }, (_, i) => from + Math.floor(i / perBlock));

  it("serves a request within both limits", () => {
    expect(judgeGetLogs(10, 109, logsIn(10, 109, 0), limits)).toEqual({ refused: false });
    expect(judgeGetLogs(10, 14, logsIn(10, 14, 10), limits)).toEqual({ refused: false });
  });

  it("refuses over the block range, suggesting a range within it (named one block short: Ponder chunks by end - start)", () => {
    const verdict = judgeGetLogs(10, 510, [], limits);
    expect(verdict).toMatchObject({ refused: "blocks", suggestion: [10, 109] });
  });

  it("refuses over the log count, suggesting the blocks whose logs fit", () => {
    // 10 logs a block: blocks 10..14 hold the 50 allowed.
    expect(judgeGetLogs(10, 30, logsIn(10, 30, 10), limits)).toMatchObject({ refused: "logs", suggestion: [10, 14] });
  });

  it("never suggests one block (Ponder would chunk by zero), and serves what cannot be split", () => {
    expect(judgeGetLogs(10, 30, logsIn(10, 30, 60), limits)).toMatchObject({ refused: "logs", suggestion: [10, 11] });
    expect(judgeGetLogs(10, 11, logsIn(10, 11, 60), limits)).toEqual({ refused: false });
  });
});

describe("the realistic RPC profile (harness/rpc-proxy.ts)", () => {
  let node: Awaited<ReturnType<typeof tinyNode>>;
  let proxy: RpcProxy;

  beforeAll(async () => {
    node = await tinyNode();
    proxy = await startRpcProxy({
      target: node.url,
      profile: rpcProfile("realistic", {
        latencyMs: 20,
        requestsPerSecond: 20,
        getLogsMaxBlocks: 100,
        getLogsMaxLogs: 200,
      }),
    });
  });

  afterAll(async () => {
    await proxy?.stop();
    await node?.stop();
  });

  it("has the documented defaults", () => {
    expect(rpcProfile("realistic")).toEqual({
      latencyMs: 30,
      requestsPerSecond: 50,
      getLogsMaxBlocks: 2_000,
      getLogsMaxLogs: 10_000,
    });
    expect(() => rpcProfile("realistic", { getLogsMaxLogs: 1 })).toThrow(/getLogsMaxLogs 1/);
    expect(() => rpcProfile("fast")).toThrow(/profiles are passthrough, realistic/);
  });

  it("refuses a large eth_getLogs with a text Ponder splits on, and serves the range it suggests", async () => {
    const request = client(proxy.url);
    const params = getLogsParams(1_000, 1_099);
    const error = await request({ method: "eth_getLogs", params }).catch((e: unknown) => e);
    // 100 blocks of 10 logs: over the 200 logs allowed.
    const retry = getLogsRetryHelper({ params, error: error as never });
    expect(retry).toMatchObject({ shouldRetry: true, isSuggestedRange: true });
    if (!retry.shouldRetry) throw new Error("unreachable");
    const first = retry.ranges[0]!;
    expect([Number(first.fromBlock), Number(first.toBlock)]).toEqual([1_000, 1_019]);
    expect(proxy.stats.rangeRefusals).toEqual({ blocks: 0, logs: 1 });
    // Ponder then asks `toBlock - fromBlock` = 19 blocks a request: 190 logs.
    const logs = (await request({ method: "eth_getLogs", params: getLogsParams(1_000, 1_018) })) as unknown[];
    expect(logs).toHaveLength(190);
    expect(proxy.stats.getLogs).toEqual({ answered: 1, blocks: 19, logs: 190 });

    const wide = await request({ method: "eth_getLogs", params: getLogsParams(0, 5_000) }).catch((e: unknown) => e);
    expect(getLogsRetryHelper({ params: getLogsParams(0, 5_000), error: wide as never })).toMatchObject({
      shouldRetry: true,
      isSuggestedRange: true,
    });
    expect(proxy.stats.rangeRefusals.blocks).toBe(1);
  });

  it("answers HTTP 429 with Retry-After over the rate limit, and counts each call of a batch", async () => {
    // A batch of 30 calls is over the 20 a second at once.
    const batch = Array.from({ length: 30 }, (_, id) => ({ jsonrpc: "2.0", id, method: "eth_chainId" }));
    const before = proxy.stats.rateLimited;
    const response = await fetch(proxy.url, { method: "POST", body: JSON.stringify(batch) });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(proxy.stats.rateLimited - before).toBe(30);
    expect(proxy.stats.byMethod.eth_chainId).toBe(30);

    // Through viem, as Ponder sees it: an error with HTTP status 429 (and the body's code, 429). Two
    // a second, so that even a stalled test process sends the ten requests faster than that.
    const slow = await startRpcProxy({ target: node.url, profile: rpcProfile("realistic", { requestsPerSecond: 2 }) });
    try {
      const request = client(slow.url);
      const answers = await Promise.allSettled(
        Array.from({ length: 10 }, () => request({ method: "eth_blockNumber" })),
      );
      const refused = answers.filter((a) => a.status === "rejected").map((a) => (a as PromiseRejectedResult).reason);
      expect(refused.length).toBeGreaterThan(0);
      expect(answers.length - refused.length).toBeGreaterThan(0);
      for (const error of refused) expect(error).toMatchObject({ status: 429, code: 429 });
      expect(slow.stats.byMethod.eth_blockNumber).toBe(10);
      expect(slow.stats.rateLimited).toBe(refused.length);
    } finally {
      await slow.stop();
    }
  });

  it("adds its latency to every answer", async () => {
    const began = performance.now();
    await fetch(proxy.url, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "net_version" }) });
    expect(performance.now() - began).toBeGreaterThanOrEqual(19);
  });
});
