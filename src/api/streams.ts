/**
 * GET /streams/slashes and GET /streams/activity: Server-Sent Events for bots, resumable from a
 * cursor, with retractions on reorgs and optional confirmation depth (README, "For bots"). One shared
 * poller per table feeds every client (and the webhook dispatcher); each client has a bounded queue.
 * GET /streams answers what the streams are doing (clients, drops, the sources' positions).
 */
import type { ServerResponse } from "node:http";
import { type Context, Hono } from "hono";
import { resumeBeyondReplay } from "./standby.js";
import { finalityDepth, followSource, StreamConsumer, StreamSource } from "./stream-core.js";
import {
  parseStreamQuery,
  STREAM_KINDS,
  type StreamKind,
  type StreamQuery,
  StreamQueryError,
} from "./stream-filters.js";
import { type CloseReason, SseConnection, type SseLimits } from "./stream-sse.js";
import { ponderStreamStore } from "./stream-store.js";

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    console.warn(`${name}=${JSON.stringify(raw)} is not an integer >= ${min}; using ${fallback}`);
    return fallback;
  }
  return value;
}

/** Tunables, from the environment (the README's "For bots" lists them). */
export const STREAM_SETTINGS = {
  pollMs: intEnv("STREAM_POLL_MS", 200, 10),
  heartbeatMs: intEnv("STREAM_HEARTBEAT_MS", 15_000, 100),
  pageSize: intEnv("STREAM_PAGE_SIZE", 500, 1),
  maxClients: intEnv("STREAM_MAX_CLIENTS", 1_000, 1),
  limits: {
    maxQueueBytes: intEnv("STREAM_MAX_QUEUE_BYTES", 1024 * 1024, 64 * 1024),
    stallMs: intEnv("STREAM_STALL_MS", 60_000, 100),
  } satisfies SseLimits,
};

type Ponderish = {
  PONDER_COMMON?: { apiShutdown: { add: (callback: () => unknown) => void }; logger?: { warn: (o: object) => void } };
  PONDER_INDEXING_BUILD?: { chains: { id: number }[] };
};
const ponderGlobals = globalThis as unknown as Ponderish;

/** How deep `confirmations` may go: the least finality depth of the chains the streams serve. */
function maxConfirmations(): number {
  const chains = ponderGlobals.PONDER_INDEXING_BUILD?.chains ?? [{ id: 31337 }];
  return Math.min(...chains.map((chain) => finalityDepth(chain.id)));
}

/** The per-process state of the streams: one source per table, the open connections, counters. */
class StreamHub {
  readonly sources = new Map<StreamKind, StreamSource>();
  readonly connections = new Set<SseConnection>();
  readonly dropped: Record<string, number> = {};
  opened = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastErrorLog = 0;

  source(kind: StreamKind): StreamSource {
    let source = this.sources.get(kind);
    if (!source) {
      source = new StreamSource(ponderStreamStore(kind), {
        intervalMs: STREAM_SETTINGS.pollMs,
        pageSize: STREAM_SETTINGS.pageSize,
        onError: (error) => this.logError(`stream source ${kind}`, error),
      });
      this.sources.set(kind, source);
      if (this.stopped) source.stop();
      else source.start();
    }
    return source;
  }

  logError(where: string, error: unknown) {
    // A database hiccup repeats every poll: say it at most every 10 s.
    if (this.stopped || Date.now() - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = Date.now();
    console.error(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }

  add(connection: SseConnection) {
    this.connections.add(connection);
    this.opened++;
    connection.onClose((reason: CloseReason) => {
      this.connections.delete(connection);
      if (reason === "slow" || reason === "stalled" || reason === "error") {
        this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
      }
    });
    this.heartbeat ??= setInterval(() => this.beat(), STREAM_SETTINGS.heartbeatMs);
  }

  private beat() {
    const now = Date.now();
    for (const connection of this.connections) {
      if (connection.isStalled(now)) connection.drop("stalled");
      else connection.comment(`heartbeat ${new Date(now).toISOString()}`);
    }
  }

  stop() {
    this.stopped = true;
    clearInterval(this.heartbeat);
    for (const source of this.sources.values()) source.stop();
    for (const connection of this.connections) connection.close("shutdown");
  }
}

let hub: StreamHub | undefined;

/**
 * The process's hub, created on first use; Ponder's API shutdown stops its pollers and closes its
 * connections (before the database goes away). The webhook dispatcher shares its sources.
 */
export function streamHub(): StreamHub {
  if (!hub) {
    const created = new StreamHub();
    hub = created;
    ponderGlobals.PONDER_COMMON?.apiShutdown.add(() => created.stop());
  }
  return hub;
}

/** Open connections by stream, connections opened and dropped by reason, of this process (for /metrics). */
export function streamStats(): {
  clients: Record<StreamKind, number>;
  opened: number;
  dropped: Record<string, number>;
} {
  const clients = Object.fromEntries(STREAM_KINDS.map((kind) => [kind, 0])) as Record<StreamKind, number>;
  if (!hub) return { clients, opened: 0, dropped: {} };
  for (const connection of hub.connections) clients[connection.kind]++;
  return { clients, opened: hub.opened, dropped: { ...hub.dropped } };
}

/** The shared poller of a table, for the webhook dispatcher. */
export function streamSource(kind: StreamKind): StreamSource {
  return streamHub().source(kind);
}

async function openStream(c: Context, kind: StreamKind): Promise<Response> {
  const url = new URL(c.req.url);
  let query: StreamQuery;
  try {
    query = parseStreamQuery(kind, url.searchParams.entries(), c.req.header("last-event-id"), maxConfirmations());
  } catch (error) {
    if (error instanceof StreamQueryError) return c.json({ error: error.message }, 400);
    throw error;
  }
  // On a hot standby that has not replayed the resume point yet: wait a little, or say retry.
  const behind = query.start.kind === "after" ? await resumeBeyondReplay(c, query.start.cursor) : undefined;
  if (behind) return behind;
  const streams = streamHub();
  if (streams.connections.size >= STREAM_SETTINGS.maxClients) {
    return c.json({ error: `Too many stream clients (${STREAM_SETTINGS.maxClients}); retry later` }, 503);
  }
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  const connection = new SseConnection(kind, STREAM_SETTINGS.limits, outgoing ? () => outgoing.destroy() : undefined);
  streams.add(connection);
  connection.writeText("retry: 1000\n\n");
  connection.comment(`connected to /streams/${kind}`);

  const source = streams.source(kind);
  if (!source.current) connection.comment("waiting for the indexer to finish its backfill");
  const { filter, confirmations, start } = query;
  followSource(
    source,
    (tail) =>
      start.kind === "now"
        ? new StreamConsumer(filter, confirmations, tail, tail)
        : new StreamConsumer(filter, confirmations, start.cursor),
    connection,
  )
    .then((detach) => {
      connection.onClose(detach);
      // Caught up: from here on, events arrive as they are indexed.
      connection.comment("live");
    })
    .catch((error) => {
      streams.logError(`/streams/${kind}`, error);
      connection.drop("error");
    });

  return new Response(connection.body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
    },
  });
}

/** The routes, mounted by src/api/index.ts at /streams. */
export const streams = new Hono();

streams.get("/", (c) => {
  const current = streamHub();
  const sources: Record<string, unknown> = {};
  for (const kind of STREAM_KINDS) {
    const source = current.sources.get(kind);
    sources[kind] = source
      ? {
          ready: source.current !== undefined,
          tail: source.tail,
          head: source.current?.head.toString() ?? null,
          // With several chains, each one's head (`head` is the first chain's).
          heads: source.current?.heads
            ? Object.fromEntries([...source.current.heads].map(([chainId, head]) => [chainId, head.toString()]))
            : null,
          finalized: source.current?.finalized ?? null,
          unfinalizedRows: source.current?.recent.length ?? 0,
          reloads: source.reloads,
          subscribers: source.subscriberCount,
        }
      : { ready: false, subscribers: 0 };
  }
  const clients: Record<string, number> = { slashes: 0, activity: 0 };
  for (const connection of current.connections) clients[connection.kind]++;
  return c.json({
    clients,
    opened: current.opened,
    dropped: current.dropped,
    sources,
    settings: { ...STREAM_SETTINGS, maxConfirmations: maxConfirmations() },
  });
});
streams.get("/slashes", (c) => openStream(c, "slashes"));
streams.get("/activity", (c) => openStream(c, "activity"));
