/**
 * The database of the webhook state, a schema of its own ("openledger_webhooks" by default) that
 * Ponder neither manages nor reverts (its tables and statements: src/api/webhooks/repository.ts).
 * On PGlite it lives in Ponder's own PGlite instance (one process owns that directory); on
 * PostgreSQL it has a small pool of its own, and an advisory lock elects the one process that delivers.
 */
import { createRequire } from "node:module";
import { readEnv } from "../../../config/env.js";
import type { PgliteInstance } from "../ponder-internals.js";

/** The few calls the webhook code makes of a database. */
export interface SqlClient {
  readonly dialect: "pglite" | "postgres";
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  transaction<T>(work: (tx: Pick<SqlClient, "query">) => Promise<T>): Promise<T>;
  /**
   * PostgreSQL: tries to take the delivery lock on a dedicated connection; true while held.
   * PGlite: always true (one process per database).
   */
  acquireLeadership(onLost: () => void): Promise<boolean>;
  close(): Promise<void>;
}

/** A SqlClient on Ponder's PGlite: plain queries on our own schema, serialized with Ponder's by PGlite. */
export function pgliteSqlClient(instance: PgliteInstance): SqlClient {
  return {
    dialect: "pglite",
    query: async <T>(text: string, params?: unknown[]) => (await instance.query(text, params)).rows as T[],
    transaction: (work) =>
      instance.transaction((tx) =>
        work({ query: async <T>(text: string, params?: unknown[]) => (await tx.query(text, params)).rows as T[] }),
      ),
    acquireLeadership: async () => true,
    close: async () => {},
  };
}

type PgQueryable = { query: (text: string, params?: unknown[]) => Promise<{ rows: unknown[] }> };
type PgPoolClient = PgQueryable & { release: (destroy?: boolean) => void };
type PgClient = PgQueryable & {
  connect: () => Promise<unknown>;
  end: () => Promise<void>;
  on: (event: "error" | "end", listener: (error?: Error) => void) => void;
};
type PgModule = {
  Pool: new (
    config: Record<string, unknown>,
  ) => PgQueryable & {
    connect: () => Promise<PgPoolClient>;
    end: () => Promise<void>;
    on: (event: "error", listener: (error: Error) => void) => void;
  };
  Client: new (config: Record<string, unknown>) => PgClient;
};

/** Key of the advisory lock that elects the delivering process (any constant shared by replicas). */
export const DELIVERY_LOCK_KEY = 7_320_114_501;

/**
 * A SqlClient on PostgreSQL with its own pool (`pg` is Ponder's dependency; it has no types here, so
 * it is loaded through createRequire with the small interface above).
 */
export function postgresSqlClient(connection: Record<string, unknown>): SqlClient {
  const pg = createRequire(import.meta.url)("pg") as PgModule;
  const pool = new pg.Pool({ ...connection, max: 4, application_name: "openledger_webhooks" });
  pool.on("error", (error) => console.error(`webhooks: idle PostgreSQL connection failed: ${error.message}`));
  let lockClient: PgClient | undefined;
  return {
    dialect: "postgres",
    query: async <T>(text: string, params?: unknown[]) => (await pool.query(text, params)).rows as T[],
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await work({
          query: async <T>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as T[],
        });
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async acquireLeadership(onLost) {
      if (lockClient) return true;
      const client = new pg.Client({ ...connection, application_name: "openledger_webhooks_lock" });
      let lost = false;
      const lose = () => {
        if (lost) return;
        lost = true;
        if (lockClient === client) lockClient = undefined;
        client.end().catch(() => {});
        onLost();
      };
      client.on("error", lose);
      client.on("end", lose);
      try {
        await client.connect();
        const [row] = (await client.query("SELECT pg_try_advisory_lock($1) AS locked", [DELIVERY_LOCK_KEY])).rows as {
          locked: boolean;
        }[];
        if (!row?.locked) {
          lost = true;
          await client.end();
          return false;
        }
        lockClient = client;
        return true;
      } catch (error) {
        lost = true;
        await client.end().catch(() => {});
        throw error;
      }
    },
    async close() {
      const client = lockClient;
      lockClient = undefined;
      await client?.end().catch(() => {});
      await pool.end().catch(() => {});
    },
  };
}

/** Where the webhook tables live; WEBHOOKS_SCHEMA overrides it (one per indexer deployment). */
export function webhookSchema(env = process.env): string {
  return readEnv("WEBHOOKS_SCHEMA", env);
}
