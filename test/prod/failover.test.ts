/**
 * A primary that fails over (docs/production.md, "Failover runbook"): the primary runs with
 * the recommended `synchronous_standby_names = 'ANY 1 (standby1)'` (and `synchronous_commit = on`,
 * the default). During real-time indexing, with chain traffic, a bot on the stream, a webhook
 * subscription and GraphQL readers on the standby's replica, the primary is SIGKILLed; the standby is
 * promoted (`pg_ctl promote`) and the indexer restarted with DATABASE_URL on it. Then:
 * - the restarted indexer's tables equal those of a fresh index of the same chain (no row lost or
 *   doubled), and the contracts' views;
 * - the bot, moved to the replica, got every slash of the chain exactly once;
 * - every slash was POSTed at least once, under one delivery id per event, and every delivery id the
 *   receiver saw exists on the new primary with its event (no acknowledged webhook state lost).
 */
import type { Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresUnavailableReason } from "../../harness/postgres.js";
import { waitFor } from "../../harness/wait.js";
import { rpc } from "../../scripts/lib/anvil.js";
import { ChaosTraffic } from "../helpers/chaos.js";
import { checkInvariants, compareWithContracts, readTables } from "../helpers/compare.js";
import { canonicalDump, diffDumps, dumpSize } from "../helpers/dump.js";
import { type SimulatedChain, simulatedChain } from "../helpers/indexed-chain.js";
import { type ProdProcess, startProd } from "../helpers/prod.js";
import {
  chainSlashIds,
  FollowingBot,
  type ReplicatedCluster,
  sqlRows,
  startReplicatedCluster,
} from "../helpers/standby.js";
import { deliveryIdsByEvent, startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.js";

const skip =
  postgresUnavailableReason() ?? (process.env.DATABASE_URL ? "standby suites need their own cluster" : undefined);
const TOKEN = "failover-admin-token-0123456789";
const INVOICES = 100;
/** The setting docs/production.md, "Reads past one machine" recommends for zero loss of acknowledged webhook state. */
const SYNCHRONOUS_STANDBY_NAMES = "ANY 1 (standby1)";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(skip !== undefined)("the primary fails over to a promoted standby during real-time indexing", () => {
  let chain: SimulatedChain;
  let cluster: ReplicatedCluster;
  let receiver: WebhookReceiver;
  let indexer: ProdProcess | undefined;
  let restarted: ProdProcess | undefined;
  let replica: ProdProcess | undefined;
  let reference: ProdProcess | undefined;
  const figures: Record<string, unknown> = {};
  const env = () => ({ DEPLOYMENT_FILE: chain.deploymentFile, WEBHOOK_ADMIN_TOKEN: TOKEN, GIT_SHA: "fa110e7" });

  beforeAll(async () => {
    chain = await simulatedChain(23, INVOICES);
    cluster = await startReplicatedCluster({ standbys: 1, synchronousStandbyNames: SYNCHRONOUS_STANDBY_NAMES });
    receiver = await startWebhookReceiver();
    indexer = await startProd("start-prod", { ...env(), DATABASE_URL: cluster.primary.url });
    await indexer.waitReady(chain.head);
    replica = await startProd("serve", {
      ...env(),
      DATABASE_URL: cluster.standbys[0].url,
      PRIMARY_DATABASE_URL: cluster.primary.url,
    });
    await replica.waitReady(chain.head, 120_000);
  });

  afterAll(async () => {
    for (const proc of [reference, restarted, replica, indexer]) await proc?.stop();
    await receiver?.close();
    await cluster?.stop();
    await chain?.stop();
    console.log(`[failover] ${JSON.stringify(figures)}`);
  });

  it("loses nothing: tables, the stream and the webhooks against the chain", async () => {
    const [standby] = cluster.standbys;
    const replication = await sqlRows<{ application_name: string; sync_state: string }>(
      cluster.primary.url,
      "SELECT application_name, sync_state FROM pg_stat_replication",
    );
    expect(replication).toEqual([{ application_name: "standby1", sync_state: "quorum" }]);

    const created = await fetch(`${indexer?.url}/admin/webhooks`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "failover-hook", url: receiver.url, after: "0" }),
    });
    expect(created.status).toBe(201);
    const bot = new FollowingBot(indexer?.url ?? "").start();

    // Chain traffic (a slash every other block) and GraphQL readers on the replica, all along.
    const [owner] = await rpc<Address[]>(chain.anvil.rpcUrl, "eth_accounts");
    const chaos = new ChaosTraffic(chain.anvil.rpcUrl, chain.deployment, owner, chain.ledger, 23);
    let stopTraffic = false;
    let actions = 0;
    const traffic = (async () => {
      while (!stopTraffic) {
        await chaos.send(actions % 2 === 0 ? chaos.slashAction() : chaos.randomAction());
        actions++;
        await sleep(200);
      }
    })();
    const reads = { answers: 0, errors: 0, messages: [] as string[] };
    const readers = (async () => {
      while (!stopTraffic) {
        try {
          const answer = await replica?.graphql(`{ slashs(limit: 1000) { totalCount } }`);
          if (answer?.errors) throw new Error(answer.errors[0].message);
          reads.answers++;
        } catch (error) {
          reads.errors++;
          if (reads.messages.length < 5) reads.messages.push((error as Error).message);
        }
        await sleep(50);
      }
    })();

    // Real-time indexing under way: fresh slashes reached the bot and the receiver.
    const history = chain.ledger.slashes.length;
    await waitFor(() => bot.received.length >= history + 5, 120_000, "five real-time slashes on the bot");
    await waitFor(() => receiver.requests.length >= history + 5, 120_000, "five real-time webhook deliveries");

    const killedAt = Date.now();
    await cluster.killPrimary();
    figures.actionsBeforeKill = actions;
    figures.postsBeforeKill = receiver.requests.length;
    // The runbook: stop the old indexer for good, move readers to the standby's replica, promote.
    await indexer?.stop();
    await bot.moveTo(replica?.url ?? "");
    await cluster.promote(standby);
    figures.promotedAfterMs = Date.now() - killedAt;
    restarted = await startProd("start-prod", { ...env(), DATABASE_URL: standby.url });
    await waitFor(
      async () => (await fetch(`${restarted?.url}/ready`)).status === 200,
      240_000,
      "the restarted indexer",
    );
    figures.readyAgainAfterMs = Date.now() - killedAt;
    expect(restarted.logs()).toMatch(/Detected crash recovery/);
    figures.waitedForLock = restarted.logs().includes("Schema is locked by a different Ponder app");
    const actionsAtRestart = actions;
    await waitFor(() => actions >= actionsAtRestart + 10, 120_000, "ten more blocks after the restart");
    stopTraffic = true;
    await Promise.all([traffic, readers]);
    const head = Number(BigInt(await rpc<string>(chain.anvil.rpcUrl, "eth_blockNumber")));
    await restarted.waitReady(head, 120_000);

    // The stream: every slash of the chain, exactly once, to the bot that followed it through the failover.
    const expected = await chainSlashIds(chain.anvil.rpcUrl, chain.deployment.contracts.StakeManager);
    expect(await bot.finish(expected, 60_000)).toEqual({ missing: [], unexpected: [], duplicates: [], retracted: [] });

    // The webhooks: at least once, one delivery id per event, every delivery id on the new primary.
    await waitFor(
      () => new Set(receiver.requests.map((r) => r.headers["x-openledger-event-id"])).size >= expected.length,
      120_000,
      `${expected.length} webhook events`,
    );
    const deliveryIds = deliveryIdsByEvent(receiver.requests);
    expect(new Set(deliveryIds.keys())).toEqual(new Set(expected));
    const doubled = [...deliveryIds].filter(([, ids]) => ids.size !== 1);
    expect(doubled).toEqual([]);
    const stored = await sqlRows<{ id: string; event_id: string }>(
      standby.url,
      "SELECT id::text AS id, event_id FROM openledger_webhooks.delivery",
    );
    const storedEvent = new Map(stored.map((row) => [row.id, row.event_id]));
    const lost = receiver.requests.filter(
      (r) => storedEvent.get(String(r.headers["x-openledger-delivery-id"])) !== r.headers["x-openledger-event-id"],
    );
    expect(lost.map((r) => r.headers["x-openledger-delivery-id"])).toEqual([]);

    // The tables: equal to a fresh index of the same chain into another schema, and to the contracts.
    reference = await startProd("start-prod", {
      ...env(),
      DATABASE_URL: standby.url,
      DATABASE_SCHEMA: "ol_reference",
      DATABASE_VIEWS_SCHEMA: "ol_reference_views",
    });
    await reference.waitReady(head);
    const tables = await readTables(restarted.url);
    const dump = canonicalDump(tables);
    expect(diffDumps(canonicalDump(await readTables(reference.url)), dump)).toEqual([]);
    expect(checkInvariants(tables)).toEqual([]);
    expect(await compareWithContracts(tables, chain.deployment)).toEqual([]);
    expect(tables.slash.map((row) => `31337:${String(row.txHash).toLowerCase()}:${row.logIndex}`).sort()).toEqual(
      [...expected].sort(),
    );
    expect(reads.errors, reads.messages.join("; ")).toBe(0);

    Object.assign(figures, {
      slashes: expected.length,
      actions,
      chaos: chaos.stats,
      botReceived: bot.received.length,
      botConnections: bot.connections,
      botRefusals: bot.refusals.length,
      webhookPosts: receiver.requests.length,
      webhookEvents: deliveryIds.size,
      retriedPosts: receiver.requests.length - deliveryIds.size,
      replicaReads: reads.answers,
      replicaReadErrors: reads.errors,
      rows: dumpSize(dump),
    });
  });
});
