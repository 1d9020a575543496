/**
 * HTTP from the tests and the benchmark to the processes they start.
 *
 * Keep-alive: Ponder's server is Node's (keepAliveTimeout 5 s, announced as `Keep-Alive: timeout=5`);
 * Node's fetch (undici) keeps an idle socket for that hint minus a safety margin. On a loaded
 * machine the client's timers run late, and a request can go out on a socket the server has just
 * closed: `SocketError: other side closed`, with the request never read. `retryingStaleSocket`
 * sends an idempotent request once more on a fresh socket in that case.
 */

export type GraphQLAnswer<T> = { data?: T; errors?: { message: string }[] };

/** Error codes of a socket the server closed (or reset) before the request was answered. */
const STALE_SOCKET_CODES = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE"]);

function isStaleSocket(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause;
  return typeof cause?.code === "string" && STALE_SOCKET_CODES.has(cause.code);
}

/** GET, HEAD, OPTIONS, and GraphQL POSTs (Ponder's GraphQL has queries only): safe to send twice. */
function isIdempotent(input: string | URL | Request, init?: RequestInit): boolean {
  const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
  if (method === "GET" || method === "HEAD" || method === "OPTIONS") return true;
  const url = input instanceof Request ? input.url : String(input);
  return method === "POST" && new URL(url).pathname.endsWith("/graphql") && !(init?.body instanceof ReadableStream);
}

/** `fetch`, sending an idempotent request once more when it went out on a socket the server had closed. */
export function retryingStaleSocket(fetchImpl: typeof fetch): typeof fetch {
  return async (input, init) => {
    try {
      return await fetchImpl(input, init);
    } catch (error) {
      if (!isStaleSocket(error) || !isIdempotent(input, init) || init?.signal?.aborted) throw error;
      return fetchImpl(input, init);
    }
  };
}

/**
 * Makes the global `fetch` of this process retry idempotent requests once on a stale socket (the
 * vitest setup file and the benchmark call it first thing). Idempotent: a second call does nothing.
 */
export function installStaleSocketRetry() {
  const marker = Symbol.for("openledger.staleSocketRetry");
  const global = globalThis as typeof globalThis & { [marker]?: boolean };
  if (global[marker]) return;
  global.fetch = retryingStaleSocket(global.fetch);
  global[marker] = true;
}

/** The status of a GET, or undefined when nothing answers (not listening yet, or gone). */
export async function httpStatus(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url);
    await response.body?.cancel();
    return response.status;
  } catch {
    return undefined;
  }
}

/** POSTs a GraphQL query to `${url}/graphql` and returns the parsed answer. */
export async function postGraphql<T>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLAnswer<T>> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLAnswer<T>;
}
