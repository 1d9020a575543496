/**
 * One of two RPC URLs goes down in the middle of the backfill (README, "RPC failover and rate
 * limits"). `npm run start:prod` gets RPC_URL="<proxy A>,<proxy B>", both in front of the same
 * anvil; proxy A starts dropping every connection once Ponder has made some requests through it and
 * before the backfill is complete. Indexing must complete through B, and the tables must equal
 * the simulator's ledger and a fault-free index of the same chain into another database.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectPostgres,
  type PostgresCluster,
  postgresUnavailableReason,
  startPostgres,
} from "../../harness/postgres.js";
import { type FaultProxy, startFaultProxy } from "../../harness/rpc-proxy.js";
import { compareWithLedger, readTables } from "../helpers/compare.js";
import { canonicalDump, diffDumps, dumpSize } from "../helpers/dump.js";
import { type SimulatedChain, simulatedChain } from "../helpers/indexed-chain.js";
import { type ProdProcess, startProd } from "../helpers/prod.js";

const skip = postgresUnavailableReason();
describe.skipIf(skip !== undefined)("one of two RPC URLs down mid-backfill", () => {
  let chain: SimulatedChain;
  let postgres: PostgresCluster;
  let proxyA: FaultProxy;
  let proxyB: FaultProxy;
  let indexer: ProdProcess | undefined;
  let reference: ProdProcess | undefined;

  beforeAll(async () => {
    chain = await simulatedChain(23, 300);
    postgres = await startPostgres();
    proxyA = await startFaultProxy({ target: chain.anvil.rpcUrl, seed: 1, rate: 0 });
    proxyB = await startFaultProxy({ target: chain.anvil.rpcUrl, seed: 2, rate: 0 });
  });

  afterAll(async () => {
    await Promise.all([indexer?.stop(), reference?.stop()]);
    await proxyA?.stop();
    await proxyB?.stop();
    await postgres?.stop();
    await chain?.stop();
  });

  it("completes the backfill through the second URL, with the same tables as a run without faults", async () => {
    const common = {
      DEPLOYMENT_FILE: chain.deploymentFile,
      // Small eth_getLogs ranges: more requests, so that the backfill is in progress when A goes down.
      ETH_GET_LOGS_BLOCK_RANGE: "10",
    };
    const started = Date.now();
    indexer = await startProd("start-prod", {
      ...common,
      DATABASE_URL: postgres.url,
      DATABASE_SCHEMA: "ol_rpc_down",
      RPC_URL: `${proxyA.url},${proxyB.url}`,
    });
    // Down once Ponder has fetched a little through A.
    for (;;) {
      if (indexer.process.exitCode !== null) throw new Error(`indexer exited:\n${indexer.logs().slice(-3000)}`);
      if (proxyA.stats.forwarded >= 30) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    proxyA.setDown(true);
    const downAt = Date.now();
    const forwardedByA = proxyA.stats.forwarded;
    const readyWhenDown = await fetch(`${indexer.url}/ready`).then(
      (response) => response.status,
      () => 0,
    );
    const statusWhenDown = await fetch(`${indexer.url}/status`).then(
      async (response) => JSON.stringify(await response.json()),
      () => "not listening yet",
    );
    expect(readyWhenDown).not.toBe(200);

    await indexer.waitReady(chain.head, 300_000);
    const readyAt = Date.now();
    const indexed = await readTables(indexer.url);
    expect(compareWithLedger(indexed, chain.ledger)).toEqual([]);
    expect(proxyB.stats.forwarded).toBeGreaterThan(0);
    const refusedByA = proxyA.stats.requests - forwardedByA;

    // The reference: the same chain indexed straight from anvil into a database of its own (no shared RPC cache).
    const admin = await connectPostgres(postgres.url);
    await admin.query("CREATE DATABASE reference");
    await admin.end();
    const referenceUrl = new URL(postgres.url);
    referenceUrl.pathname = "/reference";
    reference = await startProd("start-prod", {
      ...common,
      DATABASE_URL: referenceUrl.toString(),
      DATABASE_SCHEMA: "ol_reference",
      RPC_URL: chain.anvil.rpcUrl,
    });
    await reference.waitReady(chain.head, 300_000);
    const expected = canonicalDump(await readTables(reference.url));
    expect(diffDumps(expected, canonicalDump(indexed))).toEqual([]);

    const failoverLines = indexer
      .logs()
      .split("\n")
      .filter((line) => /rpc\[.*(failing over|failed|answers again)/i.test(line));
    console.log(
      `[failover] A down ${downAt - started} ms after start (after ${forwardedByA} requests through A; ` +
        `/ready ${readyWhenDown}, /status ${statusWhenDown}); then A refused ${refusedByA} requests and B answered ` +
        `${proxyB.stats.forwarded}; backfill complete ${readyAt - started} ms after start; ` +
        `${dumpSize(expected)} rows equal to the fault-free index; ${failoverLines.length} failover log lines` +
        (failoverLines[0] ? `, first: ${failoverLines[0].slice(0, 300)}` : ""),
    );
  });
});
