/**
 * The GraphQL answer cache (src/api/graphql/cache.ts) against a real `ponder start` on PostgreSQL
 * and a live anvil chain: a repeated query is answered from the cache, and no answer ever holds less
 * than the block its X-Indexed-Block header claims, while new blocks arrive; identical requests that
 * miss together run their query once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scrape } from "../harness/metrics.js";
import { type PonderProcess, startPonder } from "../harness/ponder.js";
import {
  connectPostgres,
  type PostgresCluster,
  postgresUnavailableReason,
  startPostgres,
} from "../harness/postgres.js";
import { waitFor } from "../harness/wait.js";
import { rpc } from "../scripts/lib/anvil.js";
import { type SlashChain, type SlashSent, startSlashChain } from "./helpers/bots.js";

const QUERY = `{ slashs(orderBy: "blockNumber", orderDirection: "desc", limit: 1000) { items { txHash blockNumber } } }`;

type Answer = { block: number; cache: string | null; txHashes: string[]; text: string };

async function ask(url: string): Promise<Answer> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: QUERY }),
  });
  const text = await response.text();
  const body = JSON.parse(text) as { data: { slashs: { items: { txHash: string }[] } } };
  const claimed = /31337=(\d+)/.exec(response.headers.get("x-indexed-block") ?? "");
  if (!claimed) throw new Error(`no X-Indexed-Block for chain 31337: ${response.headers.get("x-indexed-block")}`);
  return {
    block: Number(claimed[1]),
    cache: response.headers.get("x-cache"),
    txHashes: body.data.slashs.items.map((item) => item.txHash),
    text,
  };
}

const unavailable = postgresUnavailableReason();

/** Requests that waited for another's identical query (the cache's own counter). */
const shared = (samples: Awaited<ReturnType<typeof scrape>>) =>
  samples.find((sample) => sample.labels.outcome === "shared")?.value ?? 0;

describe.skipIf(unavailable)("GraphQL answer cache on PostgreSQL", () => {
  let chain: SlashChain;
  let postgres: PostgresCluster;
  let ponder: PonderProcess;

  beforeAll(async () => {
    chain = await startSlashChain();
    postgres = await startPostgres();
    ponder = await startPonder({ DEPLOYMENT_FILE: chain.deploymentFile, DATABASE_URL: postgres.url });
    await ponder.waitForBlock(Number(BigInt(await rpc<string>(chain.protocol.rpcUrl, "eth_blockNumber"))));
  });

  afterAll(async () => {
    await ponder?.stop();
    await postgres?.stop();
    await chain?.stop();
  });

  it("answers a repeated query from the cache, byte for byte, and counts it", async () => {
    await chain.slash(chain.protocol.accounts.provider);
    const head = Number(BigInt(await rpc<string>(chain.protocol.rpcUrl, "eth_blockNumber")));
    await ponder.waitForBlock(head);
    // The first answer at this block is computed (a miss), the ones after it come from the cache.
    const first = await waitFor(
      async () => {
        const answer = await ask(ponder.url);
        return answer.block >= head && answer.txHashes.length === 1 && answer;
      },
      30_000,
      "an answer at the head with the slash",
    );
    const again = await waitFor(
      async () => {
        const answer = await ask(ponder.url);
        return answer.cache === "hit" && answer;
      },
      30_000,
      "a cached answer",
    );
    expect(again.text).toBe(first.text);
    const lookups = await scrape(ponder.url, "openledger_graphql_cache_lookups_total");
    expect(lookups.find((sample) => sample.labels.outcome === "hit")?.value).toBeGreaterThan(0);
    expect(lookups.find((sample) => sample.labels.outcome === "miss")?.value).toBeGreaterThan(0);
  });

  it("never answers with less than the block it claims, while blocks arrive", async () => {
    const sent: SlashSent[] = [];
    const answers: Answer[] = [];
    let sending = true;
    // A reader asks as fast as it can while slashes arrive, one block each.
    const reader = (async () => {
      while (sending) answers.push(await ask(ponder.url));
    })();
    try {
      for (let i = 0; i < 15; i++) sent.push(await chain.slash(chain.protocol.accounts.provider2));
    } finally {
      sending = false;
      await reader;
    }
    const last = sent.at(-1)!;
    // The last slash shows up without a new block after it: the cache never keeps an old answer alive.
    await waitFor(
      async () => (await ask(ponder.url)).txHashes.includes(last.txHash.toLowerCase()),
      30_000,
      "the last slash in an answer",
    );

    expect(answers.length).toBeGreaterThan(20);
    expect(
      answers.some((answer) => answer.cache === "hit"),
      "the reader was served from the cache",
    ).toBe(true);
    for (const answer of answers) {
      const due = sent.filter((slash) => Number(slash.blockNumber) <= answer.block);
      const missing = due.map((slash) => slash.txHash.toLowerCase()).filter((hash) => !answer.txHashes.includes(hash));
      expect(
        missing,
        `an answer claiming block ${answer.block} (${answer.cache}) lacks slashes of blocks <= it`,
      ).toEqual([]);
    }
  });

  it("computes an answer once for identical requests that miss together; the others wait and share it", async () => {
    // A new block empties the cache.
    await chain.slash(chain.protocol.accounts.provider);
    await ponder.waitForBlock(Number(BigInt(await rpc<string>(chain.protocol.rpcUrl, "eth_blockNumber"))));
    // The slash table locked by a connection of ours: the first request's query waits for the lock, and
    // the 39 identical requests sent with it arrive while it is computed. Ponder's read connections give
    // up on a lock after 500 ms (lock_timeout), so the lock is let go soon after that query waits on it.
    const query = `{ slashs(limit: 1000) { items { txHash invoice { invoiceId } } } }`;
    const sharedBefore = await scrape(ponder.url, "openledger_graphql_cache_lookups_total");
    const locker = await connectPostgres(postgres.url);
    let answers: { cache: string | null; text: string }[];
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE openledger.slash IN ACCESS EXCLUSIVE MODE");
      const requests = Promise.all(
        Array.from({ length: 40 }, async () => {
          const response = await fetch(`${ponder.url}/graphql`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ query }),
          });
          return { cache: response.headers.get("x-cache"), text: await response.text() };
        }),
      );
      await waitFor(
        async () =>
          (
            await locker.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
            )
          ).rows[0].n > 0,
        120_000,
        "a query of Ponder's waiting for the lock on slash",
        { intervalMs: 10 },
      );
      // Half of that lock timeout for the other requests, sent with the first, to join its query: a
      // window bounded by Ponder's timeout rather than a wait for a signal (nothing shows them waiting).
      await new Promise((resolve) => setTimeout(resolve, 250));
      await locker.query("COMMIT");
      answers = await requests;
    } finally {
      await locker.end().catch(() => {});
    }
    const outcomes = answers.map((answer) => answer.cache);
    expect(
      outcomes.filter((outcome) => outcome === "miss"),
      outcomes.join(","),
    ).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === "shared").length, outcomes.join(",")).toBeGreaterThan(0);
    expect(new Set(answers.map((answer) => answer.text)).size).toBe(1);
    expect(JSON.parse(answers[0]!.text).data.slashs.items.length).toBeGreaterThan(0);
    const sharedAfter = await scrape(ponder.url, "openledger_graphql_cache_lookups_total");
    expect(shared(sharedAfter) - shared(sharedBefore)).toBe(outcomes.filter((outcome) => outcome === "shared").length);
  });
});
