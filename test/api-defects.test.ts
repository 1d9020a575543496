/**
 * Defects of the API that users hit (issue 12), against a real `ponder start` on PGlite indexing two
 * anvil chains: chain 1 first (Ponder's finality depth 65) and chain 31337 (30).
 * - /metrics gives each series once, with the current value, scrape after scrape;
 * - streams and webhooks accept the same deepest `confirmations`, the least finality of the chains;
 * - /sql answers a syntax error, a repeated refusal, a missing "params", a failing query and two
 *   result columns of one name with 400 and the reason;
 * - a failed webhook delivery's lastError keeps the start of the receiver's answer, bounded.
 * Expected figures come from anvil (block numbers) and from Ponder's own finality table.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { anvil as anvilChain, mainnet } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMetrics } from "../harness/metrics.js";
import { type PonderProcess, startPonder } from "../harness/ponder.js";
import { waitFor } from "../harness/wait.js";
import { rpc } from "../scripts/lib/anvil.js";
import { type Devnet, startDevnet } from "../scripts/lib/devnet.js";
import { type SlashChain, startSlashChain } from "./helpers/bots.js";

const TOKEN = "defects-admin-token-0123456789";

/** Ponder's own finality table (not exported by the package): what our depths must agree with. */
async function ponderFinality() {
  type Finality = typeof import("../node_modules/ponder/dist/types/utils/finality.js");
  const finality = "../node_modules/ponder/dist/esm/utils/finality.js";
  return ((await import(finality)) as Finality).getFinalityBlockCount;
}
const REFUSAL = "token expired for this endpoint";

/** A receiver that refuses every delivery: /expired with a short reason, /verbose with a long page. */
async function startRefusingReceiver() {
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      if (request.url === "/verbose") response.writeHead(403).end(`<html>${"x".repeat(5_000)}</html>`);
      else response.writeHead(401, { "content-type": "text/plain" }).end(REFUSAL);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("API defects on PGlite, two chains", () => {
  let home: SlashChain;
  let l1: Devnet;
  let ponder: PonderProcess;
  let receiver: Awaited<ReturnType<typeof startRefusingReceiver>>;

  const headOf = async (rpcUrl: string) => Number(BigInt(await rpc<string>(rpcUrl, "eth_blockNumber")));
  const indexedUpTo = async (heads: Record<string, number>) => {
    await waitFor(
      async () => {
        try {
          if ((await fetch(`${ponder.url}/ready`)).status !== 200) return false;
          const status = (await (await fetch(`${ponder.url}/status`)).json()) as Record<
            string,
            { block: { number: number } }
          >;
          return Object.entries(heads).every(([name, head]) => (status[name]?.block.number ?? -1) >= head);
        } catch {
          return false; // not listening yet
        }
      },
      240_000,
      `both chains indexed up to ${JSON.stringify(heads)}`,
      { failIf: () => (ponder.exited() ? `ponder exited:\n${ponder.logs().slice(-5000)}` : undefined) },
    );
  };
  const admin = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`${ponder.url}/admin/webhooks${route}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  /** GET /sql/db as @ponder/client sends it (`json` is the superjson envelope's payload). */
  const sqlDb = async (json: Record<string, unknown>) => {
    const response = await fetch(`${ponder.url}/sql/db?sql=${encodeURIComponent(JSON.stringify({ json }))}`);
    return { status: response.status, body: (await response.json()) as { error?: string; rows?: unknown[] } };
  };

  beforeAll(async () => {
    home = await startSlashChain();
    l1 = await startDevnet({ port: 0, chainId: 1 });
    receiver = await startRefusingReceiver();
    const homeDeployment = JSON.parse(readFileSync(home.deploymentFile, "utf8"));
    const file = path.join(home.workDir, "chains.json");
    writeFileSync(
      file,
      JSON.stringify({
        chains: [
          {
            name: "l1",
            chainId: 1,
            rpcUrls: [l1.deployment.rpcUrl],
            startBlock: l1.deployment.startBlock,
            contracts: l1.deployment.contracts,
          },
          {
            name: "home",
            chainId: 31337,
            rpcUrls: [homeDeployment.rpcUrl],
            startBlock: homeDeployment.startBlock,
            contracts: homeDeployment.contracts,
          },
        ],
      }),
    );
    ponder = await startPonder({
      DEPLOYMENT_FILE: file,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: path.join(home.workDir, "pglite"),
      WEBHOOK_ADMIN_TOKEN: TOKEN,
      WEBHOOK_RETRY_BASE_MS: "100",
      WEBHOOK_RETRY_CAP_MS: "200",
      // Every scrape refreshes the database figures: the repetition showed from the second refresh on.
      METRICS_CACHE_MS: "0",
    });
    await indexedUpTo({ l1: await headOf(l1.deployment.rpcUrl), home: await headOf(home.protocol.rpcUrl) });
  });

  afterAll(async () => {
    await ponder?.stop();
    await receiver?.close();
    await l1?.stop();
    await home?.stop();
  });

  it("/metrics gives each series once, with the indexed block of each chain, scrape after scrape", async () => {
    const perChain = [
      "openledger_indexed_block",
      "openledger_indexed_block_timestamp_seconds",
      "openledger_chain_head_block",
      "openledger_lag_blocks",
      "openledger_lag_seconds",
    ];
    for (let scrape = 1; scrape <= 3; scrape++) {
      if (scrape === 3) {
        // The chain moves on between scrapes: the one sample of its series moves with it.
        await home.slash(home.protocol.accounts.provider);
        await indexedUpTo({ home: await headOf(home.protocol.rpcUrl) });
      }
      const samples = parseMetrics(await (await fetch(`${ponder.url}/metrics`)).text()).filter((sample) =>
        sample.name.startsWith("openledger_"),
      );
      const series = samples.map((sample) => `${sample.name}${JSON.stringify(sample.labels)}`);
      const repeated = series.filter((name, i) => series.indexOf(name) !== i);
      expect(repeated, `scrape ${scrape}`).toEqual([]);
      for (const name of perChain) {
        expect(samples.filter((sample) => sample.name === name).map((sample) => sample.labels.chain_id)).toEqual([
          "1",
          "31337",
        ]);
      }
      const indexed = (chainId: string) =>
        samples.find((sample) => sample.name === "openledger_indexed_block" && sample.labels.chain_id === chainId)
          ?.value;
      expect(indexed("1"), `scrape ${scrape}`).toBe(await headOf(l1.deployment.rpcUrl));
      expect(indexed("31337"), `scrape ${scrape}`).toBe(await headOf(home.protocol.rpcUrl));
    }
  });

  it("streams and webhooks accept the same deepest confirmations: the least finality of the chains", async () => {
    const getFinalityBlockCount = await ponderFinality();
    const least = Math.min(getFinalityBlockCount({ chain: mainnet }), getFinalityBlockCount({ chain: anvilChain }));
    expect(least).toBe(30); // chain 1 would allow 65: a webhook taking chains[0] allowed too much
    const streams = (await (await fetch(`${ponder.url}/streams`)).json()) as { settings: { maxConfirmations: number } };
    expect(streams.settings.maxConfirmations).toBe(least);
    const tooDeepStream = await fetch(`${ponder.url}/streams/slashes?confirmations=${least + 1}`);
    expect(tooDeepStream.status).toBe(400);
    await tooDeepStream.body?.cancel();

    const tooDeep = await admin("POST", "", {
      id: "too-deep",
      url: `${receiver.url}/expired`,
      confirmations: least + 1,
    });
    expect(tooDeep.status, JSON.stringify(tooDeep.json)).toBe(400);
    expect(tooDeep.json.error).toMatch(new RegExp(`at most ${least}\\b`));
    const deepest = await admin("POST", "", { id: "deepest", url: `${receiver.url}/expired`, confirmations: least });
    expect(deepest.status, JSON.stringify(deepest.json)).toBe(201);
    expect((await admin("DELETE", "/deepest")).status).toBe(200);
  });

  it("a failed delivery's lastError keeps the start of the receiver's answer, at most 200 characters of it", async () => {
    for (const [id, route] of [
      ["expired", "/expired"],
      ["verbose", "/verbose"],
    ]) {
      const created = await admin("POST", "", { id, url: `${receiver.url}${route}`, maxAttempts: 1 });
      expect(created.status, JSON.stringify(created.json)).toBe(201);
      await waitFor(async () => (await admin("GET", `/${id}`)).json.cursor !== null, 60_000, `${id}'s intake`);
    }
    const sent = await home.slash(home.protocol.accounts.provider2);
    const failed = async (id: string) => {
      const answer = await admin("GET", `/${id}/deliveries?status=failed`);
      return (answer.json.deliveries as { eventId: string; lastStatus: number; lastError: string }[]).find(
        (delivery) => delivery.eventId === sent.id,
      );
    };
    const expired = await waitFor(() => failed("expired"), 60_000, "the refused delivery to be parked");
    expect(expired).toMatchObject({ lastStatus: 401, lastError: `HTTP 401: ${REFUSAL}` });
    const verbose = await waitFor(() => failed("verbose"), 60_000, "the verbose refusal to be parked");
    expect(verbose.lastError).toMatch(/^HTTP 403: <html>x{100}/);
    expect(verbose.lastError.length).toBeLessThanOrEqual("HTTP 403: ".length + 200 + 1);
  });

  it("/sql answers a syntax error with the parser's message", async () => {
    const syntax = await sqlDb({ sql: "SELECT * FRM account", params: [] });
    expect(syntax.status).toBe(400);
    expect(syntax.body.error).toMatch(/syntax error at or near "FRM"/);
  });

  it("/sql gives the reason of a refusal again when the query is repeated", async () => {
    const refused = { sql: "SELECT pg_sleep(0.01) AS nap", params: [] };
    const first = await sqlDb(refused);
    const second = await sqlDb(refused);
    expect(first.status).toBe(400);
    expect(first.body.error).not.toMatch(/Invalid query/);
    expect(second).toEqual(first);
  });

  it('/sql refuses a request without "params" saying so', async () => {
    const withoutParams = await sqlDb({ sql: "SELECT count(*) AS n FROM account" });
    expect(withoutParams.status).toBe(400);
    expect(withoutParams.body.error).toMatch(/"params"/);
  });

  it("/sql answers a query the database rejects with 400 and the database's reason", async () => {
    const failing = await sqlDb({ sql: "SELECT no_such_column FROM account", params: [] });
    expect(failing.status).toBe(400);
    expect(failing.body.error).toMatch(/no_such_column/);
  });

  it("/sql refuses two result columns of one name, naming it, and answers them with names of their own", async () => {
    const join = "FROM account a JOIN account b ON a.address = b.address AND a.chain_id = b.chain_id";
    const duplicated = await sqlDb({ sql: `SELECT a.address, b.address ${join}`, params: [] });
    expect(duplicated.status).toBe(400);
    expect(duplicated.body.error).toMatch(/"address"/);
    const named = await sqlDb({ sql: `SELECT a.address AS a_address, b.address AS b_address ${join}`, params: [] });
    expect(named.status, JSON.stringify(named.body)).toBe(200);
  });
});
