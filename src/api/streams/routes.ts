/**
 * GET /streams/slashes and GET /streams/activity: Server-Sent Events for bots, resumable from a
 * cursor, with retractions on reorgs and optional confirmation depth (README, "For bots"). One shared
 * poller per table feeds every client (and the webhook dispatcher); each client has a bounded queue.
 * GET /streams answers what the streams are doing (clients, drops, the sources' positions).
 */
import type { ServerResponse } from "node:http";
import { type Context, Hono } from "hono";
import { readEnv } from "../../../config/env.js";
import { resumeBeyondReplay } from "../standby.js";
import { followSource, StreamConsumer, type StreamSource } from "./core.js";
import { parseStreamQuery, STREAM_KINDS, type StreamKind, type StreamQuery, StreamQueryError } from "./filters.js";
import type { StreamHub, StreamHubSettings } from "./hub.js";
import { SseConnection } from "./sse.js";

/** Tunables, from the environment (the README's "For bots" lists them). */
export const STREAM_SETTINGS: StreamHubSettings = {
  pollMs: readEnv("STREAM_POLL_MS"),
  heartbeatMs: readEnv("STREAM_HEARTBEAT_MS"),
  pageSize: readEnv("STREAM_PAGE_SIZE"),
  maxClients: readEnv("STREAM_MAX_CLIENTS"),
  limits: {
    maxQueueBytes: readEnv("STREAM_MAX_QUEUE_BYTES"),
    stallMs: readEnv("STREAM_STALL_MS"),
  },
};

async function openStream(
  c: Context,
  kind: StreamKind,
  streams: StreamHub,
  maxConfirmations: number,
): Promise<Response> {
  const url = new URL(c.req.url);
  let query: StreamQuery;
  try {
    query = parseStreamQuery(kind, url.searchParams.entries(), c.req.header("last-event-id"), maxConfirmations);
  } catch (error) {
    if (error instanceof StreamQueryError) return c.json({ error: error.message }, 400);
    throw error;
  }
  // On a hot standby that has not replayed the resume point yet: wait a little, or say retry.
  const behind = query.start.kind === "after" ? await resumeBeyondReplay(c, query.start.cursor) : undefined;
  if (behind) return behind;
  const { maxClients, limits } = streams.settings;
  if (streams.connections.size >= maxClients) {
    return c.json({ error: `Too many stream clients (${maxClients}); retry later` }, 503);
  }
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  const connection = new SseConnection(kind, limits, outgoing ? () => outgoing.destroy() : undefined);
  streams.add(connection);
  connection.writeText("retry: 1000\n\n");
  connection.comment(`connected to /streams/${kind}`);

  const source = streams.source(kind);
  if (!source.current) connection.comment("waiting for the indexer to finish its backfill");
  const { filter, confirmations, start } = query;
  // "now" is when the request arrived, pinned before the answer starts (a client's `open` event): an
  // event indexed between the two is delivered, not taken for the past by the source's next poll.
  const now = start.kind === "now" ? await pinNow(source) : undefined;
  followSource(
    source,
    (tail) =>
      start.kind === "now"
        ? new StreamConsumer(filter, confirmations, now ?? tail, now ?? tail)
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

/**
 * The routes, mounted by src/api/index.ts at /streams. `maxConfirmations` is the deepest
 * `confirmations` a client may ask for (src/api/ponder-internals.ts).
 */
export function streamRoutes(hub: StreamHub, maxConfirmations: () => number): Hono {
  const streams = new Hono();

  streams.get("/", (c) => {
    const current = hub;
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
      settings: { ...current.settings, maxConfirmations: maxConfirmations() },
    });
  });
  streams.get("/slashes", (c) => openStream(c, "slashes", hub, maxConfirmations()));
  streams.get("/activity", (c) => openStream(c, "activity", hub, maxConfirmations()));
  return streams;
}

/**
 * The newest row id of a stream's table, when the indexer is ready; undefined during the backfill (a
 * stream opened "now" then starts where the backfill ends) or when the database does not answer.
 */
async function pinNow(source: StreamSource): Promise<string | undefined> {
  try {
    const state = await source.store.indexerState();
    return state?.ready ? await source.store.maxId() : undefined;
  } catch {
    return undefined;
  }
}
