import { db } from "ponder:api";
import schema from "ponder:schema";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { client, graphql } from "ponder";
import { aggregates } from "./aggregates.js";
import dashboard from "./dashboard.js";
import { registerOpenledgerMetrics } from "./metrics.js";
import { installStandbySupport, sqlOnStandby } from "./standby.js";
import { streams } from "./streams.js";
import { webhooksAdmin } from "./webhooks.js";

/**
 * Limits that keep one query from taking the server down. Each breach is answered with a GraphQL
 * error naming the limit (the armor plugins' messages: "Query depth limit of 12 exceeded, found 13").
 * `limit` above 1,000 on a list is refused by Ponder itself ("Invalid limit. Got 5000, expected <=1000.").
 * Depth 12 leaves room for an invoice's whole story (invoice → shares → items → account → ...).
 */
export const GRAPHQL_LIMITS = { maxOperationDepth: 12, maxOperationAliases: 20, maxOperationTokens: 2_000 } as const;
/** Larger request bodies are refused with 413 before they are parsed. */
export const MAX_BODY_BYTES = 64 * 1024;

type PgliteLike = {
  query: (text: string, params?: unknown[], options?: unknown) => Promise<unknown>;
  transaction: <T>(
    callback: (tx: PgliteLike & { exec: (text: string) => Promise<unknown> }) => Promise<T>,
  ) => Promise<T>;
};

/**
 * On PGlite, Ponder flushes large batches of updates through TEMP tables named like our tables, on
 * the one connection the API shares; an unqualified name (what @ponder/client sends to /sql, which
 * refuses schema names) then reads that empty scratch table, since pg_temp comes first in the
 * search path. So every read of the API runs in a read-only transaction that puts pg_temp last.
 * PostgreSQL is unaffected: the API reads on connections of its own.
 */
function readRealTablesOnPglite() {
  const database = (globalThis as { PONDER_DATABASE?: { driver: { dialect: string } } }).PONDER_DATABASE;
  if (database?.driver.dialect !== "pglite") return;
  const schemaName = (globalThis as unknown as { PONDER_NAMESPACE_BUILD: { schema: string } }).PONDER_NAMESPACE_BUILD
    .schema;
  const session = (db as unknown as { _: { session: { client: PgliteLike } } })._.session;
  const pglite = session.client;
  const setup = `SET TRANSACTION READ ONLY; SET LOCAL search_path TO "${schemaName.replaceAll('"', '""')}", pg_temp`;
  session.client = new Proxy(pglite, {
    get(target, property, receiver) {
      if (property !== "query") return Reflect.get(target, property, receiver);
      return (text: string, params?: unknown[], options?: unknown) =>
        target.transaction(async (tx) => {
          await tx.exec(setup);
          return tx.query(text, params, options);
        });
    },
  });
}
readRealTablesOnPglite();
// Our gauges and counters join Ponder's own on GET /metrics (src/api/metrics.ts).
registerOpenledgerMetrics();
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
app.use("/graphql", graphql({ db, schema }, GRAPHQL_LIMITS));
// Read-only SQL over HTTP for @ponder/client: Ponder parses each query and refuses writes, but
// answers a refused or failing query with a 500; it is the client's query that is wrong, so 400.
// The same for live queries (/sql/live), where a "sql" parameter that is not JSON threw (a 500).
app.use("/sql/*", async (c, next) => {
  const sql = c.req.path === "/sql/db" || c.req.path === "/sql/live" ? c.req.query("sql") : undefined;
  // Ponder counts a live query before checking it and never uncounts a refused one: refuse here what we can.
  if (c.req.path === "/sql/live" && sql === undefined) return c.json({ error: 'Missing "sql" query parameter' }, 400);
  if (sql !== undefined) {
    let parsed: { json?: { sql?: unknown } } | undefined;
    try {
      parsed = JSON.parse(sql);
    } catch {}
    if (typeof parsed?.json?.sql !== "string") {
      return c.json(
        { error: 'The "sql" parameter must be the JSON that @ponder/client sends: {"json":{"sql":"..."}}' },
        400,
      );
    }
  }
  await next();
  if (sql !== undefined && c.res.status === 500) {
    const reason = await c.res.text();
    c.res = undefined;
    c.res = c.json({ error: `SQL query refused: ${reason}` }, 400);
  }
});
// On a hot standby: /sql/live refused, /sql/db keyed by the indexed state (src/api/standby.ts).
app.use("/sql/*", sqlOnStandby);
app.use("/sql/*", client({ db, schema }));

app.route("/dashboard", dashboard);
// Daily figures per chain and summed over the chains (src/api/aggregates.ts).
app.route("/aggregates", aggregates);

app.route("/streams", streams);
app.route("/admin/webhooks", webhooksAdmin);

app.notFound((c) => c.json({ error: `No route ${c.req.method} ${c.req.path}: try POST /graphql or /sql/*` }, 404));
app.onError((error, c) => {
  console.error(`API error on ${c.req.method} ${c.req.path}: ${error.message}`);
  return c.json({ error: "Internal error while answering the request" }, 500);
});

export default app;
