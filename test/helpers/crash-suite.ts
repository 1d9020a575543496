import path from "node:path";
import type { Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockNumber, mineToFinality } from "../../harness/chain.js";
import { indexedBlock, isReady, type PonderProcess, startPonder } from "../../harness/ponder.js";
import { type PostgresCluster, postgresUnavailableReason, startPostgres } from "../../harness/postgres.js";
import { killProcess } from "../../harness/process.js";
import { rpc } from "../../scripts/lib/anvil.js";
import { Rng } from "../../scripts/simulator/prng.js";
import { ChaosTraffic } from "./chaos.js";
import { checkInvariants, compareWithContracts, compareWithLedger, readTables } from "./compare.js";
import { canonicalDump, diffDumps, dumpSize } from "./dump.js";
import { type SimulatedChain, simulatedChain } from "./indexed-chain.js";

const KILL_SEED = 2026;

/** A pause of the fault schedule: kills land at random moments, not at a signal. */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGKILLs at random points of the backfill and of real-time indexing, each followed by a restart on
 * the same database (same PGlite directory, or same PostgreSQL schema); the end state must equal an
 * uninterrupted run's. On PostgreSQL the backfill kills may land anywhere from the spawn on (the
 * migration included); on PGlite they wait for the backfill to start (RELIABILITY.md, known gaps).
 */
export function crashSuite(database: "pglite" | "postgres") {
  const skip = database === "postgres" ? postgresUnavailableReason() : undefined;
  if (skip) console.log(skip);
  describe.skipIf(skip !== undefined)(
    `SIGKILL during the backfill and during real-time indexing (${database}, same database)`,
    () => {
      let chain: SimulatedChain;
      let ponder: PonderProcess | undefined;
      let reference: PonderProcess | undefined;
      let postgres: PostgresCluster | undefined;
      const databaseEnv = (name: string): Record<string, string> =>
        postgres
          ? { DATABASE_URL: postgres.url, DATABASE_SCHEMA: name }
          : { DATABASE_URL: "", PGLITE_DIRECTORY: path.join(chain.workDir, `pglite-${name}`) };
      const kills: { phase: "backfill" | "realtime"; afterMs: number; block: number }[] = [];
      let restarts = 0;

      const start = async () => {
        ponder = await startPonder({ DEPLOYMENT_FILE: chain.deploymentFile, ...databaseEnv("crashed") });
        restarts += 1;
        return ponder;
      };

      beforeAll(async () => {
        chain = await simulatedChain(11, 600);
        if (database === "postgres") postgres = await startPostgres();
      });

      afterAll(async () => {
        try {
          if (ponder) await killProcess(ponder.process);
          await reference?.stop();
          await postgres?.stop();
        } finally {
          await chain?.stop();
          console.log(`[crash ${database}] ${kills.length} SIGKILLs, ${restarts} starts: ${JSON.stringify(kills)}`);
        }
      });

      it("resumes the backfill after SIGKILLs at random points and ends on the ledger", async () => {
        const rng = new Rng(KILL_SEED);
        // Kill while the backfill runs (not ready yet), three times, at random moments after the backfill
        // started (a kill before Ponder created its tables on a new PGlite directory is a known gap: RELIABILITY.md).
        for (let attempt = 0; attempt < 8 && kills.filter((k) => k.phase === "backfill").length < 3; attempt++) {
          const p = await start();
          if (database === "pglite") await p.waitForLog(/"msg":"Started backfill indexing"/, 120_000);
          const afterMs = database === "pglite" ? rng.int(300, 4_000) : rng.int(1_000, 12_000);
          await sleep(afterMs);
          const ready = await isReady(p.url);
          const block = await indexedBlock(p.url);
          await killProcess(p.process);
          kills.push({ phase: ready ? "realtime" : "backfill", afterMs, block });
        }
        expect(kills.filter((k) => k.phase === "backfill").length).toBeGreaterThanOrEqual(3);
        const p = await start();
        await p.waitForBlock(chain.head, 240_000);
        // On PGlite the kills came after the migration, so the restart recovers; on PostgreSQL they may all
        // have come before it (nothing to recover: the restart starts afresh).
        if (database === "pglite") expect(p.logs()).toMatch(/Detected crash recovery/);
        const tables = await readTables(p.url);
        expect(compareWithLedger(tables, chain.ledger)).toEqual([]);
        expect(checkInvariants(tables)).toEqual([]);
      });

      it("resumes real-time indexing after SIGKILLs, with traffic and a reorg while it was down", async () => {
        const rpcUrl = chain.anvil.rpcUrl;
        const [owner] = await rpc<Address[]>(rpcUrl, "eth_accounts");
        const chaos = new ChaosTraffic(rpcUrl, chain.deployment, owner, chain.ledger, 99);
        const rng = new Rng(KILL_SEED + 1);
        let running: Promise<void> | undefined;
        let stopTraffic = false;
        let trafficError: unknown;
        const startTraffic = () => {
          stopTraffic = false;
          running = (async () => {
            while (!stopTraffic) {
              await chaos.send(chaos.randomAction());
              await sleep(400);
            }
          })().catch((error) => {
            trafficError = error;
          });
        };
        const haltTraffic = async () => {
          stopTraffic = true;
          await running;
        };
        startTraffic();
        try {
          for (let i = 0; i < 2; i++) {
            const p = ponder!;
            const afterMs = rng.int(500, 4_000);
            await sleep(afterMs);
            if (i === 1) {
              // A reorg while the indexer is down: 5 blocks it indexed are replaced by 7 others.
              await haltTraffic();
              const snapshot = await rpc<string>(rpcUrl, "evm_snapshot");
              const original = chaos.original(5);
              await chaos.sendAll(original);
              await p.waitForBlock(await blockNumber(rpcUrl), 240_000);
              const block = await indexedBlock(p.url);
              await killProcess(p.process);
              kills.push({ phase: "realtime", afterMs, block });
              await rpc(rpcUrl, "evm_revert", [snapshot]);
              await chaos.sendAll(chaos.replacement(original));
              startTraffic();
            } else {
              const block = await indexedBlock(p.url);
              await killProcess(p.process);
              kills.push({ phase: "realtime", afterMs, block });
            }
            const next = await start();
            await next.waitForBlock(kills[kills.length - 1].block + 1, 240_000);
          }
        } finally {
          await haltTraffic();
        }
        expect(trafficError).toBeUndefined();
        const head = await mineToFinality(rpcUrl);
        await ponder!.waitForBlock(head, 240_000);
        const crashed = await readTables(ponder!.url);
        expect(await compareWithContracts(crashed, chain.deployment)).toEqual([]);
        expect(checkInvariants(crashed)).toEqual([]);
        await ponder!.stop();

        reference = await startPonder({ DEPLOYMENT_FILE: chain.deploymentFile, ...databaseEnv("reference") });
        await reference.waitForBlock(head, 240_000);
        const expected = canonicalDump(await readTables(reference.url));
        const differences = diffDumps(expected, canonicalDump(crashed));
        console.log(
          `[crash ${database}] compared ${dumpSize(expected)} rows with an uninterrupted run: ${differences.length} differences; traffic ${JSON.stringify(chaos.stats)}`,
        );
        expect(differences).toEqual([]);
        expect(kills.length).toBeGreaterThanOrEqual(5);
      });
    },
  );
}
