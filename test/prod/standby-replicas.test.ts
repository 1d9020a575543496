/**
 * API replicas on PostgreSQL hot standbys (docs/production.md, "Reads past one machine"): one `npm run start:prod`
 * indexer on the primary, one `npm run serve` replica on each of two standbys made with
 * `pg_basebackup -R`, the second of which replays 3 s late by design (`recovery_min_apply_delay`).
 * Every table's dump on each standby equals the primary's once replay has caught up; every answer
 * names the block it reflects; /ready drains the late standby while it is over its lag bound; what
 * needs the primary works through PRIMARY_DATABASE_URL or is refused in one line; a bot that moves
 * from the primary to the late standby and on to the other gets every slash of the chain exactly once,
 * and so does a webhook subscription created on a standby replica.
 */
import type { Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresUnavailableReason } from "../../harness/postgres.js";
import { waitFor } from "../../harness/wait.js";
import { rpc } from "../../scripts/lib/anvil.js";
import { ChaosTraffic } from "../helpers/chaos.js";
import { readTables } from "../helpers/compare.js";
import { canonicalDump, diffDumps, dumpSize } from "../helpers/dump.js";
import { type SimulatedChain, simulatedChain } from "../helpers/indexed-chain.js";
import { type ProdProcess, startProd } from "../helpers/prod.js";
import { chainSlashIds, FollowingBot, type ReplicatedCluster, startReplicatedCluster } from "../helpers/standby.js";
import { deliveryIdsByEvent, startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.js";

const skip =
  postgresUnavailableReason() ?? (process.env.DATABASE_URL ? "standby suites need their own cluster" : undefined);
const TOKEN = "standby-admin-token-0123456789";
const INVOICES = 120;
const APPLY_DELAY_S = 3;
const MAX_LAG_S = 1;
const TRAFFIC_ACTIONS = 60;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** GET with the freshness headers of the answer. */
async function headersOf(url: string, init?: RequestInit) {
  const response = await fetch(url, init);
  await response.body?.cancel();
  return {
    status: response.status,
    block: response.headers.get("x-indexed-block"),
    lag: response.headers.get("x-replication-lag"),
  };
}

describe.skipIf(skip !== undefined)("API replicas on PostgreSQL hot standbys", () => {
  let chain: SimulatedChain;
  let cluster: ReplicatedCluster;
  let indexer: ProdProcess;
  let near: ProdProcess;
  let late: ProdProcess;
  let receiver: WebhookReceiver;
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    chain = await simulatedChain(16, INVOICES);
    cluster = await startReplicatedCluster({ standbys: 2, applyDelay: { standby2: `${APPLY_DELAY_S}s` } });
    receiver = await startWebhookReceiver();
    const env = { DEPLOYMENT_FILE: chain.deploymentFile, WEBHOOK_ADMIN_TOKEN: TOKEN, GIT_SHA: "5ba1dbe0" };
    // Ponder's own heartbeat (a commit every 10 s), not the tests' 2 s: nothing here restarts, and with
    // a commit every 2 s the late standby, 3 s behind, would never be within its 1 s bound.
    indexer = await startProd("start-prod", {
      ...env,
      DATABASE_URL: cluster.primary.url,
      PONDER_DATABASE_HEARTBEAT_TIMEOUT_MS: "25000",
    });
    await indexer.waitReady(chain.head);
    await Promise.all(cluster.standbys.map((standby) => cluster.waitForReplay(standby)));
    near = await startProd("serve", {
      ...env,
      DATABASE_URL: cluster.standbys[0].url,
      PRIMARY_DATABASE_URL: cluster.primary.url,
    });
    late = await startProd("serve", {
      ...env,
      DATABASE_URL: cluster.standbys[1].url,
      STANDBY_MAX_LAG_SECONDS: String(MAX_LAG_S),
      STREAM_RESUME_WAIT_MS: "500",
    });
    await Promise.all([near.waitReady(chain.head, 120_000), late.waitReady(chain.head, 120_000)]);
  });

  afterAll(async () => {
    await Promise.all([near, late].map((replica) => replica?.stop()));
    await indexer?.stop();
    await receiver?.close();
    await cluster?.stop();
    await chain?.stop();
    console.log(`[standby] ${JSON.stringify(figures)}`);
  });

  it("answers on each standby what the primary answers, and names the block it reflects", async () => {
    const reference = canonicalDump(await readTables(indexer.url));
    for (const replica of [near, late])
      expect(diffDumps(reference, canonicalDump(await readTables(replica.url)))).toEqual([]);
    figures.rowsCompared = dumpSize(reference);

    const meta = `{ _meta { status } invoices(limit: 1) { totalCount } }`;
    const expected = await indexer.graphql(meta);
    for (const replica of [near, late]) expect(await replica.graphql(meta)).toEqual(expected);
    const status = (expected.data as { _meta: { status: Record<string, { block: { number: number } }> } })._meta.status;
    expect(Object.values(status)[0].block.number).toBe(chain.head);

    const sqlDb = `/sql/db?sql=${encodeURIComponent(JSON.stringify({ json: { sql: "select count(*) from invoice", params: [], typings: [] } }))}`;
    for (const proc of [indexer, near, late]) {
      for (const path of ["/status", "/ready", "/health", "/graphql", sqlDb, "/streams", "/dashboard/"]) {
        const init =
          path === "/graphql"
            ? { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: meta }) }
            : undefined;
        const answer = await headersOf(`${proc.url}${path}`, init);
        // The late standby replays the indexer's heartbeat (a commit every 10 s) 3 s late: over its
        // 1 s bound for a moment every 10 s, its /ready may say 503 even while no block comes.
        if (!(proc === late && path === "/ready")) expect(answer.status, `${proc.url}${path}`).toBe(200);
        expect(answer.block, `${proc.url}${path}`).toBe(`31337=${chain.head}`);
        // Only a standby says how far behind it replays.
        if (proc === indexer) expect(answer.lag).toBeNull();
        else expect(Number(answer.lag), `${proc.url}${path}`).toBeLessThanOrEqual(proc === near ? MAX_LAG_S : 30);
      }
    }
  });

  it("does what needs the primary through PRIMARY_DATABASE_URL, and refuses the rest in one line", async () => {
    const live = await fetch(
      `${near.url}/sql/live?sql=${encodeURIComponent(JSON.stringify({ json: { sql: "select 1", params: [], typings: [] } }))}`,
    );
    expect(live.status).toBe(501);
    expect(((await live.json()) as { error: string }).error).toMatch(
      /^Live queries need NOTIFY, which a PostgreSQL hot standby never delivers/,
    );

    const admin = (base: string, method: string, body?: unknown) =>
      fetch(`${base}/admin/webhooks`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const created = await admin(near.url, "POST", { id: "standby-hook", url: receiver.url, after: "0" });
    expect(created.status, await created.clone().text()).toBe(201);
    const listed = (await (await admin(indexer.url, "GET")).json()) as {
      leader: boolean;
      subscriptions: { id: string }[];
    };
    expect(listed.subscriptions.map((s) => s.id)).toEqual(["standby-hook"]);
    expect(listed.leader).toBe(true);
    expect(((await (await admin(near.url, "GET")).json()) as { leader: boolean }).leader).toBe(false);
    expect(near.logs()).toContain("no deliveries from a hot standby");
    // Ponder's LISTEN for live queries waits for a primary instead of failing every 250 ms.
    for (const replica of [near, late]) expect(replica.logs()).not.toContain("Failed listen connection");

    const refused = await admin(late.url, "POST", { id: "late-hook", url: receiver.url });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: string }).error).toBe(
      "This replica reads a PostgreSQL hot standby, which refuses writes: set PRIMARY_DATABASE_URL for the webhook admin API",
    );
  });

  it("under real-time traffic: the late standby is drained and back, a bot moving across replicas and a webhook get each slash once", async () => {
    const [owner] = await rpc<Address[]>(chain.anvil.rpcUrl, "eth_accounts");
    const chaos = new ChaosTraffic(chain.anvil.rpcUrl, chain.deployment, owner, chain.ledger, 16);
    const bot = new FollowingBot(indexer.url).start();
    let trafficDone = false;
    const samples = { readyRefused: 0, readyOk: 0, maxLagSeen: 0, maxBlocksBehind: 0, refusalLine: "" };
    const sampler = (async () => {
      while (!trafficDone) {
        const [primary, behind] = await Promise.all([
          headersOf(`${indexer.url}/status`),
          headersOf(`${late.url}/status`),
        ]);
        const ready = await fetch(`${late.url}/ready`);
        const text = await ready.text();
        if (ready.status === 503) {
          samples.readyRefused++;
          samples.refusalLine = text;
        } else samples.readyOk++;
        const block = (value: string | null) => Number(value?.split("=")[1] ?? Number.NaN);
        samples.maxLagSeen = Math.max(samples.maxLagSeen, Number(behind.lag ?? 0));
        samples.maxBlocksBehind = Math.max(samples.maxBlocksBehind, block(primary.block) - block(behind.block));
        await sleep(250);
      }
    })();

    let resumeRefusal: { status: number; retryAfter: string | null; error: string } | undefined;
    for (let i = 0; i < TRAFFIC_ACTIONS; i++) {
      await chaos.send(i % 2 === 0 ? chaos.slashAction() : chaos.randomAction());
      if (i === Math.floor(TRAFFIC_ACTIONS / 3)) {
        // The bot's cursor comes from the primary; the late standby has not replayed it yet.
        // A fresh slash, seen by the bot on the primary: its cursor is newer than the late standby's replay.
        await waitFor(() => bot.received.length >= chain.ledger.slashes.length, 60_000, "the bot's replay");
        const before = bot.received.length;
        await chaos.send(chaos.slashAction());
        await waitFor(() => bot.received.length > before, 30_000, "a fresh slash on the bot");
        const response = await fetch(`${late.url}/streams/slashes`, {
          headers: { "last-event-id": bot.lastEventId ?? "" },
        });
        const body = await response.text();
        resumeRefusal = { status: response.status, retryAfter: response.headers.get("retry-after"), error: body };
        await bot.moveTo(late.url);
      }
      if (i === Math.floor((2 * TRAFFIC_ACTIONS) / 3)) await bot.moveTo(near.url);
      await sleep(150);
    }
    trafficDone = true;
    await sampler;

    const expected = await chainSlashIds(chain.anvil.rpcUrl, chain.deployment.contracts.StakeManager);
    expect(await bot.finish(expected, 60_000)).toEqual({ missing: [], unexpected: [], duplicates: [], retracted: [] });
    expect(resumeRefusal?.status, resumeRefusal?.error).toBe(503);
    expect(resumeRefusal?.retryAfter).toBe("1");
    expect(JSON.parse(resumeRefusal?.error ?? "{}").error).toMatch(
      /^This replica has replayed chain 31337 up to block \d+, before your Last-Event-ID \(block \d+\): retry/,
    );
    expect(bot.refusals.filter((r) => r.status === 503).length).toBeGreaterThan(0);

    expect(samples.readyRefused).toBeGreaterThan(0);
    expect(samples.refusalLine).toMatch(
      new RegExp(`^Standby replay lag \\d+\\.\\d s is over STANDBY_MAX_LAG_SECONDS=${MAX_LAG_S}$`),
    );
    expect(samples.maxLagSeen).toBeGreaterThan(MAX_LAG_S);
    expect(samples.maxBlocksBehind).toBeGreaterThan(0);
    // Caught up once the traffic stops: back in the pool.
    await waitFor(async () => (await fetch(`${late.url}/ready`)).status === 200, 30_000, "the late standby's /ready");

    // The webhook subscription made on a standby replica: delivered by the indexer, each slash once.
    await waitFor(() => receiver.requests.length >= expected.length, 60_000, `${expected.length} webhook deliveries`);
    const deliveryIds = deliveryIdsByEvent(receiver.requests);
    expect(new Set(deliveryIds.keys())).toEqual(new Set(expected));
    for (const [eventId, ids] of deliveryIds) expect(ids.size, eventId).toBe(1);

    // Every table equal again on both standbys (through /sql/db: a cached answer would be the old one).
    await Promise.all(cluster.standbys.map((standby) => cluster.waitForReplay(standby)));
    const reference = canonicalDump(await readTables(indexer.url));
    for (const replica of [near, late])
      expect(diffDumps(reference, canonicalDump(await readTables(replica.url)))).toEqual([]);

    Object.assign(figures, {
      slashes: expected.length,
      botReceived: bot.received.length,
      botConnections: bot.connections,
      botRefusals: bot.refusals.length,
      webhookPosts: receiver.requests.length,
      rowsAfterTraffic: dumpSize(reference),
      ...samples,
    });
  });
});
