/**
 * The API's composition root, and the rule of the src/ folder: every file in src/ outside src/api/
 * is indexing code, loaded by Ponder as such and part of its build id (an edit there re-indexes);
 * src/api/ is the API, and its entry is this file, the composition root. No other module under
 * src/api/ starts, patches or registers anything when imported (they read their settings, no more):
 * this file creates the parts (the stream hub, the webhooks, the metrics), wires them to Ponder
 * (src/api/ponder-internals.ts, the only module that touches Ponder's internals) and to each
 * other, and mounts their routes.
 */
import { db, publicClients } from "ponder:api";
import schema from "ponder:schema";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { client, sql } from "ponder";
import { readEnv } from "../../config/env.js";
import { aggregates } from "./aggregates.js";
import dashboard from "./dashboard.js";
import { ResponseCache, type StateReader } from "./graphql/cache.js";
import { graphqlApi } from "./graphql/index.js";
import { type ChainHeadClient, OpenledgerMetrics, registerOpenledgerMetrics } from "./metrics.js";
import {
  maxConfirmations,
  onPonderApiShutdown,
  pinPgliteReadsToSchema,
  ponderDialect,
  ponderInternalsProblems,
  ponderMetricsRegistry,
  ponderPglite,
  ponderPostgresConnection,
  type ReadQuery,
  setReadStatementTimeout,
} from "./ponder-internals.js";
import { sqlGuard } from "./sql.js";
import { installStandbySupport, replicaState, sqlOnStandby } from "./standby.js";
import { statements } from "./statements.js";
import { StreamHub } from "./streams/hub.js";
import { STREAM_SETTINGS, streamRoutes } from "./streams/routes.js";
import { ponderStreamStore } from "./streams/store.js";
import { pgliteSqlClient, postgresSqlClient, type SqlClient, webhookSchema } from "./webhooks/database.js";
import { webhookAdminRoutes } from "./webhooks/routes.js";
import { startWebhooks, type Webhooks } from "./webhooks/service.js";

/**
 * Limits that keep one query from taking the server down. Each breach is answered with a GraphQL
 * error naming the limit (the armor plugins' messages: "Query depth limit of 12 exceeded, found 13").
 * `limit` above 1,000 on a list is refused by Ponder itself ("Invalid limit. Got 5000, expected <=1000.").
 * Depth 12 leaves room for an invoice's whole story (invoice → shares → items → account → ...).
 */
export const GRAPHQL_LIMITS = { maxOperationDepth: 12, maxOperationAliases: 20, maxOperationTokens: 2_000 } as const;
/** Larger request bodies are refused with 413 before they are parsed. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The database the webhook state lives in: Ponder's PGlite instance, or PostgreSQL via a pool of ours. */
function webhookDatabase(): SqlClient | undefined {
  const pglite = ponderPglite();
  if (pglite) return pgliteSqlClient(pglite);
  if (ponderDialect() === "postgres") {
    // A replica on a hot standby keeps webhook state on the primary (src/api/standby.ts).
    const primary = readEnv("PRIMARY_DATABASE_URL");
    if (primary) return postgresSqlClient({ connectionString: primary });
    const connection = ponderPostgresConnection() ?? {};
    return postgresSqlClient(
      Object.keys(connection).length > 0 ? connection : { connectionString: readEnv("DATABASE_URL") },
    );
  }
  return undefined;
}

/**
 * The GraphQL answer cache, keyed by each chain's indexed checkpoint as the standby module reads it
 * (at most GRAPHQL_CACHE_STATE_MS old). PGlite reads no state there, so it gets none.
 */
function createGraphqlCache(): { answers: ResponseCache; state: StateReader } | undefined {
  const megabytes = readEnv("GRAPHQL_CACHE_MB");
  if (megabytes === 0 || ponderDialect() !== "postgres") return undefined;
  const maxAgeMs = readEnv("GRAPHQL_CACHE_STATE_MS");
  return {
    answers: new ResponseCache(megabytes * 1024 * 1024),
    state: async () => {
      const { checkpoints } = await replicaState(maxAgeMs);
      return checkpoints.size === 0 ? undefined : [...checkpoints].map(([chain, at]) => `${chain}:${at}`).join(",");
    },
  };
}

/** Builds the API of this process: called once, when Ponder loads this file. */
function createApi(): Hono {
  for (const problem of ponderInternalsProblems(db)) console.error(`Ponder internals moved: ${problem}`);
  pinPgliteReadsToSchema(db);
  // Before anything reads: the API's connections time statements out themselves (GraphQL and /sql),
  // so GraphQL needs no transaction per statement to apply GRAPHQL_STATEMENT_TIMEOUT_MS.
  const statementTimeoutOnConnections = setReadStatementTimeout(readEnv("GRAPHQL_STATEMENT_TIMEOUT_MS"));

  const read: ReadQuery = async <T>(text: string) =>
    ((await db.execute(sql.raw(text))) as unknown as { rows: T[] }).rows;
  const streams = new StreamHub(STREAM_SETTINGS, (kind) => ponderStreamStore(kind, read));
  // Stop the pollers and close the connections before Ponder closes the database.
  onPonderApiShutdown(() => streams.stop());

  // Deliveries must not wait for the first admin request: they start with the API.
  const database = webhookDatabase();
  const webhooks: Webhooks | undefined = database
    ? startWebhooks({
        sql: database,
        schema: webhookSchema(),
        sources: (kind) => streams.source(kind),
        maxConfirmations: () => maxConfirmations(),
      })
    : undefined;
  if (webhooks) onPonderApiShutdown(() => webhooks.stop());

  // GraphQL answers kept until the indexed block moves (src/api/graphql/cache.ts), on PostgreSQL.
  const graphqlCache = createGraphqlCache();

  // Our gauges and counters join Ponder's own on GET /metrics (src/api/metrics.ts).
  const registry = ponderMetricsRegistry();
  if (registry) {
    const metrics = new OpenledgerMetrics({
      read,
      chainClients: publicClients as unknown as Record<string, ChainHeadClient>,
      streams: () => streams.stats(),
      graphqlCache:
        graphqlCache &&
        (() => ({
          hits: graphqlCache.answers.hits,
          misses: graphqlCache.answers.misses,
          shared: graphqlCache.answers.shared,
          bytes: graphqlCache.answers.size.bytes,
        })),
      webhooks: webhooks && {
        ready: webhooks.ready,
        deliveryCounts: () => webhooks.repository.deliveryCounts(),
        attempts: webhooks.dispatcher.attempts,
        isLeader: () => webhooks.dispatcher.leader,
      },
    });
    registerOpenledgerMetrics(registry, metrics);
  }
  // X-Indexed-Block on every answer, /ready failing on a lagging hot standby (src/api/standby.ts).
  installStandbySupport();

  const app = new Hono();

  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      // The rest of the body is never read, so the connection cannot serve another request: say so,
      // or a keep-alive client reuses it and its next request fails with ECONNRESET.
      onError: (c) =>
        c.json({ errors: [{ message: `Request body over the ${MAX_BODY_BYTES}-byte limit` }] }, 413, {
          Connection: "close",
        }),
    }),
  );
  // Our GraphQL, generated from ponder.schema.ts: a superset of Ponder's (src/api/graphql, docs/graphql.md).
  app.use(
    "/graphql",
    graphqlApi({ db, schema, publicClients, statementTimeoutOnConnections }, GRAPHQL_LIMITS, graphqlCache),
  );
  // Read-only SQL over HTTP for @ponder/client, behind a guard that answers refusals and failures
  // with 400 and their reason, and a database that does not answer with 503 (src/api/sql.ts).
  app.use(
    "/sql/*",
    sqlGuard(() => read("SELECT 1"), { probeSlowQueries: ponderDialect() === "postgres" }),
  );
  // On a hot standby: /sql/live refused, /sql/db keyed by the indexed state (src/api/standby.ts).
  app.use("/sql/*", sqlOnStandby);
  app.use("/sql/*", client({ db, schema }));

  app.route("/dashboard", dashboard);
  // Daily figures per chain and summed over the chains (src/api/aggregates.ts).
  app.route("/aggregates", aggregates);
  // A contributor's statement of credits and claims over a period (src/api/statements.ts, docs/attribution.md).
  app.route("/statements", statements);

  app.route(
    "/streams",
    streamRoutes(streams, () => maxConfirmations()),
  );
  app.route("/admin/webhooks", webhookAdminRoutes(webhooks));

  app.notFound((c) => c.json({ error: `No route ${c.req.method} ${c.req.path}: try POST /graphql or /sql/*` }, 404));
  app.onError((error, c) => {
    console.error(`API error on ${c.req.method} ${c.req.path}: ${error.message}`);
    return c.json({ error: "Internal error while answering the request" }, 500);
  });

  return app;
}

export default createApi();
