/**
 * A blue/green redeploy under load (README, "Zero-downtime redeploys"). v1 (`npm run start:prod`,
 * schema ol_blue) indexes a chain and serves it; an API replica (`npm run serve`) and SQL readers
 * read the stable views schema `openledger`. v2 starts into schema ol_green on the same database and
 * backfills while a bounded read load runs on 127.0.0.1 against what readers use:
 * - GraphQL through a switch-over proxy that sends traffic to v1 until v2's /ready answers 200,
 *   then to v2 only (what a load balancer's health check does);
 * - GraphQL on the replica, which reads the views schema;
 * - SQL on the views schema over a PostgreSQL connection of its own.
 * Every answer must be complete (all invoices, all events): a reader never sees a half-built v2.
 * Then v1 is stopped by SIGTERM to the script's PID while the load goes on.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PONDER_BIN, TEST_PONDER_ENV } from "../../harness/ponder.js";
import {
  connectPostgres,
  type PgClient,
  type PostgresCluster,
  postgresUnavailableReason,
  startPostgres,
} from "../../harness/postgres.js";
import { waitFor } from "../../harness/wait.js";
import { ROOT } from "../../scripts/lib/compile.js";
import { type SimulatedChain, simulatedChain } from "../helpers/indexed-chain.js";
import { type ProdProcess, startProd } from "../helpers/prod.js";

const skip = postgresUnavailableReason();
const INVOICES = 400;
const VIEWS = "openledger";
const QUERY = `{ invoices(limit: 5, orderBy: "invoiceId") { items { invoiceId amount status } totalCount } }`;

type Tally = { reads: number; errors: number; messages: string[] };
const tally = (): Tally => ({ reads: 0, errors: 0, messages: [] });
function fail(t: Tally, message: string) {
  t.errors++;
  if (t.messages.length < 10) t.messages.push(message);
}

/** Runs a one-off Ponder command (without blocking the event loop, so the load goes on meanwhile). */
function runPonderCommand(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(PONDER_BIN, args, {
      cwd: ROOT,
      env: { ...process.env, ...TEST_PONDER_ENV, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** A reverse proxy that follows a health check: v1 until v2's /ready is 200, then v2 only. */
async function switchOverProxy(blue: string) {
  let target = blue;
  let switchedAt: number | undefined;
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    try {
      const answer = await fetch(`${target}${request.url}`, {
        method: request.method,
        headers: { "content-type": request.headers["content-type"] ?? "application/json" },
        body: request.method === "POST" ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await answer.arrayBuffer());
      response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain" });
      response.end(body);
    } catch (error) {
      response.writeHead(502, { "content-type": "text/plain" }).end(`proxy: ${(error as Error).message}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  let checking: NodeJS.Timeout | undefined;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    switchedAt: () => switchedAt,
    /** Health-checks the green deployment every 250 ms and switches once it is ready. */
    follow(green: string) {
      checking = setInterval(async () => {
        const ready = await fetch(`${green}/ready`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ready && switchedAt === undefined) {
          target = green;
          switchedAt = Date.now();
          clearInterval(checking);
        }
      }, 250);
    },
    stop: async () => {
      clearInterval(checking);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.skipIf(skip !== undefined)("blue/green redeploy under a read load", () => {
  let chain: SimulatedChain;
  let postgres: PostgresCluster;
  let blue: ProdProcess | undefined;
  let green: ProdProcess | undefined;
  let replica: ProdProcess | undefined;
  let proxy: Awaited<ReturnType<typeof switchOverProxy>> | undefined;
  const clients: PgClient[] = [];

  beforeAll(async () => {
    chain = await simulatedChain(11, INVOICES);
    postgres = await startPostgres();
  });

  afterAll(async () => {
    await proxy?.stop();
    for (const client of clients) await client.end().catch(() => {});
    await Promise.all([replica?.stop(), green?.stop(), blue?.stop()]);
    await postgres?.stop();
    await chain?.stop();
  });

  it("switches readers from v1 to v2 once v2 is ready, with no error and no partial answer", async () => {
    const env = { DEPLOYMENT_FILE: chain.deploymentFile, DATABASE_URL: postgres.url, DATABASE_VIEWS_SCHEMA: VIEWS };
    const invoices = Object.keys(chain.ledger.invoices).length;

    blue = await startProd("start-prod", { ...env, DATABASE_SCHEMA: "ol_blue" });
    await blue.waitReady(chain.head);
    replica = await startProd("serve", env);
    await replica.waitReady(chain.head, 120_000);
    proxy = await switchOverProxy(blue.url);
    const connect = async () => {
      const client = await connectPostgres(postgres.url);
      clients.push(client);
      return client;
    };
    const sqlReader = await connect();
    const observer = await connect();
    const [{ n: events }] = (await sqlReader.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${VIEWS}".activity`))
      .rows;
    expect(events).toBeGreaterThan(invoices);

    // The bounded load: four sequential readers (two on the proxy, one on the replica, one in SQL).
    let loading = true;
    const viaProxy = tally();
    const viaReplica = tally();
    const viaSql = tally();
    const servedBy = { blue: 0, green: 0 };
    const viewTargets: string[] = [];
    const graphqlReader = async (url: string, t: Tally, countSwitch: boolean) => {
      while (loading) {
        const switched = proxy?.switchedAt() !== undefined;
        try {
          const response = await fetch(`${url}/graphql`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ query: QUERY }),
          });
          const text = await response.text();
          t.reads++;
          if (response.status !== 200) fail(t, `HTTP ${response.status}: ${text.slice(0, 200)}`);
          else {
            const answer = JSON.parse(text) as { data?: { invoices: { totalCount: number } }; errors?: unknown };
            if (answer.errors) fail(t, `GraphQL errors: ${JSON.stringify(answer.errors).slice(0, 200)}`);
            else if (answer.data?.invoices.totalCount !== invoices)
              fail(t, `totalCount ${answer.data?.invoices.totalCount}, expected ${invoices}`);
          }
          if (countSwitch) servedBy[switched ? "green" : "blue"]++;
        } catch (error) {
          t.reads++;
          fail(t, `request failed: ${(error as Error).message}`);
        }
      }
    };
    const sqlLoop = async () => {
      while (loading) {
        try {
          const { rows } = await sqlReader.query<{ invoices: number; events: number; target: string }>(
            `SELECT (SELECT count(*)::int FROM "${VIEWS}".invoice) AS invoices,
                    (SELECT count(*)::int FROM "${VIEWS}".activity) AS events,
                    (SELECT definition FROM pg_views WHERE schemaname = '${VIEWS}' AND viewname = 'invoice') AS target`,
          );
          viaSql.reads++;
          const [row] = rows;
          if (row.invoices !== invoices || row.events !== events)
            fail(viaSql, `views: ${row.invoices} invoices and ${row.events} events`);
          const target = /ol_green/.test(row.target) ? "ol_green" : /ol_blue/.test(row.target) ? "ol_blue" : "?";
          if (viewTargets.at(-1) !== target) viewTargets.push(target);
        } catch (error) {
          viaSql.reads++;
          fail(viaSql, `SQL failed: ${(error as Error).message}`);
        }
      }
    };
    const load = Promise.all([
      graphqlReader(proxy.url, viaProxy, true),
      graphqlReader(proxy.url, viaProxy, true),
      graphqlReader(replica.url, viaReplica, false),
      sqlLoop(),
    ]);

    // v2 backfills beside v1; an observer looks at v2's own tables (readers never do).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const greenStarted = Date.now();
    green = await startProd("start-prod", { ...env, DATABASE_SCHEMA: "ol_green" });
    proxy.follow(green.url);
    const partial = new Set<number>();
    let readyBeforeViews = false;
    await waitFor(
      async () => {
        const exists = await observer.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'ol_green' AND table_name = 'invoice'`,
        );
        if (exists.rows[0].n === 1) {
          const { rows } = await observer.query<{ n: number }>(`SELECT count(*)::int AS n FROM ol_green.invoice`);
          partial.add(rows[0].n);
        }
        return proxy?.switchedAt() !== undefined;
      },
      300_000,
      "v2 to become ready and the proxy to switch",
    );
    const greenReadyMs = (proxy.switchedAt() ?? 0) - greenStarted;
    const [view] = (
      await observer.query<{ definition: string }>(
        `SELECT definition FROM pg_views WHERE schemaname = '${VIEWS}' AND viewname = 'invoice'`,
      )
    ).rows;
    readyBeforeViews = !/ol_green/.test(view.definition);
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    // v1 goes: SIGTERM to the script's PID reaches Ponder; the load carries on, on v2.
    const bluePid = blue.process.pid;
    await blue.stop();
    const blueCode = blue.process.exitCode;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // Ponder's `db prune` drops the stopped deployment's schema; the views (v2's, running) stay.
    // Ponder leaves is_locked = 1 after a SIGTERM (observed on 0.16), so prune takes a deployment for
    // stopped only once its heartbeat is PONDER_DATABASE_HEARTBEAT_TIMEOUT_MS old (Ponder patch 5).
    const [{ heartbeat }] = (
      await observer.query<{ heartbeat: string }>(
        `SELECT value->>'heartbeat_at' AS heartbeat FROM ol_blue._ponder_meta`,
      )
    ).rows;
    const expiresAt = Number(heartbeat) + Number(TEST_PONDER_ENV.PONDER_DATABASE_HEARTBEAT_TIMEOUT_MS);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt + 1_000 - Date.now())));
    const pruned = await runPonderCommand(["db", "prune"], env);
    expect(pruned.code, pruned.output).toBe(0);
    const [{ n: blueTables }] = (
      await observer.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'ol_blue'`,
      )
    ).rows;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    loading = false;
    await load;

    const errors = viaProxy.errors + viaReplica.errors + viaSql.errors;
    const reads = viaProxy.reads + viaReplica.reads + viaSql.reads;
    console.log(
      `[blue-green] v2 ready and switched ${greenReadyMs} ms after its start; ${reads} reads ` +
        `(proxy ${viaProxy.reads}: ${servedBy.blue} before the switch, ${servedBy.green} after; replica ${viaReplica.reads}; ` +
        `SQL ${viaSql.reads}); switch-over errors: ${errors}; views pointed at ${viewTargets.join(" -> ")}; ` +
        `v2's own invoice table seen at ${[...partial].sort((a, b) => a - b).join(", ")} of ${invoices} rows; ` +
        `v1 (pid ${bluePid}) exited with code ${blueCode}; ponder db prune left ${blueTables} tables in ol_blue`,
    );
    expect([...viaProxy.messages, ...viaReplica.messages, ...viaSql.messages]).toEqual([]);
    expect(errors).toBe(0);
    // The load ran before, across and after the switch.
    expect(servedBy.blue).toBeGreaterThan(0);
    expect(servedBy.green).toBeGreaterThan(0);
    expect(viaReplica.reads).toBeGreaterThan(0);
    expect(viewTargets).toEqual(["ol_blue", "ol_green"]);
    // Ponder repoints the views before /ready turns 200 (runtime/omnichain.ts): never after.
    expect(readyBeforeViews).toBe(false);
    expect(blueCode).toBe(0);
    expect(blueTables, pruned.output).toBe(0);

    // After v1 is gone, the replica still answers from the views, now v2's tables.
    const after = await replica.graphql<{ invoices: { totalCount: number } }>(QUERY);
    expect(after.data?.invoices.totalCount).toBe(invoices);
    expect((await green.graphql(QUERY)).data).toEqual(after.data);
  });
});
