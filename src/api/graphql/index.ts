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
 * PostgreSQL's; PGlite has none).
 */
export function graphqlApi(
  { db, schema, publicClients }: { db: unknown; schema: Record<string, unknown>; publicClients: unknown },
  limits: GraphqlLimits,
  cache?: { answers: ResponseCache; state: StateReader },
) {
  const dialect = ponderDialect() === "postgres" ? "postgres" : "pglite";
  const runner = { db: db as Database, dialect, timeoutMs: readEnv("GRAPHQL_STATEMENT_TIMEOUT_MS") } as const;
  const graphqlSchema = buildSchema(schema, rpcBlockHashes(publicClients as Parameters<typeof rpcBlockHashes>[0]));
  const yoga = createYoga<Record<string, unknown>, Context>({
    graphqlEndpoint: "*",
    schema: graphqlSchema,
    context: () => ({ runner, loaders: new Map() }),
    maskedErrors: readEnv("NODE_ENV") === "production",
    logging: false,
    graphiql: false,
    parserAndValidationCache: false,
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

  return createMiddleware(async (c) => {
    if (c.req.method === "GET") return c.html(PLAYGROUND_HTML);
    if (!cache || c.req.method !== "POST") return answer(c.req.raw);
    // The state first: the answer computed next reflects at least it (./cache.ts).
    const generation = await cache.state().catch(() => undefined);
    const body = await c.req.text();
    // The answer's media type follows the request's Accept (GraphQL over HTTP), so both are in the key.
    const key = `${c.req.header("content-type") ?? ""}\n${c.req.header("accept") ?? ""}\n${body}`;
    const kept = generation === undefined ? undefined : cache.answers.get(generation, key);
    if (kept !== undefined) {
      const newline = kept.indexOf("\n");
      const headers = { "content-type": kept.slice(0, newline), "x-cache": "hit" };
      return new Response(kept.slice(newline + 1), { headers });
    }
    const response = await answer(new Request(c.req.raw.url, { method: "POST", headers: c.req.raw.headers, body }));
    const text = await response.text();
    const contentType = response.headers.get("content-type");
    if (generation !== undefined && contentType && response.status === 200 && !hasErrors(text)) {
      cache.answers.set(generation, key, `${contentType}\n${text}`);
    }
    const headers = new Headers(response.headers);
    headers.set("x-cache", "miss");
    return new Response(text, { status: response.status, headers });
  });
}
