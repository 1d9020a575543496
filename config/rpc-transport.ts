/**
 * The JSON-RPC transport of one chain: several providers tried in order, a request-rate limit, and
 * one log line each time the chain fails over to another provider or comes back to the first.
 *
 * Retries are Ponder's: it calls this transport with `retryCount: 0` and retries a failed request
 * itself (up to 9 times, with backoff, logging each "Received JSON-RPC error"). This transport does
 * not retry a provider either: a request that fails on one provider goes to the next at once, and
 * fails only when every provider failed, so that each fault is visible in the logs (viem's own
 * `retryCount` used to retry faults silently) and Ponder, not the transport, owns the retry policy.
 */
import {
  createTransport,
  HttpRequestError,
  http,
  SocketClosedError,
  TimeoutError,
  type Transport,
  WebSocketRequestError,
  webSocket,
} from "viem";

export type RpcTransportOptions = {
  /** Ponder's name for the chain, in the log lines: `rpc[home]: ...`. */
  chainName: string;
  /** Providers in order of preference; the first is used whenever it answers. */
  urls: readonly string[];
  /** Requests per second to the chain's providers, all attempts counted; undefined: unlimited. */
  requestsPerSecond?: number;
  /** After failing over, how long before a request tries the first provider again; default 30 s. */
  failbackAfterMs?: number;
  /** Where the failover lines go; default console.warn. */
  log?: (line: string) => void;
  /**
   * The chain id every provider must serve. Each provider's `eth_chainId` is asked before its first
   * use; a provider of another chain makes that request fail with a WrongChainError, after
   * `onWrongChain` (ponder.config.ts stops start-up there: every row is keyed by the chain id).
   */
  chainId?: number;
  onWrongChain?: (problem: WrongChain) => void;
};

/** A provider that serves another chain than the configured one. */
export type WrongChain = { chainName: string; url: string; expected: number; served: number };

/** Thrown by a request to a provider of another chain (not a provider fault: no failover). */
export class WrongChainError extends Error {
  override name = "WrongChainError";
  constructor(readonly problem: WrongChain) {
    super(`rpc[${problem.chainName}]: ${problem.url} serves chain ${problem.served}, not ${problem.expected}`);
  }
}

/**
 * A token bucket: `rate` tokens a second, holding at most `burst`. `take` resolves when a token is
 * available; callers waiting together are served as tokens come, not in a strict order.
 */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  constructor(
    readonly rate: number,
    readonly burst = Math.max(1, rate),
  ) {
    if (!(rate > 0)) throw new RangeError(`rate ${rate} is not a positive number`);
    this.tokens = this.burst;
  }

  async take(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(((1 - this.tokens) / this.rate) * 1000)));
    }
  }
}

/**
 * True for a failure of the provider itself (unreachable, timed out, an HTTP error status such as 429
 * or 5xx, an answer that is not JSON-RPC): another provider may do better. An error the provider
 * answered in JSON-RPC (a revert, "block range too large") is the answer, and is not failed over.
 */
export function isProviderFault(error: unknown): boolean {
  return (
    error instanceof HttpRequestError ||
    error instanceof TimeoutError ||
    error instanceof WebSocketRequestError ||
    error instanceof SocketClosedError
  );
}

/** A short reason for a log line: `HTTP 503`, `fetch failed`, `timed out`. */
export function faultReason(error: unknown): string {
  if (error instanceof TimeoutError) return "timed out";
  if (error instanceof HttpRequestError && error.status) return `HTTP ${error.status}`;
  if (error instanceof HttpRequestError || error instanceof WebSocketRequestError) {
    const details = error.details?.split("\n")[0];
    return details || error.shortMessage;
  }
  if (error instanceof Error) return error.message.split("\n")[0] ?? error.name;
  return String(error);
}

/** Hides credentials and API keys that providers put in URLs (`https://x.io/v2/<key>`): origin only. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname.length > 1 || parsed.search ? `${parsed.origin}/…` : parsed.origin;
  } catch {
    return "(bad url)";
  }
}

/**
 * A viem transport over `urls` in order: each request goes to the current provider (the first one
 * that answered last), and on a provider fault to the next ones at once. When the current provider
 * changes it logs one line, e.g. `rpc[home]: http://a failed (fetch failed); failing over to http://b`,
 * and `rpc[home]: http://a answers again; back from http://b` when, `failbackAfterMs` later, the
 * first provider answers again. When every provider fails, one line says so (and one when a
 * provider answers again); the request's error goes to Ponder, which retries it.
 */
export function rpcTransport(options: RpcTransportOptions): Transport {
  const { chainName, urls } = options;
  if (urls.length === 0) throw new RangeError(`rpc[${chainName}]: no RPC URL`);
  const log = options.log ?? ((line: string) => console.warn(line));
  const failbackAfterMs = options.failbackAfterMs ?? 30_000;
  const bucket = options.requestsPerSecond === undefined ? undefined : new TokenBucket(options.requestsPerSecond);
  const names = urls.map(redactUrl);
  let current = 0;
  let failedOverAt = 0;
  /** Every provider failed the last request: logged once, until one answers again. */
  let outage = false;
  /** The providers whose chain id matched `options.chainId` (checked once each). */
  const onChain = urls.map(() => options.chainId === undefined);

  return ({ chain, timeout = 10_000 }) => {
    const providers = urls.map((url) => {
      // No retries here (see the file's comment); viem caps answers at 10 MB, and a backfill's
      // eth_getLogs over a busy range is larger.
      const transport = /^wss?:/.test(url)
        ? webSocket(url, { retryCount: 0, timeout })
        : http(url, { retryCount: 0, timeout, maxResponseBodySize: false });
      return transport({ chain, retryCount: 0, timeout }).request;
    });

    /** Sends a request to provider `index`, asking its chain id first if that was never checked. */
    const send = async (index: number, method: string, params: unknown) => {
      const provider = providers[index]!;
      if (!onChain[index]) {
        const answer = await provider({ method: "eth_chainId" } as never);
        // Only a well-formed answer can prove another chain; anything else is asked again next time.
        if (typeof answer === "string" && /^0x[0-9a-fA-F]+$/.test(answer)) {
          const served = Number(answer);
          if (served !== options.chainId) {
            const problem = { chainName, url: names[index]!, expected: options.chainId!, served };
            options.onWrongChain?.(problem);
            throw new WrongChainError(problem);
          }
          onChain[index] = true;
        }
        if (method === "eth_chainId") return answer;
        await bucket?.take();
      }
      return provider({ method, params } as never);
    };

    const request = async ({ method, params }: { method: string; params?: unknown }) => {
      // After a failover, try the first provider again now and then.
      const probing = current !== 0 && Date.now() - failedOverAt >= failbackAfterMs;
      const start = probing ? 0 : current;
      let lastError: unknown;
      for (let attempt = 0; attempt < providers.length; attempt++) {
        const index = (start + attempt) % providers.length;
        await bucket?.take();
        try {
          const result = await send(index, method, params);
          if (outage) {
            log(`rpc[${chainName}]: ${names[index]} answers again`);
            outage = false;
          } else if (index !== current && index === 0) {
            log(`rpc[${chainName}]: ${names[0]} answers again; back from ${names[current]}`);
          }
          current = index;
          return result;
        } catch (error) {
          if (!isProviderFault(error)) throw error;
          lastError = error;
          if (probing && index === 0) {
            // The first provider is still down: stay where we are, quietly, for another while.
            failedOverAt = Date.now();
            continue;
          }
          const last = attempt === providers.length - 1;
          if (index === current && !last) {
            const next = (index + 1) % providers.length;
            // During an outage of every provider, one line has said so already.
            if (!outage) {
              log(`rpc[${chainName}]: ${names[index]} failed (${faultReason(error)}); failing over to ${names[next]}`);
            }
            current = next;
            failedOverAt = Date.now();
          }
        }
      }
      if (!outage) {
        log(
          `rpc[${chainName}]: every RPC URL failed (${faultReason(lastError)} from ${names[current]}); Ponder retries`,
        );
        outage = true;
      }
      throw lastError;
    };

    return createTransport({
      key: "openledger-rpc",
      name: `OpenLedger RPC (${chainName})`,
      type: "openledger-rpc",
      request: request as never,
      retryCount: 0,
      timeout,
    });
  };
}
