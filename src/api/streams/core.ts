/**
 * The engine behind the bot streams and the webhooks, free of Ponder and HTTP so that its reorg and
 * confirmation rules are unit-tested against a fake store.
 *
 * A `StreamSource` polls one table (slash or activity) for everyone: one query for the rows after
 * the newest it has seen, and a fingerprint (count and md5 of the ids) of the unfinalized rows, which
 * catches what a reorg deleted or inserted below that point; only then does it re-read them. It
 * publishes, after each poll, the rows that are new and the exact set of unfinalized rows.
 *
 * A `StreamConsumer` is one reader (an SSE client or a webhook subscription): its filter, its depth
 * (`confirmations`), its cursor, and the unfinalized rows it has delivered. From each update it
 * derives what to send: new rows, in chain order, once deep enough; and a retraction for a delivered
 * row that is no longer there. A row leaves its memory once Ponder finalizes its block.
 */
import { createHash } from "node:crypto";
import { chainIdOfCursor, maxCursor } from "./cursor.js";
import { matchesFilter, type StreamFilter, type StreamRow } from "./filters.js";

/** Where the indexer is: from Ponder's `_ponder_meta` and `_ponder_checkpoint` tables. */
export type IndexerState = {
  /** The historical backfill is over (Ponder's /ready). */
  ready: boolean;
  chainId: number;
  /** The newest indexed block (of the first chain). */
  head: bigint;
  /** The newest indexed block of each chain, for `confirmations` on a row of that chain. */
  heads?: ReadonlyMap<number, bigint>;
  /** Ponder's latest checkpoint (the least of the chains'): every row up to it is indexed. */
  latest: string;
  /** Rows with ids up to this checkpoint are final: no reorg will remove them. */
  finalized: string;
};

/** What a source needs of the database, for one table. */
export interface StreamStore {
  indexerState(): Promise<IndexerState | undefined>;
  /** Rows with `after < id <= upTo` (no upper bound when undefined), in id order, at most `limit`. */
  rowsAfter(after: string, limit: number, upTo?: string, filter?: StreamFilter): Promise<StreamRow[]>;
  /** Count and md5 of the ids in `(after, upTo]`, joined by "," in byte order ("" when none). */
  fingerprint(after: string, upTo: string): Promise<{ count: number; md5: string }>;
  /** The greatest id, or "" for an empty table. */
  maxId(): Promise<string>;
}

/** One poll's result, handed to every consumer. */
export type SourceUpdate = {
  head: bigint;
  heads?: ReadonlyMap<number, bigint>;
  /** Every row with an id up to this checkpoint is indexed. */
  latest: string;
  finalized: string;
  /** Rows this source had not published before (new, or inserted below the tail by a reorg), in id order. */
  fresh: StreamRow[];
  /** Every unfinalized row up to the tail, in id order: exact as of this poll. */
  recent: StreamRow[];
  recentIds: ReadonlySet<string>;
};

/** The md5 a `StreamStore.fingerprint` returns, computed over ids in memory. */
export function fingerprintOf(ids: readonly string[]): string {
  return ids.length === 0 ? "" : createHash("md5").update(ids.join(",")).digest("hex");
}

const byId = (a: StreamRow, b: StreamRow) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export type SourceOptions = {
  /** Between polls while anyone listens; 200 ms keeps delivery well inside a one-second block. */
  intervalMs: number;
  /** Rows per query when catching up. */
  pageSize: number;
  onError?: (error: unknown) => void;
};

/**
 * The shared poller of one table. Started by the first subscriber, it polls until `stop()`; it
 * publishes nothing before the indexer is ready (the historical backfill and a restart's crash
 * recovery rewrite unfinalized rows, which must not look like reorgs).
 */
export class StreamSource {
  /** Every row with an id up to here has been published (or was history when the source started). */
  tail = "";
  current: SourceUpdate | undefined;
  /** Polls whose fingerprint differed (reorgs, restarts' reverts): each re-read the unfinalized rows. */
  reloads = 0;
  private subscribers = new Set<(update: SourceUpdate) => void>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private idling = false;
  private stopped = false;
  private waiters: (() => void)[] = [];

  constructor(
    readonly store: StreamStore,
    readonly options: SourceOptions,
  ) {}

  /** Starts polling (idempotent). */
  start() {
    if (this.running || this.stopped) return;
    this.running = true;
    this.schedule(0);
  }

  stop() {
    this.stopped = true;
    this.running = false;
    clearTimeout(this.timer);
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  get isStopped() {
    return this.stopped;
  }

  /** Resolves after the first update (the indexer is ready), or when the source stops. */
  async ready(): Promise<void> {
    this.start();
    if (this.current || this.stopped) return;
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Resolves after the next poll has been published (or the source stopped). */
  async nextUpdate(): Promise<void> {
    if (this.stopped) return;
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  subscribe(listener: (update: SourceUpdate) => void): () => void {
    this.subscribers.add(listener);
    return () => this.subscribers.delete(listener);
  }

  get subscriberCount() {
    return this.subscribers.size;
  }

  private schedule(delayMs: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      if (this.subscribers.size === 0 && this.waiters.length === 0 && this.current) {
        // Nobody listens: stay idle. A consumer that joins waits for the next poll (`nextUpdate`),
        // which starts afresh rather than reading everything indexed meanwhile into memory.
        this.idling = true;
        this.schedule(this.options.intervalMs);
        return;
      }
      this.poll()
        .catch((error) => this.options.onError?.(error))
        .finally(() => this.schedule(this.options.intervalMs));
    }, delayMs);
  }

  /** One poll; exposed for tests, which drive the source by hand. */
  async poll(): Promise<void> {
    const state = await this.store.indexerState();
    if (!state?.ready || this.stopped) return;
    const { finalized, head, heads, latest } = state;
    let fresh: StreamRow[] = [];
    let recent: StreamRow[];

    if (!this.current || (this.idling && this.subscribers.size === 0)) {
      // First poll (or after idling): what is there is history, served by catch-up queries, not news.
      this.idling = false;
      this.tail = await this.store.maxId();
      recent = await this.readAll(finalized, this.tail);
    } else {
      for (;;) {
        const page = await this.store.rowsAfter(this.tail, this.options.pageSize);
        fresh.push(...page);
        if (page.length > 0) this.tail = page[page.length - 1].id;
        if (page.length < this.options.pageSize) break;
      }
      recent = this.current.recent.filter((row) => row.id > finalized);
      for (const row of fresh) if (row.id > finalized) recent.push(row);
      const expected = await this.store.fingerprint(finalized, this.tail);
      if (expected.count !== recent.length || expected.md5 !== fingerprintOf(recent.map((row) => row.id))) {
        // A reorg (or a restart's revert) changed rows below the tail: re-read them all.
        this.reloads++;
        const known = new Set(recent.map((row) => row.id));
        recent = await this.readAll(finalized, this.tail);
        const inserted = recent.filter((row) => !known.has(row.id));
        if (inserted.length > 0) {
          const freshIds = new Set(fresh.map((row) => row.id));
          fresh = fresh.concat(inserted.filter((row) => !freshIds.has(row.id))).sort(byId);
        }
      }
    }
    if (this.stopped) return;
    const update: SourceUpdate = {
      head,
      heads,
      latest,
      finalized,
      fresh,
      recent,
      recentIds: new Set(recent.map((row) => row.id)),
    };
    this.current = update;
    for (const listener of [...this.subscribers]) {
      try {
        listener(update);
      } catch (error) {
        this.options.onError?.(error);
      }
    }
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private async readAll(after: string, upTo: string): Promise<StreamRow[]> {
    const rows: StreamRow[] = [];
    let from = after;
    if (upTo <= after) return rows;
    for (;;) {
      const page = await this.store.rowsAfter(from, this.options.pageSize, upTo);
      rows.push(...page);
      if (page.length < this.options.pageSize) return rows;
      from = page[page.length - 1].id;
    }
  }
}

/** The newest indexed block of the row's own chain (several chains have heads of their own). */
function indexedHeadOf(row: StreamRow, update: Pick<SourceUpdate, "head" | "heads">): bigint {
  return update.heads?.get(chainIdOfCursor(row.id)) ?? update.head;
}

/** What a consumer sends: an event, or the retraction of one it sent and a reorg removed. */
export type Frame = { kind: "event" | "retracted"; row: StreamRow; cursor: string };

/**
 * One reader's position and memory. Rules, per row in chain order:
 * - a delivered row that is still unfinalized is remembered; when it disappears from the table it is
 *   retracted, once the indexer is back at its block (`indexedPast`); when its block is finalized it
 *   is forgotten;
 * - a matching row is delivered once `head - blockNumber >= confirmations`;
 * - a final row is delivered only past the cursor; an unfinalized one whenever it is not remembered
 *   (a reorg may insert rows below the cursor: they are delivered too).
 * `confirmations` must not exceed the chain's finality depth, so that final implies deep enough.
 */
export class StreamConsumer {
  /** The greatest cursor delivered (or the resume point): what `Last-Event-ID` carries. */
  cursor: string;
  /** Delivered rows whose blocks are not final yet. */
  readonly sent = new Map<string, StreamRow>();
  /** Rows known to be delivered already (webhooks know exactly); they are remembered, not resent. */
  private known: Set<string> | undefined;
  /**
   * After an indexer restart Ponder re-indexes its unfinalized blocks: until it is back past the
   * resume cursor, rows re-appearing at or before it were delivered before and are not resent.
   */
  private assumedUpTo = "";

  /**
   * @param cursor where the reader resumes: rows after it are delivered.
   * @param floor rows at or before it are not the reader's business at all (a stream opened "now", a
   *   webhook subscription's start): never delivered, even if a reorg re-inserts them.
   */
  constructor(
    readonly filter: StreamFilter,
    readonly confirmations: number,
    cursor: string,
    readonly floor = "",
  ) {
    this.cursor = cursor;
  }

  /**
   * On joining a source: rows after the floor and at or before the resume cursor that are still
   * unfinalized were delivered before (to this reader's previous connection), so they are remembered,
   * and retracted if a reorg removes them. `delivered`, when known exactly (webhooks), replaces that
   * assumption.
   */
  seed(update: SourceUpdate, delivered?: ReadonlySet<string>) {
    if (delivered) this.known = new Set(delivered);
    else if (update.latest < this.cursor) this.assumedUpTo = this.cursor;
    for (const row of update.recent) {
      if (row.id <= this.floor) continue;
      if (delivered ? delivered.has(row.id) : row.id <= this.cursor && matchesFilter(this.filter, row)) {
        this.sent.set(row.id, row);
      }
    }
  }

  /** A row delivered before this consumer existed (see `known`, `assumedUpTo`): remembered only. */
  private delivered(row: StreamRow, finalized: string): boolean {
    if (!(this.known?.has(row.id) || row.id <= this.assumedUpTo)) return false;
    if (row.id > finalized) this.sent.set(row.id, row);
    return true;
  }

  /** Deep enough on its own chain: several chains have heads of their own. */
  private deep(row: StreamRow, update: Pick<SourceUpdate, "head" | "heads">) {
    if (this.confirmations === 0) return true;
    return indexedHeadOf(row, update) - row.blockNumber >= BigInt(this.confirmations);
  }

  /**
   * The indexer has indexed the row's block again, so a row missing from the table is gone. A reorg
   * leaves Ponder's checkpoint where it was until the next block, so its removals pass at once. A
   * restart's crash recovery moves the checkpoint back to the finalized block and re-indexes the
   * unfinalized ones through real time: until it is back at the row's block, a missing row is only
   * not re-indexed yet, and retracting it would be followed by sending it again.
   */
  private indexedPast(row: StreamRow, update: Pick<SourceUpdate, "head" | "heads">) {
    return indexedHeadOf(row, update) >= row.blockNumber;
  }

  private deliver(row: StreamRow, finalized: string, frames: Frame[]) {
    if (row.id > this.cursor) this.cursor = row.id;
    if (row.id > finalized) this.sent.set(row.id, row);
    frames.push({ kind: "event", row, cursor: this.cursor });
  }

  /**
   * Rows read from the database past the cursor (catch-up), in id order, judged against the newest
   * update. Returns the frames and whether it stopped at a row not yet deep enough (the rest waits
   * for later updates, which hold it since it is unfinalized).
   */
  catchUp(rows: readonly StreamRow[], update: SourceUpdate): { frames: Frame[]; blocked: boolean } {
    const frames: Frame[] = [];
    for (const row of rows) {
      if (row.id <= this.floor || this.sent.has(row.id) || !matchesFilter(this.filter, row)) continue;
      if (row.id <= this.cursor && row.id <= update.finalized) continue;
      if (this.delivered(row, update.finalized)) continue;
      if (!this.deep(row, update)) return { frames, blocked: true };
      this.deliver(row, update.finalized, frames);
    }
    return { frames, blocked: false };
  }

  /**
   * The frames for one update: retractions first (the reorg happened before the replacement rows),
   * then deliveries in chain order. `everything` also reconsiders every unfinalized row, which a
   * consumer does when it attaches and, with confirmations, at every update.
   */
  apply(update: SourceUpdate, everything = false): Frame[] {
    const frames: Frame[] = [];
    for (const [id, row] of this.sent) {
      if (id <= update.finalized) this.sent.delete(id);
      else if (!update.recentIds.has(id) && this.indexedPast(row, update)) {
        this.sent.delete(id);
        this.known?.delete(id);
        frames.push({ kind: "retracted", row, cursor: this.cursor });
      }
    }
    let candidates = update.fresh;
    if (everything || this.confirmations > 0) {
      const seen = new Set<string>();
      candidates = [];
      for (const row of update.fresh.concat(update.recent)) {
        if (!seen.has(row.id)) {
          seen.add(row.id);
          candidates.push(row);
        }
      }
      candidates.sort(byId);
    }
    for (const row of candidates) {
      if (row.id <= this.floor || this.sent.has(row.id) || !matchesFilter(this.filter, row)) continue;
      const final = row.id <= update.finalized;
      if (final && row.id <= this.cursor) continue;
      if (!final && !update.recentIds.has(row.id)) continue;
      if (this.delivered(row, update.finalized)) continue;
      if (!this.deep(row, update)) continue;
      this.deliver(row, update.finalized, frames);
    }
    if (this.assumedUpTo !== "" && update.latest >= this.assumedUpTo) this.assumedUpTo = "";
    return frames;
  }
}

/** Where a consumer's frames go: an SSE connection, or a webhook subscription's delivery queue. */
export interface FrameSink {
  /** False once the reader is gone: the follow loop stops. */
  readonly open: boolean;
  /** Takes frames at once (the fan-out is synchronous); a sink that cannot keep up closes itself. */
  write(frames: Frame[]): void;
  /** Resolves when the sink can take another page of catch-up (a slow reader paces the replay). */
  demand(): Promise<void>;
}

/**
 * Runs a consumer, made once the indexer is ready (a stream opened "now" starts at the tail then):
 * waits for the indexer, replays from the database what lies between its cursor
 * and the source's tail (filtered in SQL, paced by the sink), then attaches to the live updates.
 * The attachment happens with no await after checking that the tail has not moved, so no update
 * falls between the replay and the live feed. Returns the function that detaches it.
 */
export async function followSource(
  source: StreamSource,
  makeConsumer: (tail: string) => StreamConsumer,
  sink: FrameSink,
  options: { delivered?: ReadonlySet<string> } = {},
): Promise<() => void> {
  await source.ready();
  // The source may have been idle: start from a poll made after this reader arrived.
  await source.nextUpdate();
  if (!sink.open || !source.current) return () => {};
  const consumer = makeConsumer(source.tail);
  consumer.seed(source.current, options.delivered);
  let scan = maxCursor(consumer.cursor, consumer.floor);
  const pageSize = source.options.pageSize;
  for (;;) {
    const bound = source.tail;
    let blocked = false;
    while (scan < bound) {
      await sink.demand();
      if (!sink.open || source.isStopped) return () => {};
      const rows = await source.store.rowsAfter(scan, pageSize, bound, consumer.filter);
      if (!sink.open || source.isStopped) return () => {};
      const result = consumer.catchUp(rows, source.current);
      if (result.frames.length > 0) sink.write(result.frames);
      if (result.blocked) {
        blocked = true;
        break;
      }
      scan = rows.length < pageSize ? bound : rows[rows.length - 1].id;
    }
    if (blocked || source.tail === bound) break;
  }
  if (!sink.open) return () => {};
  const unsubscribe = source.subscribe((update) => {
    const frames = consumer.apply(update);
    if (frames.length > 0) sink.write(frames);
  });
  const frames = consumer.apply(source.current, true);
  if (frames.length > 0) sink.write(frames);
  return unsubscribe;
}
