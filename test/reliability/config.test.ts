import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PonderProcess, startPonder } from "../../harness/ponder.js";
import { freePort } from "../../harness/ports.js";
import { type FaultProxy, startFaultProxy } from "../../harness/rpc-proxy.js";
import { compareWithLedger, readTables } from "../helpers/compare.js";
import { type SimulatedChain, simulatedChain } from "../helpers/indexed-chain.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForLog(ponder: PonderProcess, pattern: RegExp, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(ponder.logs())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in Ponder's logs within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** The process's exit code once it exits, or null if it is still running after `timeoutMs`. */
function exitCode(ponder: PonderProcess, timeoutMs: number): Promise<number | null> {
  if (ponder.process.exitCode !== null) return Promise.resolve(ponder.process.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    ponder.process.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe("configuration and chain edge cases", () => {
  let chain: SimulatedChain;
  let proxy: FaultProxy | undefined;
  const running: PonderProcess[] = [];
  const start = async (name: string, env: Record<string, string>) => {
    const ponder = await startPonder({
      DEPLOYMENT_FILE: chain.deploymentFile,
      DATABASE_URL: "",
      PGLITE_DIRECTORY: path.join(chain.workDir, name),
      ...env,
    });
    running.push(ponder);
    return ponder;
  };

  beforeAll(async () => {
    chain = await simulatedChain(3, 60);
  });

  afterAll(async () => {
    try {
      for (const ponder of running) await ponder.stop();
      await proxy?.stop();
    } finally {
      await chain?.stop();
    }
  });

  it("wrong chain id: start-up stops with one line naming both ids, before indexing anything", async () => {
    const ponder = await start("wrong-chain", { CHAIN_ID: "1" });
    const code = await exitCode(ponder, 120_000);
    const lines = ponder.logs().split("\n");
    const errors = lines.filter((line) => line.startsWith("Configuration error:"));
    expect(errors).toEqual([
      expect.stringMatching(/^Configuration error: CHAIN_ID is 1 but the RPC .* serves chain 31337\b/),
    ]);
    expect(code).toBe(2);
    // It stopped before the indexing stage: no block was indexed under the wrong id.
    expect(ponder.logs()).not.toMatch(/"msg":"Indexed block/);
  });

  it("wrong contract address: no events from it, no crash; the rest is indexed and the gaps are anomalies", async () => {
    const ponder = await start("wrong-address", {
      INVOICE_REGISTRY_ADDRESS: "0x000000000000000000000000000000000000dEaD",
    });
    await ponder.waitForBlock(chain.head, 120_000);
    const tables = await readTables(ponder.url);
    expect(tables.invoice.length).toBe(0);
    expect(tables.stakeChange.length).toBeGreaterThan(0);
    const found: Record<string, number> = {};
    for (const anomaly of tables.anomaly) {
      const key = `${anomaly.event}:${anomaly.code}`;
      found[key] = (found[key] ?? 0) + 1;
    }
    console.log(
      `[config] wrong InvoiceRegistry address: ${tables.stakeChange.length} stake changes, ${tables.payout.length} payouts, anomalies ${JSON.stringify(found)}`,
    );
    // Without the registry no invoice is known: each settlement event of the simulator's ledger names
    // an unknown invoice, and with no payout credited each claim exceeds the indexed claimable balance.
    const sent = chain.ledger.eventCounts;
    const expected = Object.fromEntries(
      Object.entries({
        "SettlementEngine:SettlementScheduled:unknown_invoice": sent.SettlementScheduled ?? 0,
        "SettlementEngine:InvoiceSettled:unknown_invoice": sent.InvoiceSettled ?? 0,
        "SettlementEngine:PayoutCredited:unknown_invoice": sent.PayoutCredited ?? 0,
        "SettlementEngine:EarningsClaimed:claim_mismatch": sent.EarningsClaimed ?? 0,
      }).filter(([, count]) => count > 0),
    );
    expect(sent.InvoiceSettled).toBeGreaterThan(0);
    expect(found).toEqual(expected);
    expect(ponder.process.exitCode).toBeNull();
    await ponder.stop();
  });

  it("RPC down at start, up 10 s later: Ponder logs each failed attempt, retries, and indexes everything", async () => {
    proxy = await startFaultProxy({ target: chain.anvil.rpcUrl, seed: 1, rate: 0 });
    proxy.setDown(true);
    const ponder = await start("rpc-late", { RPC_URL: proxy.url });
    await waitForLog(ponder, /"msg":"Received JSON-RPC error".*"retry_count":1/, 60_000);
    await sleep(10_000);
    expect(ponder.process.exitCode).toBeNull();
    proxy.setDown(false);
    await ponder.waitForBlock(chain.head, 180_000);
    expect(compareWithLedger(await readTables(ponder.url), chain.ledger)).toEqual([]);
    const attempts = ponder.logs().match(/"msg":"Received JSON-RPC error"/g)?.length ?? 0;
    console.log(`[config] RPC down at start: ${attempts} logged attempts before it came up`);
    await ponder.stop();
  });

  it("RPC down for good: Ponder retries for about two minutes, then exits once with code 75 and a clear message", async () => {
    const ponder = await start("rpc-down", { RPC_URL: `http://127.0.0.1:${await freePort()}` });
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 240_000);
      ponder.process.once("exit", (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    const seconds = (Date.now() - started) / 1000;
    const attempts = ponder.logs().match(/"msg":"Received JSON-RPC error"/g)?.length ?? 0;
    console.log(
      `[config] RPC down for good: exit ${code} after ${seconds.toFixed(0)} s and ${attempts} logged attempts`,
    );
    expect(code).toBe(75);
    expect(ponder.logs()).toMatch(/Failed to connect to JSON-RPC/);
    expect(attempts).toBeGreaterThanOrEqual(9);
  });
});
