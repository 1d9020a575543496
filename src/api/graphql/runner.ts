/**
 * How the GraphQL API runs its SQL: on Ponder's read-only `db` from `ponder:api` (no pool of its own),
 * each statement under a statement timeout on PostgreSQL, so that one pathological query is cancelled
 * by the server and answered with a GraphQL error naming the limit while everyone else is served.
 *
 * The timeout is normally a setting of the read pool's connections (setReadStatementTimeout in
 * ../ponder-internals.ts): statements then run as they are, one round trip each. Where the pool could
 * not be given it (it already had connections open), each batch of statements runs in a transaction
 * with `SET LOCAL statement_timeout`, which costs three round trips more per batch.
 *
 * PGlite runs in this process on one thread and has no statement timeout (WebAssembly has no timer
 * to interrupt it): there, the row, depth, alias, token and filter-depth limits are the protection.
 */
import { type SQL, sql } from "drizzle-orm";
import { GraphQLError } from "graphql";

/** The parts of a drizzle select chain the API uses (the builder is typed per table; ours is generic). */
export type SelectChain = PromiseLike<Record<string, unknown>[]> & {
  from(table: unknown): SelectChain;
  leftJoin(table: unknown, on: SQL | undefined): SelectChain;
  where(condition: SQL | undefined): SelectChain;
  orderBy(...order: (SQL | unknown)[]): SelectChain;
  groupBy(...columns: unknown[]): SelectChain;
  limit(n: number): SelectChain;
  offset(n: number): SelectChain;
};

/** A drizzle database or transaction, seen through the methods the API calls. */
export type Database = {
  select(fields?: Record<string, unknown>): SelectChain;
  execute(query: SQL): Promise<unknown>;
  transaction<T>(run: (tx: Database) => Promise<T>): Promise<T>;
};

/**
 * Where statements go: the database, its dialect and the timeout, and whether the database's
 * connections already apply that timeout to every statement (PostgreSQL).
 */
export type Runner = {
  db: Database;
  dialect: "pglite" | "postgres";
  timeoutMs: number;
  timeoutOnConnections: boolean;
};

/** PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout. */
const QUERY_CANCELED = "57014";

function sqlState(error: unknown): string | undefined {
  for (let cause: unknown = error; cause && typeof cause === "object"; cause = (cause as { cause?: unknown }).cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

/**
 * Runs statements whose cost depends on the query (filters, sorts, aggregates): as they come on PGlite
 * and where the connections time statements out; otherwise one after the other in one transaction
 * with `SET LOCAL statement_timeout`, so the limit applies to each of them and the connection goes
 * back to the pool unchanged.
 */
export async function runStatements(
  runner: Runner,
  builds: ((db: Database) => PromiseLike<Record<string, unknown>[]>)[],
): Promise<Record<string, unknown>[][]> {
  try {
    if (runner.dialect === "pglite" || runner.timeoutOnConnections)
      return await Promise.all(builds.map((build) => build(runner.db)));
    return await runner.db.transaction(async (tx) => {
      await tx.execute(sql.raw(`SET LOCAL statement_timeout = ${runner.timeoutMs}`));
      const results: Record<string, unknown>[][] = [];
      for (const build of builds) results.push(await build(tx));
      return results;
    });
  } catch (error) {
    if (sqlState(error) === QUERY_CANCELED)
      throw new GraphQLError(
        `Statement timeout of ${runner.timeoutMs} ms exceeded (GRAPHQL_STATEMENT_TIMEOUT_MS): narrow the filter, the groupBy or the interval`,
      );
    throw error;
  }
}

/** One statement, as runStatements runs them. */
export async function runStatement(
  runner: Runner,
  build: (db: Database) => PromiseLike<Record<string, unknown>[]>,
): Promise<Record<string, unknown>[]> {
  return (await runStatements(runner, [build]))[0]!;
}
