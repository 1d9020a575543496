/**
 * Everything the API uses of Ponder that Ponder does not publish, in one place: its globals
 * (`globalThis.PONDER_*`, set by node_modules/ponder/src/build/index.ts), the drizzle session
 * behind `db` from "ponder:api", its private tables `_ponder_checkpoint` and `_ponder_meta`, and the
 * layout of its checkpoint strings (node_modules/ponder/src/utils/checkpoint.ts). No other module
 * touches them. A Ponder upgrade that moves one of them breaks this file and
 * test/ponder-internals.test.ts, which names what moved; `ponderInternalsProblems()` says the same
 * at start-up, in one line per missing piece.
 *
 * Pure: nothing here imports "ponder:api" or runs at import, so the unit tests and the example bot
 * can use the checkpoint helpers, and the composition root (src/api/index.ts) decides what runs.
 */

/** What prom-client's Registry needs of a metric: a name, a type, and `get()` (awaited on each scrape). */
export type CollectedMetric = {
  name: string;
  help: string;
  type: "gauge" | "counter";
  aggregator: "sum";
  get: () => Promise<{
    name: string;
    help: string;
    type: "gauge" | "counter";
    aggregator: "sum";
    values: { labels: Record<string, string | number>; value: number }[];
  }>;
};

/** Ponder's prom-client registry, which answers GET /metrics. */
export type MetricsRegistry = {
  registerMetric: (metric: CollectedMetric) => void;
  removeSingleMetric: (name: string) => void;
};

type PgliteResult = { rows: unknown[]; fields?: { name: string }[] };
/** What we use of Ponder's PGlite instance (`PONDER_DATABASE.driver.instance`). */
export type PgliteInstance = {
  query: (text: string, params?: unknown[], options?: unknown) => Promise<PgliteResult>;
  transaction: <T>(
    work: (tx: {
      query: (text: string, params?: unknown[], options?: unknown) => Promise<PgliteResult>;
      exec: (text: string) => Promise<unknown>;
    }) => Promise<T>,
  ) => Promise<T>;
};

/** A chain as Ponder built it from ponder.config.ts; `finalityBlockCount` is Ponder's own figure. */
export type PonderChain = { id: number; name: string; finalityBlockCount: number };

/** The shape of the globals we read (a subset of Ponder's own declarations). */
type PonderGlobals = {
  PONDER_COMMON?: {
    apiShutdown?: { add: (callback: () => unknown) => void };
    metrics?: { registry?: MetricsRegistry };
  };
  PONDER_DATABASE?: {
    driver?:
      | { dialect: "pglite"; instance: PgliteInstance }
      | { dialect: "postgres"; admin?: PostgresAdminPool; readonly?: PostgresReadPool };
  };
  PONDER_PRE_BUILD?: { databaseConfig?: { kind: string; poolConfig?: Record<string, unknown> } };
  PONDER_INDEXING_BUILD?: { chains?: PonderChain[] };
  PONDER_NAMESPACE_BUILD?: { schema?: string };
};

const globals = () => globalThis as unknown as PonderGlobals;

/**
 * What is missing of the internals we rely on, one line each ("globalThis.PONDER_COMMON.metrics.registry
 * is missing"), or [] when everything is where Ponder 0.16 and 0.17 keep it. Read inside a Ponder process.
 */
export function ponderInternalsProblems(db?: unknown): string[] {
  const g = globals();
  const problems: string[] = [];
  const need = (ok: boolean, what: string, why: string) => {
    if (!ok) problems.push(`${what} is missing or changed shape (used for ${why})`);
  };
  need(typeof g.PONDER_COMMON?.apiShutdown?.add === "function", "globalThis.PONDER_COMMON.apiShutdown.add", "shutdown");
  need(
    typeof g.PONDER_COMMON?.metrics?.registry?.registerMetric === "function",
    "globalThis.PONDER_COMMON.metrics.registry",
    "our /metrics",
  );
  const dialect = g.PONDER_DATABASE?.driver?.dialect;
  need(dialect === "pglite" || dialect === "postgres", "globalThis.PONDER_DATABASE.driver.dialect", "webhooks, /sql");
  if (g.PONDER_DATABASE?.driver?.dialect === "pglite") {
    need(
      typeof g.PONDER_DATABASE.driver.instance?.query === "function",
      "globalThis.PONDER_DATABASE.driver.instance",
      "webhooks on PGlite",
    );
  }
  if (dialect === "postgres") {
    need(
      g.PONDER_PRE_BUILD?.databaseConfig?.kind === "postgres",
      "globalThis.PONDER_PRE_BUILD.databaseConfig",
      "the webhooks' PostgreSQL pool",
    );
    const driver = g.PONDER_DATABASE?.driver as { readonly?: Partial<PostgresReadPool> } | undefined;
    need(
      typeof driver?.readonly?.options === "object" && typeof driver.readonly.totalCount === "number",
      "globalThis.PONDER_DATABASE.driver.readonly.{options,totalCount}",
      "the API's statement timeout",
    );
  }
  const chains = g.PONDER_INDEXING_BUILD?.chains;
  need(
    Array.isArray(chains) &&
      chains.length > 0 &&
      chains.every(
        (chain) =>
          typeof chain.id === "number" && typeof chain.name === "string" && Number.isInteger(chain.finalityBlockCount),
      ),
    "globalThis.PONDER_INDEXING_BUILD.chains[].{id,name,finalityBlockCount}",
    "confirmation depths",
  );
  need(
    typeof g.PONDER_NAMESPACE_BUILD?.schema === "string",
    "globalThis.PONDER_NAMESPACE_BUILD.schema",
    "/sql on PGlite",
  );
  if (db !== undefined) {
    const session = (db as { _?: { session?: { client?: unknown } } })._?.session;
    need(
      typeof (session?.client as { query?: unknown } | undefined)?.query === "function",
      'db._.session.client (db from "ponder:api")',
      "/sql on PGlite",
    );
  }
  return problems;
}

/** The database Ponder runs on, or undefined outside Ponder. */
export function ponderDialect(): "pglite" | "postgres" | undefined {
  return globals().PONDER_DATABASE?.driver?.dialect;
}

/** Ponder's PGlite instance (one process owns the directory), when Ponder runs on PGlite. */
export function ponderPglite(): PgliteInstance | undefined {
  const driver = globals().PONDER_DATABASE?.driver;
  return driver?.dialect === "pglite" ? driver.instance : undefined;
}

/** What we use of Ponder's PostgreSQL admin pool (`PONDER_DATABASE.driver.admin`, a pg Pool). */
export type PostgresAdminPool = { connect: (...args: unknown[]) => Promise<unknown> };

/**
 * Ponder's PostgreSQL admin pool (the one its @ponder/client middleware LISTENs on), when Ponder runs
 * on PostgreSQL; src/api/standby.ts defers that LISTEN on a hot standby.
 */
export function ponderPostgresAdminPool(): PostgresAdminPool | undefined {
  const driver = globals().PONDER_DATABASE?.driver;
  return driver?.dialect === "postgres" ? driver.admin : undefined;
}

/** What we use of Ponder's read-only pool (`PONDER_DATABASE.driver.readonly`, a pg Pool behind `db`). */
export type PostgresReadPool = { options: Record<string, unknown>; totalCount: number };

const readTimeoutMark = Symbol.for("openledger.readStatementTimeoutMs");

/**
 * Below this, a timeout is not set on the connections: they also carry Ponder's own reads (/ready,
 * /status), which a timeout of a few milliseconds cancels on a busy machine.
 */
export const MIN_CONNECTION_STATEMENT_TIMEOUT_MS = 1_000;

/**
 * Gives every connection of the pool behind `db` from "ponder:api" (GraphQL, /sql) a statement
 * timeout of `ms` instead of Ponder's 30 s. pg sends a Client's `statement_timeout` as a start-up
 * parameter and the pool makes each Client from its `options` (Ponder sets its own 30 s the same
 * way), so one setting covers every statement with no round trip of its own. Only connections opened
 * afterwards get it: true when the pool had none open yet (or had been given the same timeout), else
 * false and the caller must set the timeout per statement; false as well for a timeout under
 * MIN_CONNECTION_STATEMENT_TIMEOUT_MS.
 */
export function setReadStatementTimeout(ms: number): boolean {
  if (ms < MIN_CONNECTION_STATEMENT_TIMEOUT_MS) return false;
  const driver = globals().PONDER_DATABASE?.driver;
  if (driver?.dialect !== "postgres" || !driver.readonly?.options) return false;
  const pool = driver.readonly as PostgresReadPool & { [readTimeoutMark]?: number };
  if (pool[readTimeoutMark] === ms) return true;
  if (pool.totalCount > 0) return false;
  pool.options.statement_timeout = ms;
  pool[readTimeoutMark] = ms;
  return true;
}

/** The connection settings Ponder built for PostgreSQL (host, user, ssl...), without its pool size. */
export function ponderPostgresConnection(): Record<string, unknown> | undefined {
  if (ponderDialect() !== "postgres") return undefined;
  const { max: _max, ...connection } = globals().PONDER_PRE_BUILD?.databaseConfig?.poolConfig ?? {};
  return connection;
}

/** The chains of this deployment (empty outside Ponder). */
export function ponderChains(): PonderChain[] {
  return globals().PONDER_INDEXING_BUILD?.chains ?? [];
}

/** Runs `callback` when Ponder shuts the API down (before it closes the database). */
export function onPonderApiShutdown(callback: () => unknown): void {
  globals().PONDER_COMMON?.apiShutdown?.add(callback);
}

/** Ponder's prom-client registry (GET /metrics), if this Ponder has one. */
export function ponderMetricsRegistry(): MetricsRegistry | undefined {
  return globals().PONDER_COMMON?.metrics?.registry;
}

/**
 * Blocks after which Ponder treats a block as final when no chain is known (outside Ponder): its
 * default (node_modules/ponder/src/utils/finality.ts, `getFinalityBlockCount`), what chain 31337 gets.
 */
export const DEFAULT_FINALITY_BLOCKS = 30;

/**
 * The deepest `confirmations` a stream or a webhook accepts: the least finality depth of the chains
 * (Ponder's own `finalityBlockCount`), so that a final block is deep enough on every chain.
 */
export function maxConfirmations(chains: readonly Pick<PonderChain, "finalityBlockCount">[] = ponderChains()): number {
  if (chains.length === 0) return DEFAULT_FINALITY_BLOCKS;
  return Math.min(...chains.map((chain) => chain.finalityBlockCount));
}

/**
 * Ponder's checkpoint: 75 digits that sort in chain order as plain strings (its
 * node_modules/ponder/src/utils/checkpoint.ts): block timestamp (10), chain id (16), block
 * number (16), transaction index (16), event type (1), event index (16). Every row id is one.
 */
export const CHECKPOINT_LAYOUT = {
  blockTimestamp: [0, 10],
  chainId: [10, 26],
  blockNumber: [26, 42],
  transactionIndex: [42, 58],
  eventType: [58, 59],
  eventIndex: [59, 75],
} as const;

/** Length of a Ponder checkpoint, hence of every row id and stream cursor. */
export const CHECKPOINT_LENGTH = CHECKPOINT_LAYOUT.eventIndex[1];

const field = (checkpoint: string, name: keyof typeof CHECKPOINT_LAYOUT) =>
  checkpoint.slice(...CHECKPOINT_LAYOUT[name]);

/** The block number in a checkpoint. */
export function checkpointBlockNumber(checkpoint: string): bigint {
  return BigInt(field(checkpoint, "blockNumber"));
}

/** The chain id in a checkpoint. */
export function checkpointChainId(checkpoint: string): number {
  return Number(field(checkpoint, "chainId"));
}

/** The block timestamp (seconds) in a checkpoint. */
export function checkpointTimestamp(checkpoint: string): number {
  return Number(field(checkpoint, "blockTimestamp"));
}

/** Runs a read-only SQL text on the API's database and returns its rows. */
export type ReadQuery = <T>(text: string) => Promise<T[]>;

/** Where one chain's indexing is, from `_ponder_checkpoint`. */
export type ChainCheckpoint = { chainId: number; chainName: string; latest: string; finalized: string };

/** Where the indexer is: the deployment (`_ponder_meta`, key 'app') and each chain's checkpoints. */
export type IndexerProgress = {
  /** The build id of the deployment this process reads ("" when unknown). */
  buildId: string;
  /** Its historical backfill is over (what /ready says). */
  ready: boolean;
  /** By chain id. */
  chains: ChainCheckpoint[];
};

/** The columns of Ponder's private tables that we read (the canary test checks they exist). */
export const PRIVATE_TABLES = {
  _ponder_checkpoint: ["chain_id", "chain_name", "latest_checkpoint", "finalized_checkpoint"],
  _ponder_meta: ["key", "value"],
} as const;

/** The keys of `_ponder_meta.value` (key 'app') that we read. */
export const PONDER_META_KEYS = ["build_id", "is_ready"] as const;

/**
 * The indexer's progress in one query (the streams poll it several times a second), or undefined
 * before Ponder has written its checkpoints.
 */
export async function readIndexerProgress(query: ReadQuery): Promise<IndexerProgress | undefined> {
  const rows = await query<{
    chainId: number | string;
    chainName: string;
    latest: string;
    finalized: string;
    buildId: string | null;
    ready: number | string | null;
  }>(`SELECT c.chain_id AS "chainId", c.chain_name AS "chainName", c.latest_checkpoint AS "latest",
      c.finalized_checkpoint AS "finalized",
      (SELECT m.value->>'build_id' FROM _ponder_meta m WHERE m.key = 'app') AS "buildId",
      (SELECT (m.value->>'is_ready')::int FROM _ponder_meta m WHERE m.key = 'app') AS "ready"
    FROM _ponder_checkpoint c ORDER BY c.chain_id`);
  if (rows.length === 0) return undefined;
  return {
    buildId: rows[0].buildId ?? "",
    ready: Number(rows[0].ready) === 1,
    chains: rows.map((row) => ({
      chainId: Number(row.chainId),
      chainName: row.chainName,
      latest: row.latest,
      finalized: row.finalized,
    })),
  };
}

/** Marks a PGlite client already wrapped by `pinPgliteReadsToSchema`. */
const PINNED = Symbol("openledger.pinnedToSchema");

/**
 * On PGlite, Ponder flushes large batches of updates through TEMP tables named like our tables, on
 * the one connection the API shares; an unqualified name (what @ponder/client sends to /sql, which
 * refuses schema names) then reads that empty scratch table, since pg_temp comes first in the
 * search path. So every read of the API runs in a read-only transaction that puts pg_temp last.
 * PostgreSQL is unaffected: the API reads on connections of its own. Replaces the client of the
 * drizzle session behind `db` (`db._.session.client`), which Ponder's /sql middleware shares.
 */
export function pinPgliteReadsToSchema(db: unknown): void {
  if (ponderDialect() !== "pglite") return;
  const schema = globals().PONDER_NAMESPACE_BUILD?.schema;
  const session = (db as { _?: { session?: { client: PgliteInstance } } })._?.session;
  if (schema === undefined || !session) return; // reported by ponderInternalsProblems()
  const pglite = session.client;
  // After a hot reload (ponder dev) the client is ours already.
  if ((pglite as { [PINNED]?: boolean })[PINNED]) return;
  const setup = `SET TRANSACTION READ ONLY; SET LOCAL search_path TO "${schema.replaceAll('"', '""')}", pg_temp`;
  session.client = new Proxy(pglite, {
    get(target, property, receiver) {
      if (property === PINNED) return true;
      if (property !== "query") return Reflect.get(target, property, receiver);
      return (text: string, params?: unknown[], options?: unknown) =>
        target.transaction(async (tx) => {
          await tx.exec(setup);
          return tx.query(text, params, options);
        });
    },
  });
}

type SqlParser = { parse: (text: string) => { error: { message: string; cursorpos?: number } | string | null } };
let sqlParser: Promise<SqlParser> | undefined;

/**
 * The syntax error in `text` as Ponder's SQL parser reports it (pg-query-emscripten, Ponder's
 * dependency, which node_modules/ponder/src/utils/sql-parse.ts loads the same way), or undefined
 * when it parses. Ponder 0.16 and 0.17 wrap the parser's error object in an Error, so /sql answers
 * "[object Object]": this recovers the message, with the character it points at.
 */
export async function sqlSyntaxError(text: string): Promise<string | undefined> {
  sqlParser ??= import("pg-query-emscripten" as string).then((module) => module.default() as Promise<SqlParser>);
  const { error } = (await sqlParser).parse(text);
  if (error === null || error === undefined) return undefined;
  if (typeof error === "string") return error;
  return error.cursorpos ? `${error.message} (at character ${error.cursorpos})` : error.message;
}
