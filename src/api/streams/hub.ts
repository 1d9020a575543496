/**
 * The per-process state of the streams: one shared poller (StreamSource) per table, feeding every
 * SSE client and the webhook dispatcher, the open connections, and their counters (for /metrics).
 * Created by the composition root (src/api/index.ts), which stops it on Ponder's API shutdown.
 */
import { StreamSource, type StreamStore } from "./core.js";
import { STREAM_KINDS, type StreamKind } from "./filters.js";
import type { CloseReason, SseConnection, SseLimits } from "./sse.js";

/** The hub's tunables (src/api/streams/routes.ts reads them from the environment). */
export type StreamHubSettings = {
  pollMs: number;
  heartbeatMs: number;
  pageSize: number;
  maxClients: number;
  limits: SseLimits;
};

/** Open connections by stream, connections opened and dropped by reason, of this process. */
export type StreamStats = { clients: Record<StreamKind, number>; opened: number; dropped: Record<string, number> };

export class StreamHub {
  readonly sources = new Map<StreamKind, StreamSource>();
  readonly connections = new Set<SseConnection>();
  readonly dropped: Record<string, number> = {};
  opened = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastErrorLog = 0;

  constructor(
    readonly settings: StreamHubSettings,
    private readonly storeOf: (kind: StreamKind) => StreamStore,
  ) {}

  /** The shared poller of a table, started on first use (the webhook dispatcher uses it too). */
  source(kind: StreamKind): StreamSource {
    let source = this.sources.get(kind);
    if (!source) {
      source = new StreamSource(this.storeOf(kind), {
        intervalMs: this.settings.pollMs,
        pageSize: this.settings.pageSize,
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
    this.heartbeat ??= setInterval(() => this.beat(), this.settings.heartbeatMs);
  }

  private beat() {
    const now = Date.now();
    for (const connection of this.connections) {
      if (connection.isStalled(now)) connection.drop("stalled");
      else connection.comment(`heartbeat ${new Date(now).toISOString()}`);
    }
  }

  /** The figures /metrics reports. */
  stats(): StreamStats {
    const clients = Object.fromEntries(STREAM_KINDS.map((kind) => [kind, 0])) as Record<StreamKind, number>;
    for (const connection of this.connections) clients[connection.kind]++;
    return { clients, opened: this.opened, dropped: { ...this.dropped } };
  }

  /** Stops the pollers and closes the connections (before the database goes away). */
  stop() {
    this.stopped = true;
    clearInterval(this.heartbeat);
    for (const source of this.sources.values()) source.stop();
    for (const connection of this.connections) connection.close("shutdown");
  }
}
