/**
 * One indexer (`npm run start:prod`) and two API replicas (`npm run serve`, reading the stable views
 * schema) on one PostgreSQL: every replica answers what the indexer answers (GraphQL and a table
 * dump over /sql), streams and the dashboard work from a replica, each webhook event is delivered
 * once across the three processes, and /metrics carries our figures, equal to the simulator's ledger.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import type { Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scrape } from "../../harness/metrics.js";
import { type PostgresCluster, postgresUnavailableReason, startPostgres } from "../../harness/postgres.js";
import { waitFor } from "../../harness/wait.js";
import { rpc } from "../../scripts/lib/anvil.js";
import { ROOT } from "../../scripts/lib/compile.js";
import { SseClient } from "../helpers/bots.js";
import { ChaosTraffic } from "../helpers/chaos.js";
import { readTables } from "../helpers/compare.js";
import { canonicalDump, diffDumps, dumpSize } from "../helpers/dump.js";
import { type SimulatedChain, simulatedChain } from "../helpers/indexed-chain.js";
import { type ProdProcess, startProd } from "../helpers/prod.js";
import {
  deliveryIdsByEvent,
  type ReceivedWebhook,
  startWebhookReceiver,
  type WebhookReceiver,
} from "../helpers/webhook-receiver.js";

const skip = postgresUnavailableReason();
const TOKEN = "replica-admin-token-0123456789";
const INVOICES = 150;
const DEPLOYMENT = "openledger_v0_1_0_abc1234";

/** Reads that survive the schema's growth (plural queries only: singular lookups may need more keys). */
const QUERIES = [
  `{ invoices(limit: 5, orderBy: "invoiceId") { items { invoiceId amount status holder } totalCount } }`,
  `{ invoices(limit: 5, orderBy: "invoiceId", orderDirection: "desc", where: { status: "settled" }) { items { invoiceId paid tax refund } totalCount } }`,
  `{ accounts(limit: 10, orderBy: "earned", orderDirection: "desc") { items { address earned claimed stake } totalCount } }`,
  `{ protocolDailys(limit: 50, orderBy: "day") { items { day invoices gross tax refunds slashed } totalCount } }`,
  `{ slashs(limit: 100, orderBy: "id") { items { id staker amount } totalCount } }`,
  `{ activitys(limit: 1) { totalCount } }`,
];

describe.skipIf(skip !== undefined)("an indexer and two API replicas on one PostgreSQL", () => {
  let chain: SimulatedChain;
  let postgres: PostgresCluster;
  let indexer: ProdProcess;
  const replicas: ProdProcess[] = [];
  let receiver: WebhookReceiver | undefined;
  let receiverUrl = "";
  let requests: ReceivedWebhook[] = [];

  beforeAll(async () => {
    chain = await simulatedChain(7, INVOICES);
    postgres = await startPostgres();
    receiver = await startWebhookReceiver();
    receiverUrl = receiver.url;
    requests = receiver.requests;
    const env = {
      DEPLOYMENT_FILE: chain.deploymentFile,
      DATABASE_URL: postgres.url,
      WEBHOOK_ADMIN_TOKEN: TOKEN,
      GIT_SHA: "abc1234def",
      METRICS_CACHE_MS: "500",
    };
    const started = Date.now();
    indexer = await startProd("start-prod", env);
    await indexer.waitReady(chain.head);
    console.log(`[replicas] indexer ready at block ${chain.head} after ${Date.now() - started} ms`);
    for (let i = 0; i < 2; i++) replicas.push(await startProd("serve", env));
    await Promise.all(replicas.map((replica) => replica.waitReady(chain.head, 120_000)));
  });

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await indexer?.stop();
    await receiver?.close();
    await postgres?.stop();
    await chain?.stop();
  });

  it("start:prod names the deployment schema for the release; serve reads the views schema", () => {
    expect(indexer.logs()).toContain(`deployment schema "${DEPLOYMENT}", views schema "openledger"`);
    expect(indexer.logs()).toContain("Created database views");
    for (const replica of replicas) expect(replica.logs()).toContain('serve: reading schema "openledger"');
  });

  it("start:prod refuses a views schema that holds tables, before Ponder backfills into it", () => {
    const result = spawnSync(path.join(ROOT, "node_modules/.bin/tsx"), ["scripts/start-prod.ts"], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: postgres.url,
        DATABASE_SCHEMA: "ol_other",
        DATABASE_VIEWS_SCHEMA: DEPLOYMENT,
      },
      encoding: "utf8",
    });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr.trim()).toMatch(
      new RegExp(`^start:prod: DATABASE_VIEWS_SCHEMA "${DEPLOYMENT}" holds \\d+ tables .*choose another views schema`),
    );
  });

  it("every replica answers the same data as the indexer, over GraphQL and SQL", async () => {
    for (const query of QUERIES) {
      const expected = await indexer.graphql(query);
      expect(expected.errors, query).toBeUndefined();
      for (const replica of replicas) expect(await replica.graphql(query), query).toEqual(expected);
    }
    const total = (await indexer.graphql<{ invoices: { totalCount: number } }>(QUERIES[0])).data?.invoices.totalCount;
    expect(total).toBe(Object.keys(chain.ledger.invoices).length);

    const reference = canonicalDump(await readTables(indexer.url));
    for (const replica of replicas) {
      const dump = canonicalDump(await readTables(replica.url));
      expect(diffDumps(reference, dump)).toEqual([]);
    }
    console.log(`[replicas] ${QUERIES.length} GraphQL queries and ${dumpSize(reference)} rows equal on 3 processes`);
  });

  it("serves /metrics with our figures, equal to the ledger, on the indexer and on each replica", async () => {
    const ignored = new Set(["Approval", "ApprovalForAll", "OwnershipTransferred"]);
    const expected = Object.fromEntries(
      Object.entries(chain.ledger.eventCounts).filter(([name, n]) => !ignored.has(name) && n > 0),
    );
    for (const proc of [indexer, ...replicas]) {
      await waitFor(
        async () => (await scrape(proc.url, "openledger_lag_blocks")).some((sample) => sample.value === 0),
        30_000,
        `${proc.url} to report lag 0`,
      );
      const events = await scrape(proc.url, "openledger_events_indexed");
      const byEvent: Record<string, number> = {};
      for (const sample of events) byEvent[sample.labels.event] = (byEvent[sample.labels.event] ?? 0) + sample.value;
      expect(byEvent).toEqual(expected);
      expect(new Set(events.map((sample) => sample.labels.contract))).toEqual(
        new Set(["InvoiceRegistry", "SettlementEngine", "StakeManager"]),
      );
      expect(await scrape(proc.url, "openledger_anomalies")).toEqual([]);
      const [indexed] = await scrape(proc.url, "openledger_indexed_block");
      expect(indexed.value).toBe(chain.head);
      expect((await scrape(proc.url, "openledger_chain_head_block"))[0].value).toBe(chain.head);
      expect((await scrape(proc.url, "openledger_lag_seconds"))[0].value).toBe(0);
      expect((await scrape(proc.url, "openledger_ready"))[0].value).toBe(1);
      // Ponder's own metrics are still there: ours joined its registry.
      expect((await scrape(proc.url, "ponder_version_info")).length).toBe(1);
    }
    const total = Object.values(expected).reduce((sum, n) => sum + n, 0);
    console.log(`[replicas] /metrics: ${total} events in ${Object.keys(expected).length} event names, 0 anomalies`);
  });

  it("streams and the dashboard work from a replica; stream clients are counted per process", async () => {
    const stream = await new SseClient(`${replicas[0].url}/streams/slashes?after=0`).open();
    try {
      await stream.waitLive(60_000);
      expect(stream.ids()).toHaveLength(chain.ledger.slashes.length);
      await waitFor(
        async () => (await scrape(replicas[0].url, "openledger_stream_clients")).some((s) => s.value === 1),
        10_000,
        "the stream client in replica 0's /metrics",
      );
      const clients = await scrape(replicas[0].url, "openledger_stream_clients");
      expect(clients.find((sample) => sample.labels.stream === "slashes")?.value).toBe(1);
      const elsewhere = await scrape(replicas[1].url, "openledger_stream_clients");
      expect(elsewhere.every((sample) => sample.value === 0)).toBe(true);
    } finally {
      await stream.close();
    }
    const page = await fetch(`${replicas[1].url}/dashboard/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");
  });

  it("delivers each webhook event once across the indexer and both replicas", async () => {
    const admin = async (base: string, method: string, route: string, body?: unknown) => {
      const response = await fetch(`${base}/admin/webhooks${route}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return (await response.json()) as Record<string, unknown>;
    };
    const created = await admin(replicas[1].url, "POST", "", { id: "replica-hook", url: receiverUrl, after: "0" });
    expect(created.secret).toMatch(/^whsec_/);
    const processes = [indexer, ...replicas];
    const leaders = await Promise.all(processes.map(async (p) => (await admin(p.url, "GET", "")).leader));
    expect(leaders.filter(Boolean)).toHaveLength(1);

    expect(chain.ledger.slashes.length).toBeGreaterThan(0);
    await waitFor(() => requests.length >= chain.ledger.slashes.length, 60_000, "the ledger's slashes delivered");
    // A later slash, queued after the ledger's: once it is delivered, a second deliverer's copies of
    // the earlier ones would have been sent by now.
    const rpcUrl = chain.anvil.rpcUrl;
    const [owner] = await rpc<Address[]>(rpcUrl, "eth_accounts");
    const chaos = new ChaosTraffic(rpcUrl, chain.deployment, owner, chain.ledger, 7);
    expect(await chaos.send(chaos.slashAction())).toBe(true);
    const block = await rpc<{ transactions: string[] }>(rpcUrl, "eth_getBlockByNumber", ["latest", false]);
    const laterTx = block.transactions[0].toLowerCase();
    await waitFor(
      () => requests.some((request) => String(request.headers["x-openledger-event-id"]).includes(`:${laterTx}:`)),
      60_000,
      "the later slash's delivery",
    );
    const slashes = chain.ledger.slashes.length + 1;
    const deliveryIds = deliveryIdsByEvent(requests);
    expect(deliveryIds.size).toBe(slashes);
    for (const [eventId, ids] of deliveryIds) expect(ids.size, eventId).toBe(1);

    // Every process reads the same delivery table; only the leader made the POSTs.
    for (const proc of processes) {
      await waitFor(
        async () =>
          (await scrape(proc.url, "openledger_webhook_deliveries")).find((s) => s.labels.status === "delivered")
            ?.value === slashes,
        15_000,
        `${proc.url} to count ${slashes} delivered`,
      );
    }
    const attempts = await Promise.all(
      processes.map(async (p) => {
        const samples = await scrape(p.url, "openledger_webhook_delivery_attempts_total");
        return samples.find((s) => s.labels.outcome === "delivered")?.value ?? 0;
      }),
    );
    expect(attempts.reduce((sum, n) => sum + n, 0)).toBe(requests.length);
    expect(attempts.filter((n) => n > 0)).toHaveLength(1);
    console.log(`[replicas] webhooks: ${requests.length} POSTs for ${slashes} slashes, by 1 of 3 processes`);
  });
});
