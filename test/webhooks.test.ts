/**
 * Webhooks end to end: real anvil, real `ponder start` (PGlite), a real receiver. Deliveries are
 * signed, retried with backoff while the receiver answers 500, parked after their last attempt and
 * re-driven through the admin API, and survive an indexer restart; the example bot rejects a
 * tampered body.
 */
import { writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhookReceiver, verifyWebhookSignature } from "../examples/slash-bot.js";
import { blockNumber } from "../harness/chain.js";
import { type PonderProcess, startPonder } from "../harness/ponder.js";
import { waitFor } from "../harness/wait.js";
import { type SlashChain, startSlashChain } from "./helpers/bots.js";

const TOKEN = "test-admin-token-0123456789";
const FILE_SECRET = "whsec_file_subscription_secret";
/** How long a slash may take to be indexed and its delivery made: seconds on a quiet machine, minutes on a loaded one. */
const DELIVERY_DEADLINE_MS = 120_000;

type Received = { path: string; headers: IncomingHttpHeaders; body: string; status: number; at: number };

/** A receiver whose answers the test steers: /flaky fails while `failFlaky`, /down while `failDown`. */
async function startReceiver() {
  const state = { failFlaky: false, failDown: true, requests: [] as Received[] };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const failing = request.url === "/flaky" ? state.failFlaky : state.failDown;
      const status = failing ? 500 : 200;
      state.requests.push({
        path: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        status,
        at: Date.now(),
      });
      response.writeHead(status).end(failing ? "try later" : "ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    state,
    url: `http://127.0.0.1:${port}`,
    /** Event ids acknowledged (2xx) on a path, one entry per acknowledgement. */
    acknowledged: (onPath: string) =>
      state.requests
        .filter((request) => request.path === onPath && request.status === 200)
        .map((request) => String(request.headers["x-openledger-event-id"])),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("webhooks", () => {
  let chain: SlashChain;
  let ponder: PonderProcess;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let env: Record<string, string>;
  const sentIds: string[] = [];

  const admin = async (method: string, route: string, body?: unknown, token = TOKEN) => {
    const response = await fetch(`${ponder.url}/admin/webhooks${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  type Counts = { pending: number; delivered: number; failed: number };
  const subscription = async (id: string) =>
    (await admin("GET", `/${id}`)).json as { cursor: string | null; deliveries: Counts };
  const slash = async () => {
    const sent = await chain.slash(chain.protocol.accounts.provider);
    sentIds.push(sent.id);
    return sent;
  };
  const head = () => blockNumber(chain.protocol.rpcUrl);

  beforeAll(async () => {
    chain = await startSlashChain();
    receiver = await startReceiver();
    const file = path.join(chain.workDir, "webhooks.json");
    writeFileSync(
      file,
      JSON.stringify({
        subscriptions: [
          { id: "file-ops", url: `${receiver.url}/flaky`, secretEnv: "OPS_WEBHOOK_SECRET", stream: "slashes" },
        ],
      }),
    );
    env = {
      DEPLOYMENT_FILE: chain.deploymentFile,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: path.join(chain.workDir, "pglite"),
      WEBHOOKS_FILE: file,
      OPS_WEBHOOK_SECRET: FILE_SECRET,
      WEBHOOK_ADMIN_TOKEN: TOKEN,
      WEBHOOK_RETRY_BASE_MS: "200",
      WEBHOOK_RETRY_CAP_MS: "1500",
      WEBHOOK_MAX_ATTEMPTS: "30",
      // The receiver answers at once, but it runs in this test process: on a loaded machine its answer
      // can take seconds, and a timeout would be recorded instead of the 500 the tests expect.
      WEBHOOK_TIMEOUT_MS: "60000",
    };
    ponder = await startPonder(env);
    await ponder.waitForBlock(await head());
    // The file's subscription starts "now": wait until its intake has taken its place.
    await waitFor(
      async () => (await subscription("file-ops")).cursor !== null,
      DELIVERY_DEADLINE_MS,
      "the file subscription's intake",
    );
  });

  afterAll(async () => {
    await ponder?.stop();
    await receiver?.close();
    await chain?.stop();
  });

  it("protects the admin API with the bearer token and never shows a stored secret", async () => {
    const missing = await fetch(`${ponder.url}/admin/webhooks`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: string }).error).toMatch(/Authorization: Bearer/);
    expect((await admin("GET", "", undefined, "wrong-token")).status).toBe(401);
    const list = await admin("GET", "");
    expect(list.status).toBe(200);
    expect(list.json.leader).toBe(true);
    expect(list.json.subscriptions).toMatchObject([
      { id: "file-ops", origin: "file", stream: "slashes", enabled: true },
    ]);
    expect(JSON.stringify(list.json)).not.toContain(FILE_SECRET);
    expect((await admin("POST", "", "{not json")).status).toBe(400);
    const bad = await admin("POST", "", { url: "http://127.0.0.1:1/", filters: { staker: "0x12" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/"staker"/);
    expect((await admin("GET", "/no-such-subscription")).status).toBe(404);
    expect((await admin("POST", "", { id: "file-ops", url: "http://127.0.0.1:1/" })).status).toBe(409);
  });

  it("retries while the receiver answers 500, then delivers each event once; signatures verify, tampering is refused", async () => {
    receiver.state.failFlaky = true;
    const burst: string[] = [];
    for (let i = 0; i < 5; i++) burst.push((await slash()).id);
    await waitFor(
      () => {
        const failed = new Set(
          receiver.state.requests
            .filter((r) => r.path === "/flaky" && r.status === 500)
            .map((r) => r.headers["x-openledger-event-id"]),
        );
        return (
          burst.every((id) => failed.has(id)) && receiver.state.requests.filter((r) => r.status === 500).length >= 10
        );
      },
      DELIVERY_DEADLINE_MS,
      "failed attempts on every event",
    );
    receiver.state.failFlaky = false;
    await waitFor(
      () => burst.every((id) => receiver.acknowledged("/flaky").includes(id)),
      DELIVERY_DEADLINE_MS,
      "the deliveries",
    );

    const acknowledged = receiver.acknowledged("/flaky");
    expect([...acknowledged].sort()).toEqual([...burst].sort());
    for (const request of receiver.state.requests.filter((r) => r.path === "/flaky")) {
      const header = String(request.headers["x-openledger-signature"]);
      expect(verifyWebhookSignature(FILE_SECRET, header, request.body)).toBe(true);
      const body = JSON.parse(request.body);
      expect(body.event).toBe("slash");
      expect(body.id).toBe(request.headers["x-openledger-event-id"]);
      expect(body.data.staker).toBe(chain.protocol.accounts.provider.toLowerCase());
    }
    // Attempts are numbered, and more than one was needed.
    const attempts = receiver.state.requests
      .filter((r) => r.path === "/flaky")
      .map((r) => Number(r.headers["x-openledger-attempt"]));
    expect(Math.max(...attempts)).toBeGreaterThan(1);
    const deliveries = (await admin("GET", "/file-ops/deliveries?status=delivered")).json.deliveries as {
      attempts: number;
    }[];
    expect(deliveries).toHaveLength(5);
    expect(deliveries.every((delivery) => delivery.attempts >= 2)).toBe(true);

    // The example bot's receiver takes the genuine delivery and refuses the same one tampered with.
    const accepted: string[] = [];
    const rejected: string[] = [];
    const bot = await startWebhookReceiver({
      port: 0,
      secret: FILE_SECRET,
      onDelivery: (delivery) => {
        accepted.push(delivery.id);
      },
      onRejected: (reason) => rejected.push(reason),
    });
    try {
      const genuine = receiver.state.requests.find((r) => r.path === "/flaky" && r.status === 200)!;
      const headers = {
        "content-type": "application/json",
        "x-openledger-signature": String(genuine.headers["x-openledger-signature"]),
        "x-openledger-event-id": String(genuine.headers["x-openledger-event-id"]),
      };
      const tampered = genuine.body.replace(/"amount":"(\d+)"/, '"amount":"1$1"');
      expect(tampered).not.toBe(genuine.body);
      expect((await fetch(bot.url, { method: "POST", headers, body: tampered })).status).toBe(401);
      expect((await fetch(bot.url, { method: "POST", headers, body: genuine.body })).status).toBe(200);
      expect((await fetch(bot.url, { method: "POST", headers, body: genuine.body })).status).toBe(200);
      expect(accepted).toEqual([JSON.parse(genuine.body).id]);
      expect(rejected).toEqual(["bad signature"]);
    } finally {
      await bot.close();
    }
  });

  it("parks a delivery as failed after its last attempt, lists it, and re-drives it", async () => {
    const created = await admin("POST", "", { id: "parked", url: `${receiver.url}/down`, maxAttempts: 2 });
    expect(created.status).toBe(201);
    expect(created.json.secret).toMatch(/^whsec_/);
    const secret = created.json.secret as string;
    await waitFor(
      async () => (await subscription("parked")).cursor !== null,
      DELIVERY_DEADLINE_MS,
      "the new subscription's intake",
    );

    receiver.state.failDown = true;
    const sent = await slash();
    await waitFor(
      async () => (await subscription("parked")).deliveries.failed === 1,
      DELIVERY_DEADLINE_MS,
      "the delivery to be parked",
    );
    const failed = (await admin("GET", "/parked/deliveries?status=failed")).json.deliveries as Record<
      string,
      unknown
    >[];
    expect(failed).toMatchObject([
      { eventId: sent.id, status: "failed", attempts: 2, lastStatus: 500, lastError: "HTTP 500: try later" },
    ]);
    expect((await admin("POST", "/parked/redrive", { deliveries: ["x"] })).status).toBe(400);
    expect((await admin("GET", "/parked/deliveries?colour=red")).status).toBe(400);

    receiver.state.failDown = false;
    expect((await admin("POST", "/parked/redrive")).json).toEqual({ redriven: 1 });
    await waitFor(
      () => receiver.acknowledged("/down").includes(sent.id),
      DELIVERY_DEADLINE_MS,
      "the re-driven delivery",
    );
    expect(await subscription("parked")).toMatchObject({ deliveries: { pending: 0, failed: 0, delivered: 1 } });
    const last = receiver.state.requests.filter((r) => r.path === "/down").at(-1)!;
    expect(verifyWebhookSignature(secret, String(last.headers["x-openledger-signature"]), last.body)).toBe(true);
    expect((await admin("DELETE", "/parked")).status).toBe(200);
  });

  it("delivers after an indexer restart what was pending before it, and loses nothing", async () => {
    receiver.state.failFlaky = true;
    const pending: string[] = [];
    for (let i = 0; i < 3; i++) pending.push((await slash()).id);
    await waitFor(
      async () => (await subscription("file-ops")).deliveries.pending === 3,
      DELIVERY_DEADLINE_MS,
      "three pending deliveries",
    );

    await ponder.stop();
    receiver.state.failFlaky = false;
    ponder = await startPonder(env);
    await waitFor(
      () => pending.every((id) => receiver.acknowledged("/flaky").includes(id)),
      2 * DELIVERY_DEADLINE_MS,
      "the pending deliveries",
    );
    await ponder.waitForBlock(await head());
    const after = (await slash()).id;
    await waitFor(
      () => receiver.acknowledged("/flaky").includes(after),
      DELIVERY_DEADLINE_MS,
      "a delivery after the restart",
    );
    // Nothing queued or in flight any more: a second acknowledgement of anything would have come.
    await waitFor(
      async () => (await subscription("file-ops")).deliveries.pending === 0,
      DELIVERY_DEADLINE_MS,
      "no pending delivery",
    );

    // Every slash of this file reached the file subscription, each acknowledged exactly once.
    const acknowledged = receiver.acknowledged("/flaky");
    expect([...acknowledged].sort()).toEqual([...sentIds].sort());
    expect(await subscription("file-ops")).toMatchObject({
      deliveries: { pending: 0, failed: 0, delivered: sentIds.length },
    });
  });
});
