/**
 * The `/graphql` endpoint: the schema generated from ponder.schema.ts (./schema.ts) served by
 * graphql-yoga with the armor limits (depth, aliases, tokens), the statement timeout, and an offline
 * query page on GET. It replaces Ponder's `graphql()` middleware and answers every query that one
 * answered (see docs/graphql.md).
 */
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import { specifiedRules, validate } from "graphql";
import { createYoga, type Plugin } from "graphql-yoga";
import { createMiddleware } from "hono/factory";
import { readEnv } from "../../../config/env.js";
import { ponderDialect } from "../ponder-internals.js";
import { hasErrors, type ResponseCache, type StateReader } from "./cache.js";
import { rpcBlockHashes } from "./meta.js";
import { PLAYGROUND_HTML } from "./playground.js";
import type { Database } from "./runner.js";
import { buildSchema, type Context } from "./schema.js";
import { compatibleRules } from "./validation.js";

/** The limits of one operation; each breach is answered with a GraphQL error naming it. */
export type GraphqlLimits = { maxOperationDepth: number; maxOperationAliases: number; maxOperationTokens: number };

/** Lets `$chainId: Float!` and the other widenings of ./validation.ts through. */
const compatibleValidation: Plugin = {
  onValidate({ setValidationFn }) {
    setValidationFn((schema, document, rules, typeInfo, options) =>
      validate(schema, document, compatibleRules(rules ?? specifiedRules), options, typeInfo),
    );
  },
};

/**
 * The middleware. `db` is `db` from "ponder:api"; `publicClients` (also from there) answers block hashes.
 * Which database Ponder runs on is read from its PONDER_DATABASE global (the statement timeout is
 * PostgreSQL's; PGlite has none). `statementTimeoutOnConnections`: `db`'s connections already time
 * statements out (setReadStatementTimeout), so none needs a transaction to set it (./runner.ts).
 */
export function graphqlApi(
  {
    db,
    schema,
    publicClients,
    statementTimeoutOnConnections = false,
  }: { db: unknown; schema: Record<string, unknown>; publicClients: unknown; statementTimeoutOnConnections?: boolean },
  limits: GraphqlLimits,
  cache?: { answers: ResponseCache; state: StateReader },
) {
  const dialect = ponderDialect() === "postgres" ? "postgres" : "pglite";
  const runner = {
    db: db as Database,
    dialect,
    timeoutMs: readEnv("GRAPHQL_STATEMENT_TIMEOUT_MS"),
    timeoutOnConnections: statementTimeoutOnConnections,
  } as const;
  const graphqlSchema = buildSchema(schema, rpcBlockHashes(publicClients as Parameters<typeof rpcBlockHashes>[0]));
  const yoga = createYoga<Record<string, unknown>, Context>({
    graphqlEndpoint: "*",
    schema: graphqlSchema,
    context: () => ({ runner, loaders: new Map() }),
    maskedErrors: readEnv("NODE_ENV") === "production",
    logging: false,
    graphiql: false,
    // Parsed and validated documents kept by query text (yoga's LRU): a page asks the same query with
    // other variables, and validation was a third of an uncached invoice page's CPU (docs/graphql.md).
    parserAndValidationCache: true,
    plugins: [
      compatibleValidation,
      maxTokensPlugin({ n: limits.maxOperationTokens }),
      maxDepthPlugin({ n: limits.maxOperationDepth, ignoreIntrospection: false }),
      maxAliasesPlugin({ n: limits.maxOperationAliases, allowList: [] }),
    ],
  });

  /** Yoga's answer; some GraphQL errors (a refused limit, a parse error) come with 4xx/5xx statuses. */
  const answer = async (request: Request) => {
    const response = await yoga.handle(request);
    if (response.status === 200) return response;
    // GraphQL over HTTP answers them with 200 and an `errors` list, as Ponder's middleware did.
    return new Response(response.body, { status: 200, statusText: "OK", headers: new Headers(response.headers) });
  };

  /** Answers being computed, by state and cache key: identical requests meanwhile wait for them. */
  const computing = new Map<string, Promise<{ status: number; headers: Headers; text: string }>>();
  const reply = ({ status, headers, text }: { status: number; headers: Headers; text: string }, outcome: string) => {
    const replyHeaders = new Headers(headers);
    replyHeaders.set("x-cache", outcome);
    return new Response(text, { status, headers: replyHeaders });
  };

  return createMiddleware(async (c) => {
    if (c.req.method === "GET") return c.html(PLAYGROUND_HTML);
    if (!cache || c.req.method !== "POST") return answer(c.req.raw);
    // The state first: the answer computed next reflects at least it (./cache.ts).
    const generation = await cache.state().catch(() => undefined);
    const body = await c.req.text();
    // The answer's media type follows the request's Accept (GraphQL over HTTP), so both are in the key.
    const key = `${c.req.header("content-type") ?? ""}\n${c.req.header("accept") ?? ""}\n${body}`;
    const compute = async () => {
      const response = await answer(new Request(c.req.raw.url, { method: "POST", headers: c.req.raw.headers, body }));
      return { status: response.status, headers: response.headers, text: await response.text() };
    };
    if (generation === undefined) return reply(await compute(), "miss");
    const flightKey = `${generation}\n${key}`;
    const running = computing.get(flightKey);
    if (running) {
      cache.answers.shared += 1;
      return reply(await running, "shared");
    }
    const kept = cache.answers.get(generation, key);
    if (kept !== undefined) {
      const newline = kept.indexOf("\n");
      const headers = { "content-type": kept.slice(0, newline), "x-cache": "hit" };
      return new Response(kept.slice(newline + 1), { headers });
    }
    const flight = compute().then((computed) => {
      const contentType = computed.headers.get("content-type");
      if (contentType && computed.status === 200 && !hasErrors(computed.text))
        cache.answers.set(generation, key, `${contentType}\n${computed.text}`);
      return computed;
    });
    computing.set(flightKey, flight);
    try {
      return reply(await flight, "miss");
    } finally {
      computing.delete(flightKey);
    }
  });
}
