/**
 * Durable webhook state, in a schema of its own ("openledger_webhooks" by default) that Ponder
 * neither manages nor reverts: subscriptions (with the cursor their intake reached) and deliveries
 * (each with its exact body, status, attempts and next attempt time). On PGlite it lives in Ponder's
 * own PGlite instance (one process owns that directory); on PostgreSQL it has a small pool of its
 * own, and an advisory lock elects the one process that delivers.
 */
import { createRequire } from "node:module";

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

type PgliteResult = { rows: unknown[] };
/** What we use of a PGlite instance (Ponder's, from globalThis.PONDER_DATABASE.driver.instance). */
export type PgliteInstance = {
  query: (text: string, params?: unknown[]) => Promise<PgliteResult>;
  transaction: <T>(
    work: (tx: { query: (text: string, params?: unknown[]) => Promise<PgliteResult> }) => Promise<T>,
  ) => Promise<T>;
};

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
  const schema = env.WEBHOOKS_SCHEMA || "openledger_webhooks";
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new Error(`WEBHOOKS_SCHEMA=${JSON.stringify(schema)} is not a plain lowercase identifier`);
  return schema;
}

/** Creates the schema and tables when missing (replicas racing are serialized by a transaction lock). */
export async function migrate(sql: SqlClient, schema: string) {
  await sql.transaction(async (tx) => {
    if (sql.dialect === "postgres") await tx.query("SELECT pg_advisory_xact_lock($1)", [DELIVERY_LOCK_KEY + 1]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await tx.query(`CREATE TABLE IF NOT EXISTS "${schema}".subscription (
      id text PRIMARY KEY,
      url text NOT NULL,
      secret text NOT NULL,
      stream text NOT NULL,
      filters jsonb NOT NULL,
      confirmations integer NOT NULL,
      max_attempts integer,
      enabled boolean NOT NULL DEFAULT true,
      origin text NOT NULL,
      start text NOT NULL,
      floor text,
      cursor text,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL
    )`);
    await tx.query(`CREATE TABLE IF NOT EXISTS "${schema}".delivery (
      id bigserial PRIMARY KEY,
      subscription_id text NOT NULL REFERENCES "${schema}".subscription (id) ON DELETE CASCADE,
      kind text NOT NULL,
      event_id text NOT NULL,
      cursor text NOT NULL,
      body text NOT NULL,
      status text NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at bigint NOT NULL,
      last_status integer,
      last_error text,
      created_at bigint NOT NULL,
      delivered_at bigint
    )`);
    await tx.query(`CREATE INDEX IF NOT EXISTS delivery_due ON "${schema}".delivery (status, next_attempt_at)`);
    await tx.query(`CREATE INDEX IF NOT EXISTS delivery_subscription ON "${schema}".delivery (subscription_id, id)`);
  });
}

/** A subscription row as stored. */
export type SubscriptionRow = {
  id: string;
  url: string;
  secret: string;
  stream: string;
  filters: Record<string, unknown> | string;
  confirmations: number;
  max_attempts: number | null;
  enabled: boolean;
  origin: "file" | "api";
  start: string;
  floor: string | null;
  cursor: string | null;
  created_at: string | number;
  updated_at: string | number;
};

/** A delivery row as stored. */
export type DeliveryRow = {
  id: string | number;
  subscription_id: string;
  kind: "event" | "retracted";
  event_id: string;
  cursor: string;
  body: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  next_attempt_at: string | number;
  last_status: number | null;
  last_error: string | null;
  created_at: string | number;
  delivered_at: string | number | null;
};
