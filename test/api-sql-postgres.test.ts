/**
 * /sql on PostgreSQL (issue 12, defect 3): an API replica (`ponder serve`) reads the indexer's
 * database through a TCP relay; a syntax error and a failing query are the client's (400 with the
 * reason), and when the relay goes away the database outage is a 503 that says so, not a 400.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PonderProcess, startPonder } from "../harness/ponder.js";
import { type PostgresCluster, postgresUnavailableReason, startPostgres } from "../harness/postgres.js";
import { rpc } from "../scripts/lib/anvil.js";
import { type SlashChain, startRelay, startSlashChain } from "./helpers/bots.js";

const skip = postgresUnavailableReason();

describe.skipIf(skip !== undefined)("/sql answers on PostgreSQL, through an outage", () => {
  let chain: SlashChain;
  let postgres: PostgresCluster;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let indexer: PonderProcess;
  let replica: PonderProcess;

  const sqlDb = async (text: string) => {
    const json = { sql: text, params: [] };
    const response = await fetch(`${replica.url}/sql/db?sql=${encodeURIComponent(JSON.stringify({ json }))}`);
    return { status: response.status, body: (await response.json()) as { error?: string } };
  };

  beforeAll(async () => {
    chain = await startSlashChain();
    postgres = await startPostgres();
    const database = new URL(postgres.url);
    relay = await startRelay();
    relay.setTarget(Number(database.port));
    const viaRelay = new URL(postgres.url);
    viaRelay.port = new URL(relay.url).port;
    indexer = await startPonder({ DEPLOYMENT_FILE: chain.deploymentFile, DATABASE_URL: postgres.url });
    const head = Number(BigInt(await rpc<string>(chain.protocol.rpcUrl, "eth_blockNumber")));
    await indexer.waitForBlock(head);
    replica = await startPonder(
      { DEPLOYMENT_FILE: chain.deploymentFile, DATABASE_URL: viaRelay.toString() },
      { command: "serve" },
    );
    await replica.waitForBlock(head, 120_000);
  });

  afterAll(async () => {
    await replica?.stop();
    await indexer?.stop();
    await relay?.close().catch(() => {});
    await postgres?.stop();
    await chain?.stop();
  });

  it("answers a syntax error and a failing query with 400 and the reason", async () => {
    expect(await sqlDb("SELECT count(*) AS n FROM account")).toMatchObject({ status: 200 });
    const syntax = await sqlDb("SELECT * FRM account");
    expect(syntax.status).toBe(400);
    expect(syntax.body.error).toMatch(/syntax error at or near "FRM"/);
    const failing = await sqlDb("SELECT no_such_column FROM account");
    expect(failing.status).toBe(400);
    expect(failing.body.error).toMatch(/no_such_column/);
  });

  it("answers 503 while the database is unreachable, and the process stays up", async () => {
    // Every connection of the replica goes through the relay: closing it is the outage.
    let started = Date.now();
    await relay.close();
    console.log(`[sql-postgres] relay closed in ${Date.now() - started} ms`);
    started = Date.now();
    const during = await sqlDb("SELECT count(*) AS during_outage FROM account");
    console.log(`[sql-postgres] answer during the outage in ${Date.now() - started} ms: ${during.status}`);
    expect(during.status, JSON.stringify(during.body)).toBe(503);
    expect(during.body.error).toMatch(/database is not answering/);
    // Ponder itself retries a lost connection for about a minute: the answer must not wait for that.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((await fetch(`${replica.url}/health`)).status).toBe(200);
  });
});
