/**
 * Live slashes, newest first. The feed follows the indexer's Server-Sent Events stream
 * (/streams/slashes: `slash` events, and `retracted` ones when a reorg removes a slash) when it
 * answers 200; otherwise it polls GraphQL every 2 s, and tries the stream again every 30 s.
 * `#/slashes?via=polling` skips the stream.
 */
import { shownChainId } from "../chain.js";
import { dataTable, h, message, section } from "../dom.js";
import { formatCount, slashReasonName, timeLabel } from "../format.js";
import { DashboardError, graphql } from "../graphql.js";
import { onLeave } from "../lifecycle.js";
import type { Route } from "../route.js";

/** A slash as GraphQL and the stream give it (the stream adds `cursor`). */
type SlashItem = {
  id: string;
  staker: string;
  invoiceId: string | null;
  reason: number;
  amount: string;
  remainingStake?: string | null;
  txHash: string;
  blockNumber: string;
  timestamp: string;
};

/** How many of the newest slashes the feed keeps. */
const FEED_SIZE = 200;
const POLL_MS = 2_000;
const STREAM_RETRY_MS = 30_000;
const STREAM_URL = new URL("../streams/slashes", window.location.href).toString();

const LATEST_QUERY = `query ($chain: Int!) { slashs(where: { chainId: $chain }, orderBy: "id", orderDirection: "desc", limit: ${FEED_SIZE}) {
  items { id staker invoiceId reason amount remainingStake txHash blockNumber timestamp }
} }`;

async function latestSlashes(): Promise<SlashItem[]> {
  return (await graphql<{ slashs: { items: SlashItem[] } }>(LATEST_QUERY)).slashs.items;
}

/**
 * A stream event's data as a feed item; undefined when it is not one (or of another chain). The item is keyed by the
 * event's `cursor`, which is the slash row's id in GraphQL (the event's own `id` is chain:tx:log).
 */
function fromStream(data: string): SlashItem | undefined {
  try {
    const event = JSON.parse(data) as Record<string, unknown>;
    if (typeof event.cursor !== "string" || event.staker === undefined) return undefined;
    // The stream serves every chain; the feed shows the dashboard's.
    if (event.chainId !== undefined && Number(event.chainId) !== shownChainId()) return undefined;
    const invoiceId = event.invoiceId === null || event.invoiceId === undefined ? null : String(event.invoiceId);
    return {
      id: event.cursor,
      staker: String(event.staker).toLowerCase(),
      invoiceId: invoiceId === "0" ? null : invoiceId,
      reason: Number(event.reason),
      amount: String(event.amount),
      remainingStake: event.remainingStake === undefined ? null : String(event.remainingStake),
      txHash: String(event.txHash),
      blockNumber: String(event.blockNumber),
      timestamp: String(event.timestamp),
    };
  } catch {
    return undefined;
  }
}

export async function slashesPage(route: Route): Promise<(Node | null)[]> {
  const streamAllowed = route.query.get("via") !== "polling";
  /** id → slash; ids are Ponder's event ids, which sort in chain order. */
  const feed = new Map<string, SlashItem>();
  const fresh = new Set<string>();
  let loaded = false;
  const status = h("span", { class: "live-status", "data-live-status": "connecting" }, "Connecting…");
  const updated = h("span", { class: "muted" });
  const holder = h("div");
  const problems = h("div");

  const setStatus = (mode: "stream" | "polling" | "connecting", text: string) => {
    status.dataset.liveStatus = mode;
    status.textContent = text;
  };

  function render() {
    const rows = [...feed.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).slice(0, FEED_SIZE);
    for (const id of feed.keys()) if (!rows.some((row) => row.id === id)) feed.delete(id);
    updated.textContent = `${formatCount(rows.length)} newest slashes · updated ${timeLabel(Math.floor(Date.now() / 1000))}`;
    holder.replaceChildren(
      dataTable<SlashItem>({
        name: "live-slashes",
        rows,
        limit: 100,
        sortable: false,
        empty: "No slash yet: the feed updates by itself.",
        rowAttributes: (row) => ({ "data-row": row.id, class: fresh.has(row.id) ? "fresh" : undefined }),
        columns: [
          { label: "Time", kind: "time", value: (s) => s.timestamp },
          { label: "Staker", kind: "account", value: (s) => s.staker },
          { label: "Reason", kind: "text", value: (s) => slashReasonName(s.reason) },
          { label: "Amount", kind: "open", value: (s) => s.amount },
          { label: "Stake left", kind: "open", value: (s) => s.remainingStake },
          { label: "Invoice", kind: "invoice", value: (s) => s.invoiceId },
          { label: "Block", kind: "count", value: (s) => s.blockNumber },
          { label: "Transaction", kind: "hex", value: (s) => s.txHash },
        ],
      }),
    );
  }

  /** Adds slashes to the feed (stream), or makes the feed exactly `items` (polling: a reorg's removals show). */
  function apply(items: SlashItem[], replace: boolean) {
    const before = new Set(feed.keys());
    if (replace) feed.clear();
    for (const item of items) feed.set(item.id, item);
    fresh.clear();
    if (loaded) for (const id of feed.keys()) if (!before.has(id)) fresh.add(id);
    loaded = true;
    render();
  }

  let stopped = false;
  let pollTimer: ReturnType<typeof setInterval> | undefined;
  let retryTimer: ReturnType<typeof setInterval> | undefined;
  let stream: EventSource | undefined;

  const report = (error: unknown) => {
    problems.replaceChildren(
      message(
        "error",
        error instanceof DashboardError ? error.message : `The feed failed: ${(error as Error).message}`,
      ),
    );
  };
  const refresh = async (replace: boolean) => {
    try {
      apply(await latestSlashes(), replace);
      problems.replaceChildren();
    } catch (error) {
      report(error);
    }
  };

  function startPolling(reason: string) {
    stream?.close();
    stream = undefined;
    setStatus("polling", `Polling GraphQL every ${POLL_MS / 1000} s (${reason})`);
    if (!pollTimer) pollTimer = setInterval(() => void refresh(true), POLL_MS);
    if (!retryTimer && streamAllowed) retryTimer = setInterval(tryStream, STREAM_RETRY_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    clearInterval(retryTimer);
    pollTimer = retryTimer = undefined;
  }

  /**
   * Follows the stream. EventSource gives up (CLOSED) on an answer other than a 200 event stream,
   * and then the feed polls; after a network error it reconnects by itself, resuming from the last
   * event's id.
   */
  function tryStream() {
    if (stopped || stream) return;
    const source = new EventSource(STREAM_URL);
    stream = source;
    source.addEventListener("open", () => {
      stopPolling();
      setStatus("stream", "Live: following the indexer's slash stream");
      // Whatever happened between the first read and the stream's start.
      void refresh(false);
    });
    source.addEventListener("slash", (event) => {
      const item = fromStream((event as MessageEvent<string>).data);
      if (item) apply([item], false);
    });
    source.addEventListener("retracted", (event) => {
      const item = fromStream((event as MessageEvent<string>).data);
      if (item && feed.delete(item.id)) render();
    });
    source.addEventListener("error", () => {
      if (stopped || stream !== source) return;
      if (source.readyState === EventSource.CLOSED) startPolling("the slash stream is not available");
      else setStatus("connecting", "Reconnecting to the slash stream…");
    });
  }

  onLeave(() => {
    stopped = true;
    stopPolling();
    stream?.close();
  });

  await refresh(true);
  if (streamAllowed) tryStream();
  else startPolling("as asked");
  return [
    h("h1", {}, "Live slashes"),
    h("p", { class: "live" }, status, " ", updated),
    problems,
    section("Newest first", holder),
  ];
}
