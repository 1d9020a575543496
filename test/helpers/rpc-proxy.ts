import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Rng } from "../../scripts/simulator/prng.js";

export type FaultKind = "drop" | "rate-limit" | "server-error" | "timeout" | "slow" | "truncated" | "bad-json";

export type FaultProxyOptions = {
  /** Where the answers come from (anvil's URL). */
  target: string;
  seed: number;
  /** Probability that a request gets a fault (0..1). */
  rate: number;
  /** Relative weights of the faults; a kind left out never happens. */
  weights?: Partial<Record<FaultKind, number>>;
  /** How long a "timeout" holds the request before dropping it; default 12 s. */
  timeoutMs?: number;
};

export type FaultProxy = {
  url: string;
  /** Requests seen and faults injected, by kind. */
  stats: { requests: number; forwarded: number; faults: Record<FaultKind, number> };
  /** Turns faults on or off (e.g. off to let a check read the chain through the proxy). */
  setRate: (rate: number) => void;
  /** Refuses every request (connection dropped) while down. */
  setDown: (down: boolean) => void;
  stop: () => Promise<void>;
};

const DEFAULT_WEIGHTS: Record<FaultKind, number> = {
  drop: 3,
  "rate-limit": 3,
  "server-error": 3,
  timeout: 1,
  slow: 3,
  truncated: 2,
  "bad-json": 1,
};

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A JSON-RPC proxy on 127.0.0.1 that injects faults into a fraction of the requests, deterministically
 * for a seed: dropped connections, 429 with Retry-After, 500s, requests held until the client gives
 * up, slow answers, bodies cut short, and answers that are not JSON.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const rng = new Rng(options.seed);
  const weights = { ...DEFAULT_WEIGHTS, ...(options.weights ?? {}) };
  const kinds = (Object.keys(weights) as FaultKind[]).filter((kind) => weights[kind] > 0);
  let rate = options.rate;
  let down = false;
  const stats: FaultProxy["stats"] = {
    requests: 0,
    forwarded: 0,
    faults: { drop: 0, "rate-limit": 0, "server-error": 0, timeout: 0, slow: 0, truncated: 0, "bad-json": 0 },
  };
  const held = new Set<ServerResponse>();

  const forward = async (body: Buffer, request: IncomingMessage) => {
    const answer = await fetch(options.target, {
      method: request.method,
      headers: { "content-type": "application/json" },
      body: request.method === "POST" ? new Uint8Array(body) : undefined,
    });
    stats.forwarded += 1;
    return { status: answer.status, text: await answer.text() };
  };

  const server: Server = createServer(async (request, response) => {
    stats.requests += 1;
    const body = await readBody(request);
    if (down) {
      request.socket.destroy();
      return;
    }
    const fault = rng.next() < rate ? kinds[rng.weightedIndex(kinds.map((kind) => weights[kind]))] : undefined;
    try {
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
          }, options.timeoutMs ?? 12_000);
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
      const bytes = Buffer.from(answer.text);
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
    stats,
    setRate: (next) => {
      rate = next;
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

/** Total faults injected. */
export function faultCount(proxy: FaultProxy): number {
  return Object.values(proxy.stats.faults).reduce((sum, n) => sum + n, 0);
}
