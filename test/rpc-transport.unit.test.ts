import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { HttpRequestError } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcTransport, type WrongChain } from "../config/rpc-transport.js";
import { freePort } from "../harness/ports.js";

/** A real JSON-RPC server on 127.0.0.1: answers eth_blockNumber with its own number, or fails as told. */
type TinyRpc = { url: string; hits: number; mode: "ok" | "503" | "rpc-error"; stop: () => Promise<void> };

async function tinyRpc(blockNumber: number): Promise<TinyRpc> {
  const state = { hits: 0, mode: "ok" as TinyRpc["mode"] };
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      state.hits++;
      const { id } = JSON.parse(body) as { id: number };
      if (state.mode === "503") {
        response.writeHead(503, { "content-type": "text/plain" }).end("overloaded");
        return;
      }
      const answer =
        state.mode === "rpc-error"
          ? { jsonrpc: "2.0", id, error: { code: -32000, message: "execution reverted" } }
          : { jsonrpc: "2.0", id, result: `0x${blockNumber.toString(16)}` };
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get hits() {
      return state.hits;
    },
    get mode() {
      return state.mode;
    },
    set mode(mode) {
      state.mode = mode;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** How long the transport stays on a fallback before it probes the first URL again. */
const FAILBACK_MS = 1_000;

/** The transport as Ponder builds it: `retryCount: 0` and a timeout. */
function requester(options: Parameters<typeof rpcTransport>[0]) {
  const { request } = rpcTransport(options)({ retryCount: 0, timeout: 2_000 });
  return () => request({ method: "eth_blockNumber" }) as Promise<string>;
}

describe("config/rpc-transport: several RPC URLs with failover and a rate limit", () => {
  let first: TinyRpc;
  let second: TinyRpc;
  let closedUrl: string;

  beforeAll(async () => {
    first = await tinyRpc(1);
    second = await tinyRpc(2);
    closedUrl = `http://127.0.0.1:${await freePort()}`;
  });
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
  });

  it("fails over in order with one log line, stays there, and comes back to the first when it answers", async () => {
    const lines: string[] = [];
    first.mode = "503";
    const blockNumber = requester({
      chainName: "home",
      urls: [first.url, second.url],
      // Long enough for three requests on a loaded machine; the pauses below outlast it.
      failbackAfterMs: FAILBACK_MS,
      log: (line) => lines.push(line),
    });
    expect(await blockNumber()).toBe("0x2");
    expect(await blockNumber()).toBe("0x2");
    expect(await blockNumber()).toBe("0x2");
    expect(lines).toEqual([`rpc[home]: ${first.url} failed (HTTP 503); failing over to ${second.url}`]);
    const firstHits = first.hits;
    expect(firstHits).toBe(1);

    // Still down at the next probe: quietly stays on the second.
    await new Promise((resolve) => setTimeout(resolve, FAILBACK_MS + 50));
    expect(await blockNumber()).toBe("0x2");
    expect(first.hits).toBe(firstHits + 1);
    expect(lines).toHaveLength(1);

    first.mode = "ok";
    await new Promise((resolve) => setTimeout(resolve, FAILBACK_MS + 50));
    expect(await blockNumber()).toBe("0x1");
    expect(await blockNumber()).toBe("0x1");
    expect(lines[1]).toBe(`rpc[home]: ${first.url} answers again; back from ${second.url}`);
    expect(lines).toHaveLength(2);
  });

  it("does not fail over on a JSON-RPC error answer: that is the provider's answer", async () => {
    first.mode = "rpc-error";
    const secondHits = second.hits;
    const blockNumber = requester({ chainName: "home", urls: [first.url, second.url], log: () => undefined });
    const error = await blockNumber().catch((caught: unknown) => caught);
    expect(error).not.toBeInstanceOf(HttpRequestError);
    expect(error).toMatchObject({ code: -32000, details: "execution reverted" });
    expect(second.hits).toBe(secondHits);
    first.mode = "ok";
  });

  it("throws the last provider's error when every provider fails (Ponder retries and logs it)", async () => {
    const lines: string[] = [];
    second.mode = "503";
    const blockNumber = requester({ chainName: "l2", urls: [closedUrl, second.url], log: (line) => lines.push(line) });
    const error = await blockNumber().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HttpRequestError);
    expect((error as HttpRequestError).status).toBe(503);
    expect(lines).toEqual([
      `rpc[l2]: ${closedUrl} failed (fetch failed); failing over to ${second.url}`,
      `rpc[l2]: every RPC URL failed (HTTP 503 from ${second.url}); Ponder retries`,
    ]);
    // Failing again adds no line; the first answer after the outage does.
    await blockNumber().catch(() => undefined);
    expect(lines).toHaveLength(2);
    second.mode = "ok";
    expect(await blockNumber()).toBe("0x2");
    expect(lines[2]).toBe(`rpc[l2]: ${second.url} answers again`);
  });

  it("holds requests to the chain's rate: 30 requests at 10 per second take about two seconds", async () => {
    // Two seconds of holding: far more than 30 local requests take unheld, even on a loaded machine.
    const blockNumber = requester({ chainName: "home", urls: [first.url], requestsPerSecond: 10 });
    const started = Date.now();
    await Promise.all(Array.from({ length: 30 }, () => blockNumber()));
    const elapsed = Date.now() - started;
    // A burst of 10, then 20 more at 10 a second.
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
    expect(elapsed).toBeLessThan(6_000);
    const unlimited = requester({ chainName: "home", urls: [first.url] });
    const fast = Date.now();
    await Promise.all(Array.from({ length: 30 }, () => unlimited()));
    expect(Date.now() - fast).toBeLessThan(1_900);
  });

  it("asks each provider its chain id once, before its first use, and refuses one of another chain", async () => {
    // tinyRpc answers every method, eth_chainId included, with its number: 1 and 2 here.
    const home = await tinyRpc(1);
    const other = await tinyRpc(2);
    try {
      const problems: WrongChain[] = [];
      const blockNumber = requester({
        chainName: "home",
        urls: [home.url, other.url],
        chainId: 1,
        onWrongChain: (problem) => problems.push(problem),
        log: () => {},
      });
      expect(await blockNumber()).toBe("0x1");
      expect(await blockNumber()).toBe("0x1");
      expect(home.hits).toBe(3);
      // Failing over to a provider of chain 2 is refused, whatever the request.
      home.mode = "503";
      // (viem wraps the WrongChainError; its message stays.)
      await expect(blockNumber()).rejects.toThrow(/rpc\[home\]: http:\S+ serves chain 2, not 1/);
      expect(problems).toEqual([{ chainName: "home", url: other.url, expected: 1, served: 2 }]);
      expect(other.hits).toBe(1);
    } finally {
      await home.stop();
      await other.stop();
    }
  });
});
