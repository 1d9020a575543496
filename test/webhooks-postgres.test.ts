/**
 * Streams and webhooks on PostgreSQL, with an API replica (`ponder serve`) beside the indexer:
 * the webhook state lives in its own schema through a pool of its own, a subscription created on
 * either process is delivered by the one process holding the advisory lock, never twice, and the
 * replica serves the stream from the shared tables.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhookSignature } from "../examples/slash-bot.js";
import { blockNumber } from "../harness/chain.js";
import { type PonderProcess, startPonder } from "../harness/ponder.js";
import { type PostgresCluster, postgresUnavailableReason, startPostgres } from "../harness/postgres.js";
import { waitFor } from "../harness/wait.js";
import { type SlashChain, SseClient, startSlashChain } from "./helpers/bots.js";
import {
  deliveryIdsByEvent,
  type ReceivedWebhook,
  startWebhookReceiver,
  type WebhookReceiver,
} from "./helpers/webhook-receiver.js";

const TOKEN = "pg-admin-token-0123456789";
const skip = postgresUnavailableReason();

describe.skipIf(skip !== undefined)("streams and webhooks on PostgreSQL with an API replica", () => {
  let chain: SlashChain;
  let postgres: PostgresCluster;
  let indexer: PonderProcess;
  let replica: PonderProcess;
  let receiver: WebhookReceiver | undefined;
  let receiverUrl = "";
  let requests: ReceivedWebhook[] = [];

  const admin = async (base: string, method: string, route: string, body?: unknown) => {
    const response = await fetch(`${base}/admin/webhooks${route}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await response.json()) as Record<string, unknown>;
  };

  beforeAll(async () => {
    chain = await startSlashChain();
    postgres = await startPostgres();
    receiver = await startWebhookReceiver();
    receiverUrl = receiver.url;
    requests = receiver.requests;
    const env = {
      DEPLOYMENT_FILE: chain.deploymentFile,
      DATABASE_URL: postgres.url,
      WEBHOOK_ADMIN_TOKEN: TOKEN,
    };
    indexer = await startPonder(env);
    await indexer.waitForBlock(await blockNumber(chain.protocol.rpcUrl));
    replica = await startPonder(env, { command: "serve" });
    await replica.waitReady(120_000);
  });

  afterAll(async () => {
    await replica?.stop();
    await indexer?.stop();
    await receiver?.close();
    await postgres?.stop();
    await chain?.stop();
  });

  it("delivers each slash once although two processes run the dispatcher, and the replica streams", async () => {
    const created = await admin(replica.url, "POST", "", { id: "pg-hook", url: receiverUrl, after: "0" });
    expect(created.secret).toMatch(/^whsec_/);
    const leaders = [(await admin(indexer.url, "GET", "")).leader, (await admin(replica.url, "GET", "")).leader];
    expect(leaders.filter(Boolean)).toHaveLength(1);

    const stream = await new SseClient(`${replica.url}/streams/slashes?after=0`).open();
    await stream.waitLive(60_000);
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push((await chain.slash(chain.protocol.accounts.provider)).id);
    await waitFor(() => stream.ids().length >= 5, 60_000, "the replica's stream");
    expect(stream.ids()).toEqual(sent);
    await stream.close();

    await waitFor(() => requests.length >= 5, 60_000, "five deliveries");
    // A later slash, queued after the five: once it is delivered and nothing is pending, a second
    // deliverer's copies of the five would have been queued (and shown in the listing) by now.
    const later = (await chain.slash(chain.protocol.accounts.provider)).id;
    sent.push(later);
    await waitFor(
      async () =>
        requests.some((request) => request.headers["x-openledger-event-id"] === later) &&
        ((await admin(indexer.url, "GET", "/pg-hook")) as { deliveries: Record<string, number> }).deliveries.pending ===
          0,
      60_000,
      "the later slash's delivery",
    );
    // Concurrent deliveries may arrive in any order. Each event is queued exactly once, by the one
    // process holding the lock: one delivery id per event. Delivery is at least once, so on a loaded
    // machine a POST whose 200 came after the sender's timeout is retried, under the same delivery id
    // and a higher attempt number; a second dispatcher would show as a second delivery id.
    const deliveryIdByEvent = deliveryIdsByEvent(requests);
    expect([...deliveryIdByEvent.keys()].sort()).toEqual([...sent].sort());
    for (const [eventId, ids] of deliveryIdByEvent) expect(ids.size, eventId).toBe(1);
    const firstAttempts = requests.filter((request) => request.headers["x-openledger-attempt"] === "1");
    expect(firstAttempts.map((request) => String(request.headers["x-openledger-event-id"])).sort()).toEqual(
      [...sent].sort(),
    );
    for (const request of requests) {
      expect(
        verifyWebhookSignature(
          created.secret as string,
          String(request.headers["x-openledger-signature"]),
          request.body,
        ),
      ).toBe(true);
    }
    const listed = (await admin(indexer.url, "GET", "/pg-hook")) as { deliveries: Record<string, number> };
    expect(listed.deliveries).toEqual({ pending: 0, delivered: sent.length, failed: 0 });
  });
});
