/**
 * API processes on a PostgreSQL hot standby (docs/production.md, "Reads past one machine"). A standby replays the
 * primary's WAL in commit order, so it holds the primary's state of some moments ago: every read is
 * consistent, only older. This module tells how old, and adapts what a standby cannot do:
 *
 * - `X-Indexed-Block` on every answer (Ponder's /ready, /status and /metrics included): the block
 *   each chain is indexed to, as `chainId=block` pairs; the answer reflects at least that block.
 *   On a standby, `X-Replication-Lag` adds the replay lag in seconds.
 * - GET /ready answers 503 on a standby whose replay lag is over STANDBY_MAX_LAG_SECONDS (30 s), so a
 *   load balancer drains a stale replica, and takes it back once it has caught up.
 * - /sql/db: Ponder's @ponder/client middleware caches each query's result until a NOTIFY says a
 *   table changed, and a standby never delivers NOTIFY, so the cache would serve the first answer
 *   forever. On a standby the query is keyed by the indexed checkpoints instead (a new state, a new key).
 * - /sql/live is refused in one line on a standby (no NOTIFY, so nothing would ever be pushed).
 * - A stream resumed with a `Last-Event-ID` beyond what the standby has replayed waits for it at most
 *   STREAM_RESUME_WAIT_MS (5 s), then is told to retry (503, Retry-After).
 *
 * The state is read through Ponder's read-only pool and cached for STANDBY_STATE_MS (500 ms). On
 * PGlite (never a standby; one connection shared with the indexer) the module reads nothing.
 */
import http from "node:http";
import { db } from "ponder:api";
import type { Context, Next } from "hono";
import { sql } from "ponder";
import { readEnv } from "../../config/env.js";
import { CHECKPOINT_LENGTH, ponderDialect, ponderPostgresAdminPool, readIndexerProgress } from "./ponder-internals.js";
import { blockNumberOfCursor, chainIdOfCursor } from "./streams/cursor.js";

/** Tunables, from the environment (docs/production.md, "Reads past one machine" lists them). */
export const STANDBY_SETTINGS = {
  /** /ready fails on a standby whose replay lag is over this many seconds. */
  maxLagSeconds: readEnv("STANDBY_MAX_LAG_SECONDS"),
  /** How long the database state is reused. */
  stateMs: readEnv("STANDBY_STATE_MS"),
  /** How long a stream resumed beyond the standby's replay waits before it is told to retry. */
  resumeWaitMs: readEnv("STREAM_RESUME_WAIT_MS"),
};

/** What this process's database is, as of `readAt`. */
export type ReplicaState = {
  /** The database is a hot standby (`pg_is_in_recovery()`). */
  standby: boolean;
  /**
   * Seconds of replay lag: 0 on a primary and on a standby that has replayed all it received while
   * connected to its primary; else an upper bound (see `readState`; Infinity when nothing bounds it).
   */
  lagSeconds: number;
  /** Each chain's latest indexed checkpoint (75 digits), by chain id. */
  checkpoints: Map<number, string>;
  readAt: number;
};

type Rows<T> = { rows: T[] };

/** When a refresh last found the standby connected and caught up with what it received. */
let caughtUpAt: number | undefined;

/**
 * The replay lag, bounded from above two ways, the tighter one taken: the age of the last transaction
 * replayed (too high when the primary writes rarely: an old commit, then a new one not replayed yet),
 * and the time since this process last saw the standby caught up (too high when nobody asked for long).
 */
async function readState(): Promise<ReplicaState> {
  const recovery = (await db.execute(sql`
    SELECT pg_is_in_recovery() AS "standby",
      EXISTS (SELECT 1 FROM pg_stat_wal_receiver)
        AND pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() AS "caughtUp",
      extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS "replayAge"`)) as unknown as Rows<{
    standby: boolean;
    caughtUp: boolean;
    replayAge: number | null;
  }>;
  const row = recovery.rows[0];
  const now = Date.now();
  let lagSeconds = 0;
  if (row?.standby && row.caughtUp) caughtUpAt = now;
  else if (row?.standby) {
    const sinceCaughtUp = caughtUpAt === undefined ? Number.POSITIVE_INFINITY : (now - caughtUpAt) / 1000;
    const replayAge = row.replayAge === null ? Number.POSITIVE_INFINITY : Math.max(0, Number(row.replayAge));
    lagSeconds = Math.min(sinceCaughtUp, replayAge);
  }
  // Before the indexer has created its tables there is no checkpoint yet, but the role is known.
  const progress = await readIndexerProgress(
    async <T>(text: string) => ((await db.execute(sql.raw(text))) as unknown as Rows<T>).rows,
  ).catch(() => undefined);
  return {
    standby: row?.standby === true,
    lagSeconds,
    checkpoints: new Map((progress?.chains ?? []).map((chain) => [chain.chainId, chain.latest])),
    readAt: now,
  };
}

let cached: ReplicaState | undefined;
let refreshing: Promise<ReplicaState> | undefined;
let background: NodeJS.Timeout | undefined;

/**
 * PGlite is never a standby, and its one connection is the indexer's too: a process on PGlite reads
 * nothing for this module (and sends no freshness headers; /status has the blocks).
 */
const onPglite = () => ponderDialect() !== "postgres";
const PGLITE_STATE: ReplicaState = { standby: false, lagSeconds: 0, checkpoints: new Map(), readAt: 0 };

/** A refresh that takes longer than this fails, so that a stuck connection never holds every caller. */
const REFRESH_TIMEOUT_MS = 5_000;

/** The database's state, at most STANDBY_STATE_MS old (one query at a time, shared by every caller). */
export async function replicaState(maxAgeMs = STANDBY_SETTINGS.stateMs): Promise<ReplicaState> {
  if (onPglite()) return PGLITE_STATE;
  if (cached && Date.now() - cached.readAt <= maxAgeMs) return cached;
  refreshing ??= Promise.race([
    readState(),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("the database did not answer in time")), REFRESH_TIMEOUT_MS).unref(),
    ),
  ])
    .then((state) => {
      cached = state;
      // On a standby, keep the lag bound tight (see readState) without waiting for requests.
      if (state.standby && !background && STANDBY_SETTINGS.stateMs > 0) {
        background = setInterval(() => replicaState().catch(() => {}), STANDBY_SETTINGS.stateMs);
        background.unref();
      }
      return state;
    })
    .finally(() => {
      refreshing = undefined;
    });
  return refreshing;
}

/** True when this process reads a hot standby (false if the database cannot say). */
export async function onStandby(): Promise<boolean> {
  try {
    return (await replicaState()).standby;
  } catch {
    return false;
  }
}

/** `chainId=block` pairs, in chain id order: the value of X-Indexed-Block. */
export function indexedBlockHeader(checkpoints: ReadonlyMap<number, string>): string {
  return [...checkpoints].map(([chainId, checkpoint]) => `${chainId}=${blockNumberOfCursor(checkpoint)}`).join(", ");
}

/** The freshness headers of an answer, from the cached state (a missing state adds none). */
function freshnessHeaders(state: ReplicaState | undefined): Record<string, string> {
  if (!state || state.checkpoints.size === 0) return {};
  const headers: Record<string, string> = { "X-Indexed-Block": indexedBlockHeader(state.checkpoints) };
  if (state.standby) {
    headers["X-Replication-Lag"] = Number.isFinite(state.lagSeconds) ? state.lagSeconds.toFixed(3) : "unknown";
  }
  return headers;
}

/** Why /ready fails on this standby, or undefined when it may serve. */
export function staleReason(state: ReplicaState): string | undefined {
  if (!state.standby || state.lagSeconds <= STANDBY_SETTINGS.maxLagSeconds) return undefined;
  const lag = Number.isFinite(state.lagSeconds) ? `${state.lagSeconds.toFixed(1)} s` : "unknown (nothing replayed yet)";
  return `Standby replay lag ${lag} is over STANDBY_MAX_LAG_SECONDS=${STANDBY_SETTINGS.maxLagSeconds}`;
}

type Listener = (request: http.IncomingMessage, response: http.ServerResponse) => void;

/**
 * Wraps the request listener of the next HTTP server created in this process, which is Ponder's
 * (`createServer` in node_modules/ponder/src/server/index.ts runs right after the API is loaded).
 * Ponder answers /ready, /status and /metrics before any route of ours can, so this is where the
 * freshness headers reach every answer and where /ready can fail on a stale standby.
 */
function wrapPonderServer() {
  const original = http.createServer;
  const patched = ((...args: unknown[]) => {
    const index = args.findIndex((arg) => typeof arg === "function");
    // Servers made without a listener (another library's) pass through; Ponder's passes Hono's.
    if (index !== -1) {
      http.createServer = original;
      const listener = args[index] as Listener;
      args[index] = ((request, response) => {
        const path = request.url?.split("?")[0];
        const ready = request.method === "GET" && path === "/ready";
        // Headers come from the cached state (a lower bound: the data read next is at least as new),
        // refreshed in the background; only /ready waits for a fresh one, and /health never waits.
        const refresh = replicaState().catch(() => undefined);
        const wait = ready || (cached === undefined && path !== "/health");
        (wait ? refresh : Promise.resolve(cached)).then((state) => {
          for (const [name, value] of Object.entries(freshnessHeaders(state))) response.setHeader(name, value);
          const reason = ready && state ? staleReason(state) : undefined;
          if (reason) {
            response.writeHead(503, { "content-type": "text/plain; charset=utf-8", "retry-after": "5" });
            response.end(reason);
            return;
          }
          listener(request, response);
        });
      }) satisfies Listener;
    }
    return (original as (...a: unknown[]) => http.Server)(...args);
  }) as typeof http.createServer;
  http.createServer = patched;
}

type PgPoolClient = { query: (...args: unknown[]) => unknown; [listenWrapped]?: true };
const listenWrapped = Symbol("openledger.standby.listen");

/**
 * Ponder's @ponder/client middleware sends `LISTEN` on a connection of its admin pool when the API
 * loads, and on failure logs a warning and tries again every 250 ms, forever. A hot standby refuses
 * LISTEN, so a replica there would log four warnings a second. Instead, its LISTEN waits until the
 * database is a primary (after a promotion), then goes through: live queries and the /sql/db cache
 * work again from then on.
 */
function deferListenUntilPrimary() {
  const pool = ponderPostgresAdminPool();
  if (!pool) return;
  const admin = pool as { connect: (...args: unknown[]) => Promise<PgPoolClient | undefined> };
  const connect = admin.connect.bind(admin);
  admin.connect = async (...args: unknown[]) => {
    const client = await connect(...args);
    if (!client || client[listenWrapped]) return client;
    client[listenWrapped] = true;
    const query = client.query.bind(client);
    client.query = (...queryArgs: unknown[]) => {
      const text = queryArgs[0];
      if (typeof text !== "string" || !text.startsWith("LISTEN ")) return query(...queryArgs);
      return (async () => {
        while (await onStandby()) await new Promise((resolve) => setTimeout(resolve, 1_000));
        return query(...queryArgs);
      })();
    };
    return client;
  };
}

const installed = Symbol.for("openledger.standby.installed");
/**
 * Installs what a process needs to serve from a hot standby (the server wrapper, the deferred
 * LISTEN), once per API build (Ponder's dev server reloads the API). Harmless on a primary.
 */
export function installStandbySupport() {
  const flags = globalThis as unknown as Record<symbol, boolean>;
  if (flags[installed]) return;
  flags[installed] = true;
  wrapPonderServer();
  deferListenUntilPrimary();
}

/**
 * /sql/* on a standby: /sql/live refused in one line; /sql/db keyed by the indexed checkpoints, so
 * Ponder's result cache (invalidated by NOTIFY, which a standby never delivers) never serves an
 * answer older than the state it names. On a primary, nothing changes.
 */
export async function sqlOnStandby(c: Context, next: Next) {
  if (c.req.path !== "/sql/db" && c.req.path !== "/sql/live") return next();
  let state: ReplicaState;
  try {
    state = await replicaState();
  } catch {
    return next();
  }
  if (!state.standby) return next();
  if (c.req.path === "/sql/live") {
    return c.json(
      {
        error:
          "Live queries need NOTIFY, which a PostgreSQL hot standby never delivers: use /sql/db here, or /sql/live on a replica of the primary",
      },
      501,
    );
  }
  const raw = c.req.query("sql");
  if (raw !== undefined) {
    const url = new URL(c.req.url);
    // superjson reads only "json" and "meta": the extra key changes the cache key, not the query.
    const keyed = JSON.stringify({ ...JSON.parse(raw), indexed: [...state.checkpoints.values()] });
    url.searchParams.set("sql", keyed);
    c.req.raw = new Request(url, c.req.raw);
  }
  return next();
}

/** The answer to a stream resumed beyond this standby's replay, or undefined to go on streaming. */
export async function resumeBeyondReplay(c: Context, cursor: string): Promise<Response | undefined> {
  if (cursor === "") return undefined;
  const checkpoint = cursor.slice(0, CHECKPOINT_LENGTH);
  const chainId = chainIdOfCursor(cursor);
  const deadline = Date.now() + STANDBY_SETTINGS.resumeWaitMs;
  for (;;) {
    let state: ReplicaState;
    try {
      state = await replicaState();
    } catch {
      return undefined;
    }
    const indexed = state.checkpoints.get(chainId);
    // Only a standby: on a primary, a cursor beyond its state comes from before a restart's revert,
    // which the stream consumer handles (rows up to it count as delivered).
    if (!state.standby || indexed === undefined || indexed >= checkpoint) return undefined;
    if (Date.now() >= deadline) {
      return c.json(
        {
          error: `This replica has replayed chain ${chainId} up to block ${blockNumberOfCursor(indexed)}, before your Last-Event-ID (block ${blockNumberOfCursor(cursor)}): retry, here or on another replica`,
        },
        503,
        { "Retry-After": "1" },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(200, STANDBY_SETTINGS.stateMs || 200)));
  }
}
