/**
 * The stream engine against an in-memory table: catch-up then live with no gap, retractions when a
 * reorg deletes a delivered row, rows a reorg inserts below the cursor, confirmations, floors, and a
 * client that never reads being dropped while others go on.
 */
import { describe, expect, it } from "vitest";
import { waitFor } from "../harness/wait.js";
import {
  type Frame,
  type FrameSink,
  fingerprintOf,
  followSource,
  type IndexerState,
  StreamConsumer,
  StreamSource,
  type StreamStore,
} from "../src/api/streams/core.js";
import { matchesFilter, type StreamFilter, type StreamRow } from "../src/api/streams/filters.js";
import { SseConnection } from "../src/api/streams/sse.js";

const CHAIN = 31337;
const pad = (value: number | bigint, width: number) => value.toString().padStart(width, "0");

/** A Ponder checkpoint id for a log: block timestamp = 1000 + block. */
function checkpoint(block: number, log: number, eventType = 5): string {
  return `${pad(1000 + block, 10)}${pad(CHAIN, 16)}${pad(block, 16)}${pad(0, 16)}${eventType}${pad(log, 16)}`;
}
/** The finalized checkpoint of a block (Ponder's "up" checkpoint: after every event of the block). */
const blockEnd = (block: number) => `${pad(1000 + block, 10)}${pad(CHAIN, 16)}${pad(block, 16)}${"9".repeat(33)}`;

function slashRow(block: number, log: number, staker = "0xaa", amount = 10n): StreamRow {
  return {
    id: checkpoint(block, log),
    blockNumber: BigInt(block),
    logIndex: log,
    timestamp: BigInt(1000 + block),
    txHash: `0x${pad(block, 4)}${pad(log, 4)}`,
    staker,
    reason: 1,
    amount,
  };
}

class FakeStore implements StreamStore {
  rows: StreamRow[] = [];
  head = 0n;
  finalizedBlock = 0;
  ready = true;
  queries = 0;

  add(...rows: StreamRow[]) {
    this.rows.push(...rows);
    this.rows.sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const row of rows) if (row.blockNumber > this.head) this.head = row.blockNumber;
  }
  remove(predicate: (row: StreamRow) => boolean) {
    this.rows = this.rows.filter((row) => !predicate(row));
  }
  async indexerState(): Promise<IndexerState> {
    return {
      ready: this.ready,
      chainId: CHAIN,
      head: this.head,
      latest: blockEnd(Number(this.head)),
      finalized: blockEnd(this.finalizedBlock),
    };
  }
  async rowsAfter(after: string, limit: number, upTo?: string, filter?: StreamFilter) {
    this.queries++;
    return this.rows
      .filter(
        (row) => row.id > after && (upTo === undefined || row.id <= upTo) && (!filter || matchesFilter(filter, row)),
      )
      .slice(0, limit);
  }
  async fingerprint(after: string, upTo: string) {
    const ids = this.rows.filter((row) => row.id > after && row.id <= upTo).map((row) => row.id);
    return { count: ids.length, md5: fingerprintOf(ids) };
  }
  async maxId() {
    return this.rows.at(-1)?.id ?? "";
  }
}

class ArraySink implements FrameSink {
  open = true;
  frames: Frame[] = [];
  write(frames: Frame[]) {
    this.frames.push(...frames);
  }
  async demand() {}
  events() {
    return this.frames.filter((frame) => frame.kind === "event").map((frame) => frame.row.id);
  }
  retracted() {
    return this.frames.filter((frame) => frame.kind === "retracted").map((frame) => frame.row.id);
  }
}

const all: StreamFilter = { kind: "slashes" };

/** A source polled by hand (the interval timer is effectively off). */
function manualSource(store: FakeStore, pageSize = 3) {
  return new StreamSource(store, { intervalMs: 3_600_000, pageSize });
}

async function attach(source: StreamSource, consumer: (tail: string) => StreamConsumer, sink: FrameSink) {
  const following = followSource(source, consumer, sink);
  await source.poll(); // ready
  await source.poll(); // the poll followSource waits for
  return following;
}

describe("stream engine", () => {
  it("replays history after a cursor in pages, then delivers live rows once each", async () => {
    const store = new FakeStore();
    for (let block = 1; block <= 10; block++) store.add(slashRow(block, 0));
    store.finalizedBlock = 5;
    const source = manualSource(store);
    const sink = new ArraySink();
    await attach(source, () => new StreamConsumer(all, 0, checkpoint(3, 0)), sink);
    expect(sink.events()).toEqual([4, 5, 6, 7, 8, 9, 10].map((block) => checkpoint(block, 0)));

    store.add(slashRow(11, 0), slashRow(11, 1), slashRow(12, 0));
    await source.poll();
    await source.poll();
    expect(sink.events().slice(7)).toEqual([checkpoint(11, 0), checkpoint(11, 1), checkpoint(12, 0)]);
    expect(new Set(sink.events()).size).toBe(sink.events().length);
    source.stop();
  });

  it("starts at the tail for 'now' and never delivers rows at or before it, even re-inserted", async () => {
    const store = new FakeStore();
    store.add(slashRow(1, 0), slashRow(2, 0));
    const source = manualSource(store);
    const sink = new ArraySink();
    await attach(source, (tail) => new StreamConsumer(all, 0, tail, tail), sink);
    expect(sink.frames).toEqual([]);
    store.add(slashRow(3, 0));
    await source.poll();
    expect(sink.events()).toEqual([checkpoint(3, 0)]);
    source.stop();
  });

  it("retracts a delivered row that a reorg deleted, and delivers its replacement", async () => {
    const store = new FakeStore();
    store.add(slashRow(1, 0));
    const source = manualSource(store);
    const sink = new ArraySink();
    await attach(source, () => new StreamConsumer(all, 0, ""), sink);
    store.add(slashRow(2, 0), slashRow(3, 0));
    await source.poll();
    expect(sink.events()).toEqual([checkpoint(1, 0), checkpoint(2, 0), checkpoint(3, 0)]);

    // Block 3 reorged out: its slash is retracted. Ponder's checkpoint stays at block 3 until the next
    // block is indexed (runtime/multichain.js, "reorg"), so the indexer counts as past the row.
    store.remove((row) => row.blockNumber >= 3n);
    await source.poll();
    expect(sink.retracted()).toEqual([checkpoint(3, 0)]);
    expect(sink.events()).toHaveLength(3);

    // A replacement row with an id below the cursor is delivered although the cursor is past it.
    store.remove((row) => row.blockNumber === 2n);
    store.add(slashRow(2, 7, "0xbb"));
    await source.poll();
    expect(sink.retracted()).toEqual([checkpoint(3, 0), checkpoint(2, 0)]);
    expect(sink.events().at(-1)).toBe(checkpoint(2, 7));
    expect(sink.frames.at(-1)?.cursor).toBe(checkpoint(3, 0));
    source.stop();
  });

  it("forgets rows once finalized: no retraction for them afterwards", async () => {
    const store = new FakeStore();
    const source = manualSource(store);
    const sink = new ArraySink();
    await attach(source, () => new StreamConsumer(all, 0, ""), sink);
    store.add(slashRow(1, 0), slashRow(2, 0));
    await source.poll();
    const consumerSent = () => sink.events().length;
    expect(consumerSent()).toBe(2);
    store.finalizedBlock = 1;
    await source.poll();
    expect(source.current?.recent.map((row) => row.id)).toEqual([checkpoint(2, 0)]);
    source.stop();
  });

  it("with confirmations, delivers a row only once deep enough, in order, and catches up blocked rows", async () => {
    const store = new FakeStore();
    store.add(slashRow(1, 0), slashRow(2, 0), slashRow(3, 0));
    store.head = 3n;
    const source = manualSource(store);
    const sink = new ArraySink();
    await attach(source, () => new StreamConsumer(all, 2, ""), sink);
    expect(sink.events()).toEqual([checkpoint(1, 0)]);
    store.head = 4n;
    await source.poll();
    expect(sink.events()).toEqual([checkpoint(1, 0), checkpoint(2, 0)]);
    // Block 3 is reorged out before it is deep enough: never delivered, never retracted.
    store.remove((row) => row.blockNumber === 3n);
    store.add(slashRow(3, 4));
    store.head = 6n;
    await source.poll();
    expect(sink.events()).toEqual([checkpoint(1, 0), checkpoint(2, 0), checkpoint(3, 4)]);
    expect(sink.retracted()).toEqual([]);
    source.stop();
  });

  it("seeds a resumed consumer: rows up to its cursor are known (retracted if they vanish, not resent)", async () => {
    const store = new FakeStore();
    store.add(slashRow(1, 0), slashRow(2, 0), slashRow(3, 0));
    const source = manualSource(store);
    const sink = new ArraySink();
    await attach(source, () => new StreamConsumer(all, 0, checkpoint(2, 0)), sink);
    expect(sink.events()).toEqual([checkpoint(3, 0)]);
    store.remove((row) => row.blockNumber === 2n);
    await source.poll();
    expect(sink.retracted()).toEqual([checkpoint(2, 0)]);
    source.stop();
  });

  it("after an indexer restart, does not resend rows re-indexed up to the resume cursor", async () => {
    // The new process is ready with blocks 1-2 (its backfill); blocks 3-5 come back through realtime.
    const store = new FakeStore();
    store.add(slashRow(1, 0), slashRow(2, 0));
    const source = manualSource(store);
    const resumed = new ArraySink();
    const exact = new ArraySink();
    const cursor = checkpoint(5, 0);
    const following = [
      followSource(source, () => new StreamConsumer(all, 0, cursor), resumed),
      followSource(source, () => new StreamConsumer(all, 0, cursor), exact, {
        delivered: new Set([1, 2, 3, 4, 5].map((block) => checkpoint(block, 0))),
      }),
    ];
    await source.poll();
    await source.poll();
    await Promise.all(following);
    store.add(slashRow(3, 0), slashRow(4, 0));
    await source.poll();
    store.add(slashRow(5, 0), slashRow(6, 0));
    await source.poll();
    expect(resumed.events()).toEqual([checkpoint(6, 0)]);
    expect(exact.events()).toEqual([checkpoint(6, 0)]);
    // They are remembered as sent: a reorg that removes one retracts it.
    store.remove((row) => row.blockNumber === 4n);
    await source.poll();
    expect(resumed.retracted()).toEqual([checkpoint(4, 0)]);
    expect(exact.retracted()).toEqual([checkpoint(4, 0)]);
    source.stop();
  });

  it("holds a retraction while a restarted indexer re-indexes the row's block, and sends nothing twice", async () => {
    // A live consumer (a bot on a replica) while the indexer restarts: crash recovery deletes the
    // unfinalized blocks 4-6 and moves the checkpoint back to the finalized block 3.
    const store = new FakeStore();
    for (let block = 1; block <= 6; block++) store.add(slashRow(block, 0));
    store.finalizedBlock = 3;
    const source = manualSource(store);
    const sink = new ArraySink();
    await attach(source, () => new StreamConsumer(all, 0, ""), sink);
    expect(sink.events()).toHaveLength(6);

    store.remove((row) => row.blockNumber > 3n);
    store.head = 3n;
    await source.poll();
    expect(sink.retracted()).toEqual([]);
    // Real time re-indexes block 4 and 5; block 6 comes back without its slash (the chain changed
    // while the indexer was down): that one is retracted once the indexer is past block 6.
    store.add(slashRow(4, 0), slashRow(5, 0));
    await source.poll();
    store.head = 6n;
    await source.poll();
    expect(sink.events()).toHaveLength(6);
    expect(sink.retracted()).toEqual([checkpoint(6, 0)]);
    source.stop();
  });

  it("applies filters in SQL for catch-up and in memory live", async () => {
    const store = new FakeStore();
    store.add(slashRow(1, 0, "0xaa", 5n), slashRow(2, 0, "0xbb", 50n), slashRow(3, 0, "0xbb", 1n));
    const source = manualSource(store);
    const sink = new ArraySink();
    const filter: StreamFilter = { kind: "slashes", stakers: ["0xbb"], minAmount: 10n };
    await attach(source, () => new StreamConsumer(filter, 0, ""), sink);
    store.add(slashRow(4, 0, "0xbb", 10n), slashRow(5, 0, "0xaa", 100n));
    await source.poll();
    expect(sink.events()).toEqual([checkpoint(2, 0), checkpoint(4, 0)]);
    source.stop();
  });

  it("loses nothing when rows arrive while a consumer is catching up", async () => {
    const store = new FakeStore();
    for (let block = 1; block <= 20; block++) store.add(slashRow(block, 0));
    const source = manualSource(store, 2);
    const sink = new ArraySink();
    let extra = 21;
    // Every catch-up page, the source polls and a new row lands: the replay has to chase the tail.
    const slowSink: FrameSink = {
      open: true,
      write: (frames) => sink.write(frames),
      demand: async () => {
        if (extra <= 26) store.add(slashRow(extra++, 0));
        await source.poll();
      },
    };
    const following = followSource(source, () => new StreamConsumer(all, 0, ""), slowSink);
    await source.poll();
    await source.poll();
    await following;
    store.add(slashRow(40, 0));
    await source.poll();
    const expected = [...Array.from({ length: extra - 1 }, (_, i) => checkpoint(i + 1, 0)), checkpoint(40, 0)];
    expect(sink.events()).toEqual(expected);
    source.stop();
  });

  it("idles without listeners and starts afresh at the tail when one comes", async () => {
    const store = new FakeStore();
    store.add(slashRow(1, 0));
    const source = new StreamSource(store, { intervalMs: 5, pageSize: 2 });
    await source.ready();
    const queries = store.queries;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(store.queries).toBe(queries);
    for (let block = 2; block <= 30; block++) store.add(slashRow(block, 0));
    const sink = new ArraySink();
    const detach = await followSource(source, (tail) => new StreamConsumer(all, 0, tail, tail), sink);
    expect(source.tail).toBe(checkpoint(30, 0));
    store.add(slashRow(31, 0));
    await waitFor(() => sink.events().length === 1, 2_000, "the live row", { intervalMs: 5 });
    expect(sink.events()).toEqual([checkpoint(31, 0)]);
    detach();
    source.stop();
  });

  it("publishes nothing before the indexer is ready", async () => {
    const store = new FakeStore();
    store.ready = false;
    store.add(slashRow(1, 0));
    const source = manualSource(store);
    await source.poll();
    expect(source.current).toBeUndefined();
    store.ready = true;
    await source.poll();
    expect(source.tail).toBe(checkpoint(1, 0));
    source.stop();
  });
});

describe("SSE connection limits", () => {
  it("drops a client that never reads once its queue is over the bound, and only that client", async () => {
    let destroyed = 0;
    const stuck = new SseConnection("slashes", { maxQueueBytes: 128 * 1024, stallMs: 60_000 }, () => destroyed++);
    const reading = new SseConnection("slashes", { maxQueueBytes: 128 * 1024, stallMs: 60_000 });
    const reader = reading.body.getReader();
    let received = 0;
    const drain = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        received += value.length;
      }
    })();
    const frame = (i: number): Frame => ({ kind: "event", row: slashRow(i, 0), cursor: checkpoint(i, 0) });
    for (let i = 0; i < 2_000 && stuck.open; i++) {
      stuck.write([frame(i)]);
      reading.write([frame(i)]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(stuck.open).toBe(false);
    expect(stuck.closeReason).toBe("slow");
    expect(destroyed).toBe(1);
    expect(reading.open).toBe(true);
    reading.close("shutdown");
    await drain;
    expect(received).toBeGreaterThan(128 * 1024);
  });

  it("drops a client whose catch-up waits for it longer than the stall limit", async () => {
    const stuck = new SseConnection("slashes", { maxQueueBytes: 1024 * 1024, stallMs: 200 });
    stuck.writeText("x".repeat(70 * 1024));
    const started = Date.now();
    await stuck.demand();
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(stuck.closeReason).toBe("stalled");
  });
});

describe("several chains", () => {
  const L2 = 31338;
  /** A checkpoint of chain `chainId`, same layout as `checkpoint` above. */
  const checkpointOn = (chainId: number, block: number, log: number) =>
    `${pad(1000 + block, 10)}${pad(chainId, 16)}${pad(block, 16)}${pad(0, 16)}5${pad(log, 16)}`;
  const rowOn = (chainId: number, block: number): StreamRow => ({
    ...slashRow(block, 0),
    id: checkpointOn(chainId, block, 0),
  });

  it("counts confirmations on each row's own chain", () => {
    // Chain 31337 is at block 100, the L2 at block 11: a row of the L2's block 10 has 1 confirmation.
    const rows = [rowOn(CHAIN, 10), rowOn(L2, 10)].sort((a, b) => (a.id < b.id ? -1 : 1));
    const update = {
      head: 100n,
      heads: new Map([
        [CHAIN, 100n],
        [L2, 11n],
      ]),
      latest: checkpointOn(L2, 11, 9),
      finalized: "",
      fresh: rows,
      recent: rows,
      recentIds: new Set(rows.map((row) => row.id)),
    };
    const consumer = new StreamConsumer({ kind: "slashes" }, 2, "");
    const delivered = consumer.apply(update, true).filter((frame) => frame.kind === "event");
    expect(delivered.map((frame) => frame.row.id)).toEqual([checkpointOn(CHAIN, 10, 0)]);
    // Once the L2 is two blocks past it, its row goes out too.
    const later = consumer.apply({ ...update, heads: new Map([...update.heads, [L2, 12n]]), fresh: [] }, true);
    expect(later.map((frame) => frame.row.id)).toEqual([checkpointOn(L2, 10, 0)]);
  });
});
