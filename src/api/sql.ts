/**
 * The guard around Ponder's read-only SQL over HTTP (`/sql/db` and `/sql/live`, for @ponder/client).
 * Ponder parses each query and refuses writes, but answers every refusal and every failure with a
 * 500 and a bare message. This middleware sorts them out:
 * - a query Ponder refuses, or one the database rejects (a missing column), is the client's fault:
 *   400 with the reason, also when Ponder repeats a refusal as a bare "Invalid query" (it caches
 *   the verdict, not the reason) or hides a syntax error as "[object Object]";
 * - a database that does not answer is not: 503, saying so;
 * - a request Ponder would crash on (no "params") or misread (two result columns of one name, of
 *   which it keeps one) is refused with 400 naming what to change.
 */
import type { MiddlewareHandler } from "hono";
import { sqlSyntaxError } from "./ponder-internals.js";

/** Ponder's own limit on a query's length (node_modules/ponder/src/utils/sql-parse.ts). */
const MAX_SQL_LENGTH = 5_000;
/** Refusal reasons remembered, by query text (the oldest are forgotten first). */
const REMEMBERED_REFUSALS = 10_000;
/** How long the database gets to answer `SELECT 1` after a failed or slow query. */
const PROBE_TIMEOUT_MS = 5_000;
/**
 * A query still unanswered after this long may be Ponder retrying a lost connection (about a
 * minute of back-off on PostgreSQL): the database is probed, and a 503 answers at once if it is gone.
 */
const SLOW_QUERY_MS = 5_000;

/** Why the database did not answer the probe: an error (it is gone) or no answer in time (gone, or busy). */
type ProbeFailure = { timedOut: boolean; message: string };

/** Messages of Ponder's SQL validator (node_modules/ponder/src/utils/sql-parse.ts): refusals, not failures. */
function isValidatorMessage(message: string): boolean {
  return (
    message === "Invalid query" ||
    message === "Invalid CTE" ||
    message === "[object Object]" ||
    / not supported$/.test(message)
  );
}

class ProbeTimeout extends Error {
  override message = `no answer to SELECT 1 within ${PROBE_TIMEOUT_MS} ms`;
}

/** The result columns named more than once, from Ponder's JSON answer ({ rows, fields: [{ name }] }). */
function duplicatedColumns(answer: unknown): string[] {
  const fields = (answer as { fields?: { name?: unknown }[] } | null)?.fields;
  if (!Array.isArray(fields)) return [];
  const seen = new Set<string>();
  const duplicated = new Set<string>();
  for (const field of fields) {
    const name = String(field?.name);
    if (seen.has(name)) duplicated.add(name);
    seen.add(name);
  }
  return [...duplicated];
}

/**
 * The middleware, mounted before Ponder's `client()`; `probe` runs `SELECT 1` on the API's database.
 * `probeSlowQueries`: on PostgreSQL, where Ponder retries a lost connection, a slow query probes the
 * database (PGlite is in-process: a slow query there is a busy database, never a lost one).
 */
export function sqlGuard(probe: () => Promise<unknown>, options: { probeSlowQueries: boolean }): MiddlewareHandler {
  const refusals = new Map<string, string>();
  const remember = (text: string, reason: string) => {
    refusals.delete(text);
    refusals.set(text, reason);
    if (refusals.size > REMEMBERED_REFUSALS) refusals.delete(refusals.keys().next().value as string);
  };
  const databaseAnswers = async (): Promise<ProbeFailure | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        probe(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new ProbeTimeout()), PROBE_TIMEOUT_MS);
        }),
      ]);
      return undefined;
    } catch (error) {
      if (error instanceof ProbeTimeout) return { timedOut: true, message: error.message };
      return { timedOut: false, message: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  };

  return async (c, next) => {
    const unavailable = (outage: ProbeFailure) =>
      c.json({ error: `The database is not answering (${outage.message}); retry later` }, 503, { "Retry-After": "5" });
    const route = c.req.path;
    const raw = route === "/sql/db" || route === "/sql/live" ? c.req.query("sql") : undefined;
    // Ponder counts a live query before checking it and never uncounts a refused one: refuse here what we can.
    if (route === "/sql/live" && raw === undefined) return c.json({ error: 'Missing "sql" query parameter' }, 400);
    if (raw === undefined) return next();
    let parsed: { json?: { sql?: unknown; params?: unknown } } | undefined;
    try {
      parsed = JSON.parse(raw);
    } catch {}
    const text = parsed?.json?.sql;
    if (typeof text !== "string") {
      return c.json(
        { error: 'The "sql" parameter must be the JSON that @ponder/client sends: {"json":{"sql":"...","params":[]}}' },
        400,
      );
    }
    if (!Array.isArray(parsed?.json?.params)) {
      return c.json(
        { error: 'The "sql" parameter needs "params", the query\'s parameters: an array, [] when it has none' },
        400,
      );
    }
    if (text.length > MAX_SQL_LENGTH) {
      return c.json({ error: `SQL query refused: longer than ${MAX_SQL_LENGTH} characters` }, 400);
    }

    const downstream = next();
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      downstream.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(resolve, SLOW_QUERY_MS, false);
      }),
    ]);
    clearTimeout(timer);
    if (!answered && options.probeSlowQueries) {
      const outage = await databaseAnswers();
      // A probe that only timed out may be a busy pool: then the query keeps its chance to answer.
      if (outage !== undefined && !outage.timedOut) {
        // Ponder's query goes on retrying in the background; its answer, when it comes, is dropped.
        downstream.catch(() => {});
        return unavailable(outage);
      }
      await downstream;
    }

    if (c.res.status === 200 && route === "/sql/db") {
      let duplicated: string[] = [];
      try {
        duplicated = duplicatedColumns(await c.res.clone().json());
      } catch {
        return; // not JSON: pass it on as it is
      }
      if (duplicated.length > 0) {
        // Ponder answers rows as objects: of two columns with one name, one would silently vanish.
        c.res = undefined;
        c.res = c.json(
          {
            error: `SQL query refused: the result has more than one column named ${duplicated.map((name) => `"${name}"`).join(", ")}; give each its own name (SELECT a.${duplicated[0]} AS a_${duplicated[0]}, ...)`,
          },
          400,
        );
      }
      return;
    }
    if (c.res.status !== 500) return;
    const answer = await c.res.text();
    c.res = undefined;
    // Ponder's validator refused it (once with its reason, after that from its cache as "Invalid
    // query"), or its parser failed (Ponder shows the parser's error object as "[object Object]").
    let refusal = isValidatorMessage(answer) ? (refusals.get(text) ?? answer) : undefined;
    if (refusal === "[object Object]" || refusal === undefined) {
      refusal = (await sqlSyntaxError(text).catch(() => undefined)) ?? refusal;
    }
    if (refusal !== undefined) {
      remember(text, refusal);
      c.res = c.json({ error: `SQL query refused: ${refusal}` }, 400);
      return;
    }
    const outage = await databaseAnswers();
    if (outage !== undefined) {
      c.res = unavailable(outage);
      return;
    }
    c.res = c.json({ error: `SQL query failed: ${answer}` }, 400);
  };
}
